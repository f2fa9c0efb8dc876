"""Experiment: train fast_cnn on a complete but short one-cycle schedule and log accuracy against time.

Used to estimate accuracy vs images seen before the full 15-minute benchmark
(see docs/performance.md). Uses the lab's real tf.data pipeline and the
fast_cnn recipe, with a per-step (not per-epoch) warm-up/decay schedule.

    CIFAR10_DIR=... nice .venv/bin/python bench/experiments/fast_cnn_short_schedule.py --images 30000
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run as a script from anywhere

import keras  # noqa: E402
import numpy as np  # noqa: E402

from training.data import load_cifar10, split_train_validation  # noqa: E402
from training.fast_cnn import build_fast_cnn  # noqa: E402
from training.pipeline import make_eval_dataset, make_train_dataset  # noqa: E402
from training.registry import get_spec  # noqa: E402

RECIPE = get_spec("fast_cnn").recipe


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=30000, help="training images to show in the whole schedule")
    parser.add_argument("--batch-size", type=int, default=RECIPE["batch_size"])
    parser.add_argument("--lr", type=float, default=RECIPE["learning_rate"])
    parser.add_argument("--seed", type=int, default=0)
    arguments = parser.parse_args()

    data = load_cifar10()
    split = split_train_validation(data.x_train, data.y_train, validation_size=5000, seed=arguments.seed)
    keras.utils.set_random_seed(arguments.seed)
    steps = arguments.images // arguments.batch_size
    schedule = keras.optimizers.schedules.CosineDecay(
        arguments.lr / 10, decay_steps=steps - steps // 5, alpha=0.01,
        warmup_target=arguments.lr, warmup_steps=steps // 5,
    )
    model = build_fast_cnn()
    model.compile(
        optimizer=keras.optimizers.SGD(schedule, momentum=0.9, nesterov=True, weight_decay=RECIPE["weight_decay"]),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=RECIPE["label_smoothing"]),
        metrics=["accuracy"],
    )
    train = make_train_dataset(split.x_train, split.y_train, arguments.batch_size, 32, True, arguments.seed).repeat()
    start = time.perf_counter()
    model.fit(train, steps_per_epoch=steps, epochs=1, verbose=2)
    seconds = time.perf_counter() - start
    plain = model.predict(make_eval_dataset(data.x_test, None, 500, 32), verbose=0)
    mirrored = model.predict(make_eval_dataset(data.x_test, None, 500, 32, flip=True), verbose=0)
    accuracy = float(np.mean(plain.argmax(1) == data.y_test))
    tta_accuracy = float(np.mean((plain + mirrored).argmax(1) == data.y_test))
    print(f"images={steps * arguments.batch_size} train_seconds={seconds:.0f} images_per_second={steps * arguments.batch_size / seconds:.0f} "
          f"test_accuracy={accuracy:.4f} test_accuracy_tta={tta_accuracy:.4f}", flush=True)


if __name__ == "__main__":
    main()
