"""Transfer learning without recomputing the frozen base: per-epoch time with the feature cache vs without.

For each transfer model, on the same images:

* recompute: one epoch of the complete model (frozen base + head) on raw pixels
  through the lab's augmenting pipeline, i.e. ``--no-feature-cache``;
* cached: one epoch of the head on cached features (plain + mirrored variants),
  after the one-off cost of filling the cache, which is printed too, as is the
  cost of reading the cache back in a later run.

Weights are random (``weights=None``): the cost of a forward pass does not
depend on the weights' values, and ImageNet files cannot be downloaded here.
Target (issue 5): cached epochs at least 10x faster.

    CIFAR10_DIR=... python bench/feature_cache.py [--images 512] [--models resnet50v2_transfer vgg16_transfer]
"""

from __future__ import annotations

import argparse
import tempfile
import time

import common  # noqa: F401
from common import header, load_data, ratio_text, row

MODELS = ("resnet50v2_transfer", "vgg16_transfer")


def seconds(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def measure(model_name: str, x, y, artifacts_dir: str) -> dict:
    """Per-epoch seconds recomputing vs cached, plus cache fill and cache read seconds, for ``model_name``."""
    import keras

    from training.feature_cache import FeatureCache
    from training.models import build_parts
    from training.pipeline import make_feature_dataset, make_train_dataset
    from training.registry import get_spec

    spec = get_spec(model_name)
    batch_size = spec.defaults["batch_size"]
    keras.utils.set_random_seed(0)
    built = build_parts(model_name, None)
    for model in (built.model, built.head):
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="categorical_crossentropy")

    # Recompute: the base runs on every image of every epoch. A warm-up step traces the function first.
    pixels = make_train_dataset(x, y, batch_size, spec.input_size, augment=True, seed=0)
    built.model.fit(pixels.take(1), epochs=1, verbose=0)
    recompute = seconds(lambda: built.model.fit(pixels, epochs=1, verbose=0))

    cache = FeatureCache(artifacts_dir, model_name, built.base, spec.input_size, verbose=0)
    fill = seconds(lambda: (cache.features(x, "plain"), cache.features(x, "mirrored")))
    later_run = FeatureCache(artifacts_dir, model_name, built.base, spec.input_size, verbose=0)
    holder = {}
    read = seconds(lambda: holder.update(plain=later_run.features(x, "plain"), mirrored=later_run.features(x, "mirrored")))
    if len(later_run.hits) != 2:
        raise RuntimeError(f"{model_name}: the second FeatureCache did not reuse the cached files ({later_run.report()})")
    features = make_feature_dataset(holder["plain"], holder["mirrored"], y, batch_size, seed=0, shuffle=True)
    built.head.fit(features.take(1), epochs=1, verbose=0)
    cached = seconds(lambda: built.head.fit(features, epochs=1, verbose=0))
    return {"recompute_epoch_seconds": recompute, "cached_epoch_seconds": cached,
            "cache_fill_seconds": fill, "cache_read_seconds": read, "images": len(x)}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description="Per-epoch time with the transfer-feature cache vs recomputing the frozen base.")
    parser.add_argument("--images", type=int, default=512, help="training images per epoch (default 512)")
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    parser.add_argument("--data-dir", default=None)
    arguments = parser.parse_args(argv)


    header(f"feature cache: one epoch of {arguments.images} images")
    data = load_data(arguments.data_dir)
    x, y = data.x_train[: arguments.images], data.y_train[: arguments.images]
    figures = {}
    row("model", "recompute s", "cached s", "speed-up", "fill once s", "read s")
    with tempfile.TemporaryDirectory(prefix="bench-cache-") as artifacts_dir:
        for name in arguments.models:
            result = measure(name, x, y, artifacts_dir)
            figures[name] = result
            row(name, f"{result['recompute_epoch_seconds']:.2f}", f"{result['cached_epoch_seconds']:.3f}",
                ratio_text(result["recompute_epoch_seconds"], result["cached_epoch_seconds"]),
                f"{result['cache_fill_seconds']:.2f}", f"{result['cache_read_seconds']:.3f}")
    print("  (target: cached epoch >= 10x faster than recomputing)")
    return figures


if __name__ == "__main__":
    main()
