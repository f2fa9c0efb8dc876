"""Time to accuracy: fast_cnn (the lab's recipe) against a Keras-tutorial baseline, same time budget.

* fast_cnn trains through the lab's real pipeline (``training.train.run_training``,
  i.e. what ``python -m training run --model fast_cnn`` does) with its recipe
  (the ``recipe`` of fast_cnn's entry in ``training.registry``).
* The baseline is written the way the Keras tutorials do it: the simple CNN with
  the augmentation layers inside the model, fed NumPy arrays by ``model.fit``,
  Adam at 0.001, batch 64, trained until the time budget runs out.

Both see the same train/validation split. Prints each one's test accuracy and
the time each needs to reach the baseline's final validation accuracy, and the
ratio of those times.

    CIFAR10_DIR=... python bench/time_to_accuracy.py                    # the real 15-minute comparison
    CIFAR10_DIR=... python bench/time_to_accuracy.py --budget-seconds 120 --train-limit 3000 --fast-epochs 2   # smoke test
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time

import common  # noqa: F401  (puts the repo on sys.path)
from common import header, load_data, ratio_text, row

BASELINE_BATCH_SIZE = 64
BASELINE_LEARNING_RATE = 1e-3


def parse_arguments(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="fast_cnn vs a Keras-tutorial baseline under one time budget.")
    parser.add_argument("--budget-seconds", type=float, default=900.0, help="training time each model gets (default 900 = 15 minutes)")
    parser.add_argument("--train-limit", type=int, default=None, help="train on at most this many images (smoke tests)")
    parser.add_argument("--fast-epochs", type=int, default=None, help="override fast_cnn's recipe epochs (smoke tests)")
    parser.add_argument("--data-dir", default=None, help="cifar-10-batches-py folder (default $CIFAR10_DIR)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", dest="json_path", default=None, help="also write the figures to this JSON file")
    return parser.parse_args(argv)


def first_time_reaching(curve: list[tuple[float, float]], target: float) -> float | None:
    """Seconds at the first (elapsed seconds, accuracy) point whose accuracy is at least ``target``; None if never."""
    for seconds, accuracy in curve:
        if accuracy >= target:
            return seconds
    return None


def train_fast_cnn(arguments, data, artifacts_dir: str) -> dict:
    """Train fast_cnn with its recipe through the lab's pipeline; return its accuracy curve and test accuracy."""
    from runstore import read_history, read_run_record
    from training.config import RunConfig
    from training.registry import get_spec
    from training.train import run_training

    recipe = get_spec("fast_cnn").recipe
    values = dict(recipe, model="fast_cnn", run_id="bench-fast_cnn", artifacts_dir=artifacts_dir,
                  seed=arguments.seed, train_limit=arguments.train_limit)
    # The same budget as the baseline: the recipe's own (15 minutes less the last validation) or less.
    values["time_budget_seconds"] = min(recipe.get("time_budget_seconds") or arguments.budget_seconds, arguments.budget_seconds)
    if arguments.fast_epochs:
        values["epochs"] = arguments.fast_epochs
    folder = run_training(RunConfig.from_dict(values), data=data, verbose=2)
    record = read_run_record(folder)
    history = read_history(folder)
    return {
        "curve": list(zip(history["elapsed_seconds"].astype(float), history["val_accuracy"].astype(float))),
        "test_accuracy": float(record["test_accuracy"]),
        "train_seconds": float(record["train_seconds"]),
        "epochs": int(record["epochs_run"]),
    }


def build_tutorial_baseline():
    """The simple CNN with Keras' preprocessing layers for augmentation inside the model, as the tutorials do."""
    import keras
    from keras import layers

    from common import with_stock_convolutions

    from training.models import build_simple_cnn

    # Stock keras.layers.Conv2D, as a tutorial would have it (the lab's models use FastGradConv2D).
    classifier = with_stock_convolutions(build_simple_cnn(blocks=3).model)
    augmentation = keras.Sequential(
        [layers.RandomFlip("horizontal"), layers.RandomTranslation(0.1, 0.1), layers.RandomRotation(0.04), layers.RandomZoom(0.1)],
        name="augmentation",
    )
    inputs = keras.Input((32, 32, 3))
    return keras.Model(inputs, classifier(augmentation(inputs)), name="tutorial_baseline")


def train_baseline(arguments, split) -> dict:
    """Fit the tutorial baseline on NumPy arrays until the budget runs out; return its curve and test accuracy."""
    import keras
    import numpy as np

    keras.utils.set_random_seed(arguments.seed)
    model = build_tutorial_baseline()
    model.compile(optimizer=keras.optimizers.Adam(BASELINE_LEARNING_RATE), loss="categorical_crossentropy", metrics=["accuracy"])
    curve: list[tuple[float, float]] = []
    start = time.perf_counter()

    class Budget(keras.callbacks.Callback):
        """Stops after the batch that crosses the budget; records validation accuracy per epoch."""

        def on_train_batch_end(self, batch, logs=None):
            if time.perf_counter() - start >= arguments.budget_seconds:
                self.model.stop_training = True

        def on_epoch_end(self, epoch, logs=None):
            curve.append((time.perf_counter() - start, float(logs["val_accuracy"])))

    one_hot = lambda labels: keras.utils.to_categorical(labels, 10)  # noqa: E731
    model.fit(split.x_train.astype("float32"), one_hot(split.y_train), batch_size=BASELINE_BATCH_SIZE,
              epochs=10_000, validation_data=(split.x_val.astype("float32"), one_hot(split.y_val)),
              callbacks=[Budget()], verbose=2)
    train_seconds = time.perf_counter() - start
    probabilities = model.predict(split.x_test.astype("float32"), batch_size=256, verbose=0)
    return {
        "curve": curve,
        "test_accuracy": float(np.mean(probabilities.argmax(axis=1) == split.y_test)),
        "train_seconds": train_seconds,
        "epochs": len(curve),
    }


def main(argv=None) -> dict:
    arguments = parse_arguments(argv)
    from training.config import RunConfig
    from training.train import split_for_run

    header(f"time to accuracy (budget {arguments.budget_seconds:.0f} s per model)")
    data = load_data(arguments.data_dir)
    split = split_for_run(RunConfig.from_dict({"model": "simple_cnn", "seed": arguments.seed, "train_limit": arguments.train_limit}), data)
    with tempfile.TemporaryDirectory(prefix="bench-tta-") as artifacts_dir:
        fast = train_fast_cnn(arguments, data, artifacts_dir)
    baseline = train_baseline(arguments, split)

    target = baseline["curve"][-1][1] if baseline["curve"] else 0.0
    baseline_time = first_time_reaching(baseline["curve"], target)
    fast_time = first_time_reaching(fast["curve"], target)
    print(f"target: the baseline's final validation accuracy, {target:.4f}")
    row("model", "test accuracy", "train seconds", "epochs", "s to target")
    for name, result, seconds in (("fast_cnn (lab pipeline, recipe)", fast, fast_time), ("baseline (Keras tutorial style)", baseline, baseline_time)):
        row(name, f"{result['test_accuracy']:.4f}", f"{result['train_seconds']:.0f}", str(result["epochs"]),
            "not reached" if seconds is None else f"{seconds:.0f}")
    print(f"  time-to-target ratio (baseline / fast_cnn): {ratio_text(baseline_time, fast_time)}")
    if fast["train_seconds"] > arguments.budget_seconds:
        print(f"  note: fast_cnn's recipe took {fast['train_seconds']:.0f} s, over the {arguments.budget_seconds:.0f} s budget "
              "(machine slower or busier than the one the recipe was sized for)")
    figures = {"budget_seconds": arguments.budget_seconds, "target_val_accuracy": target, "fast_cnn": fast,
               "baseline": baseline, "baseline_seconds_to_target": baseline_time, "fast_cnn_seconds_to_target": fast_time}
    if arguments.json_path:
        with open(arguments.json_path, "w", encoding="utf-8") as handle:
            json.dump(figures, handle, indent=2)
    return figures


if __name__ == "__main__":
    main()
