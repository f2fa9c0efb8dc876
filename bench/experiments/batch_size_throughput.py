"""Experiment: fast_cnn training images/s at batch 64, 128 and 256 (model.fit, interleaved rounds).

On this CPU the three are equal within noise, so fast_cnn uses batch 64: the
same images per second, four times the optimizer steps per epoch.

    python bench/experiments/batch_size_throughput.py
"""

import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from training.fast_cnn import build_fast_cnn  # noqa: E402

IMAGES_PER_ROUND = 1536


def main() -> None:
    runs = {}
    for batch_size in (64, 128, 256):
        model = build_fast_cnn()
        model.compile(optimizer=keras.optimizers.SGD(0.05, momentum=0.9, nesterov=True), loss="categorical_crossentropy")
        images = np.random.default_rng(0).uniform(0, 255, (batch_size, 32, 32, 3)).astype("float32")
        labels = keras.utils.to_categorical(np.arange(batch_size) % 10, 10)
        batches = tf.data.Dataset.from_tensors((images, labels)).repeat()
        model.fit(batches, steps_per_epoch=2, epochs=1, verbose=0)  # trace
        runs[batch_size] = (model, batches)
    # Interleaved rounds, so a change in machine load hits every batch size alike.
    for round_index in range(2):
        for batch_size, (model, batches) in runs.items():
            steps = IMAGES_PER_ROUND // batch_size
            start = time.perf_counter()
            model.fit(batches, steps_per_epoch=steps, epochs=1, verbose=0)
            print(f"round {round_index} batch {batch_size}: {steps * batch_size / (time.perf_counter() - start):.0f} img/s", flush=True)


if __name__ == "__main__":
    main()
