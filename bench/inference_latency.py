"""Instant inference: per-model latency, direct call and compiled function vs ``model.predict``.

For every registered model (random weights: latency does not depend on their
values) prints the median milliseconds for one image and for a batch of 256
three ways: calling the model directly, through the app's compiled
``tf.function`` (``serving.predict.predict_probs``), and ``model.predict``;
plus the ratio predict / compiled. Then the time to classify one upload with
every 32x32 model together (target < 300 ms) and ResNet50V2 at 224 on one
image (target < 1.5 s).

    python bench/inference_latency.py [--repeats 5] [--batch 256] [--models simple_cnn fast_cnn]
"""

from __future__ import annotations

import argparse

import common  # noqa: F401
from common import header, median_seconds, ratio_text, row

# Batch cap for 224x224 models: 256 ResNet50V2 images in one eager call need over
# 24 GB of activations (the OOM killer stopped the full run on this 24 GB machine).
LARGE_INPUT_BATCH = 32


def latencies(model, input_size: int, batch: int, repeats: int) -> dict:
    """Median ms for 1 and ``batch`` images: direct call, compiled function, model.predict."""
    import numpy as np

    from serving.predict import predict_probs

    rng = np.random.default_rng(0)
    images = rng.uniform(0, 255, (batch, input_size, input_size, 3)).astype("float32")
    one = images[:1]
    ways = {
        "direct": lambda inputs: model(inputs, training=False).numpy(),
        "compiled": lambda inputs: predict_probs(model, inputs, chunk_size=len(inputs)),
        "predict": lambda inputs: model.predict(inputs, batch_size=len(inputs), verbose=0),
    }
    figures = {}
    for way, call in ways.items():
        figures[f"{way}_single_ms"] = 1000 * median_seconds(lambda: call(one), repeats)
        figures[f"{way}_batch_ms"] = 1000 * median_seconds(lambda: call(images), repeats)
    return figures


def main(argv=None) -> dict:
    from training.registry import model_names

    parser = argparse.ArgumentParser(description="Per-model inference latency: direct/compiled vs model.predict.")
    parser.add_argument("--repeats", type=int, default=5, help="timed calls per figure; the median is printed (default 5)")
    parser.add_argument("--batch", type=int, default=256, help="batch size for the throughput figure (default 256)")
    parser.add_argument("--models", nargs="+", default=model_names(), choices=model_names())
    arguments = parser.parse_args(argv)

    import keras
    import numpy as np

    from serving.predict import predict_probs
    from training.models import build_model
    from training.registry import get_spec

    header(f"inference latency (median of {arguments.repeats}; batch {arguments.batch})")
    keras.utils.set_random_seed(0)
    models = {name: build_model(name) for name in arguments.models}
    figures = {}
    row("model", "1 img direct", "1 img compiled", "1 img predict", "predict/compiled",
        f"{arguments.batch} compiled", f"{arguments.batch} predict", "img/s compiled")
    for name, model in models.items():
        size = get_spec(name).input_size
        batch = arguments.batch if size <= 64 else min(arguments.batch, LARGE_INPUT_BATCH)
        result = latencies(model, size, batch, arguments.repeats)
        figures[name] = {**result, "batch": batch}
        row(name if batch == arguments.batch else f"{name} (batch {batch})", f"{result['direct_single_ms']:.1f} ms", f"{result['compiled_single_ms']:.1f} ms",
            f"{result['predict_single_ms']:.1f} ms", ratio_text(result["predict_single_ms"], result["compiled_single_ms"]),
            f"{result['compiled_batch_ms']:.0f} ms", f"{result['predict_batch_ms']:.0f} ms",
            f"{batch / result['compiled_batch_ms'] * 1000:.0f}")

    small = [name for name in models if get_spec(name).input_size == 32]
    upload = np.random.default_rng(1).uniform(0, 255, (1, 32, 32, 3)).astype("float32")
    every_small_model = lambda: [predict_probs(models[name], upload) for name in small]  # noqa: E731
    together_ms = 1000 * median_seconds(every_small_model, arguments.repeats)
    print(f"  one upload through every 32x32 model together ({len(small)} models): {together_ms:.0f} ms (target < 300 ms)")
    figures["every_32x32_model_ms"] = together_ms
    if "resnet50v2_transfer" in figures:
        print(f"  ResNet50V2 at 224, one image: {figures['resnet50v2_transfer']['compiled_single_ms']:.0f} ms (target < 1500 ms)")
    return figures


if __name__ == "__main__":
    main()
