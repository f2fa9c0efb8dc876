"""Is the input pipeline ever the bottleneck? tf.data with augmentation vs training throughput.

For simple_cnn and fast_cnn (at their registry batch sizes) prints:
pipeline-only images/s (the lab's ``make_train_dataset`` with augmentation,
iterated without a model) next to training images/s (forward + backward on
batches already in memory, so the pipeline is not counted), and their ratio.
Target (issue 5): pipeline >= 5x what the slowest-to-feed model consumes.

    CIFAR10_DIR=... python bench/pipeline_throughput.py [--images 10000] [--train-steps 20]
"""

from __future__ import annotations

import argparse
import time

import common  # noqa: F401
from common import header, load_data, ratio_text, row

MODELS = ("simple_cnn", "fast_cnn")


def pipeline_images_per_second(x, y, batch_size: int, seed: int = 0) -> float:
    """Images/s of the augmenting training pipeline alone (one pass over ``x`` after a warm-up batch)."""
    from training.pipeline import make_train_dataset

    dataset = make_train_dataset(x, y, batch_size=batch_size, input_size=32, augment=True, seed=seed)
    iterator = iter(dataset)
    next(iterator)  # warm-up: traces the map functions and fills the prefetch buffer
    count, start = 0, time.perf_counter()
    for images, _ in iterator:
        count += int(images.shape[0])
    return count / (time.perf_counter() - start)


def training_images_per_second(model_name: str, batch_size: int, steps: int) -> float:
    """Images/s of ``model.fit`` steps on batches cached in memory, as compiled by the lab's trainer."""
    import keras
    import numpy as np
    import tensorflow as tf

    from training.models import build_model

    keras.utils.set_random_seed(0)
    model = build_model(model_name)
    model.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9), loss="categorical_crossentropy")
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 255, (batch_size, 32, 32, 3)).astype("float32")
    labels = keras.utils.to_categorical(rng.integers(0, 10, batch_size), 10)
    batches = tf.data.Dataset.from_tensors((images, labels)).repeat()
    model.fit(batches, steps_per_epoch=3, epochs=1, verbose=0)  # warm-up: tracing
    start = time.perf_counter()
    model.fit(batches, steps_per_epoch=steps, epochs=1, verbose=0)
    return steps * batch_size / (time.perf_counter() - start)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description="tf.data pipeline throughput vs training throughput.")
    parser.add_argument("--images", type=int, default=10000, help="images the pipeline pass covers (default 10000)")
    parser.add_argument("--train-steps", type=int, default=20, help="timed training steps per model (default 20)")
    parser.add_argument("--data-dir", default=None)
    arguments = parser.parse_args(argv)

    from training.registry import get_spec

    header("input pipeline vs training throughput")
    data = load_data(arguments.data_dir)
    x, y = data.x_train[: arguments.images], data.y_train[: arguments.images]
    figures = {}
    row("model (batch size)", "pipeline img/s", "training img/s", "ratio")
    for name in MODELS:
        batch_size = get_spec(name).defaults["batch_size"]
        pipeline = pipeline_images_per_second(x, y, batch_size)
        training = training_images_per_second(name, batch_size, arguments.train_steps)
        figures[name] = {"batch_size": batch_size, "pipeline_images_per_second": pipeline, "training_images_per_second": training}
        row(f"{name} ({batch_size})", f"{pipeline:.0f}", f"{training:.0f}", ratio_text(pipeline, training))
    slowest_to_feed = max(figures, key=lambda name: figures[name]["training_images_per_second"])
    worst = figures[slowest_to_feed]
    print(f"  hungriest model: {slowest_to_feed}; pipeline delivers "
          f"{ratio_text(worst['pipeline_images_per_second'], worst['training_images_per_second'])} what it consumes (target >= 5x)")
    return figures


if __name__ == "__main__":
    main()
