"""Fixture runs for tests: schema-valid run folders with a tiny, really trained Keras model.

Usage (in a test)::

    from tests.factories import make_run, synthetic_test_set, write_cifar_test_folder
    make_run(tmp_path, "tiny-a")                          # complete run, 200 synthetic test images
    make_run(tmp_path, "live", status="running")          # no model yet, two epochs of history
    make_run(tmp_path, "oops", status="failed")           # failed with an error
    make_run(tmp_path, "torn", status="broken")           # predictions.npz is garbage

The tiny model (Rescaling(1/255) -> Conv2D(8) -> GAP -> Dense softmax on raw
0..255 pixels) is trained once per test session on synthetic images whose class
decides their colour, then reused by every run, so making a run costs a file
write, not a training. Predictions are for the synthetic test set of
``synthetic_test_set()`` unless the caller passes other test images (the real
CIFAR-10 test set, for instance); ``write_cifar_test_folder`` writes that set in
the official format so ``runstore.cifar.load_test_set`` (and the dashboard's
galleries) read the very images the predictions belong to.

Every file goes through ``runstore``'s own writers (``RunRecord``,
``write_history_rows``, ``write_predictions``), so a change of the run
contract is made once, there, and the fixtures follow.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from runstore import atomic_write_bytes, atomic_write_text, best_epoch, run_dir
from runstore.writer import RunRecord, write_history_rows, write_predictions, write_validation_predictions
from runstore.cifar import NUM_CLASSES, TEST_FILE
from runstore.layout import HISTORY_FILE, MODEL_FILE, PREDICTIONS_FILE, RUN_FILE, SUMMARY_FILE
from runstore.reader import read_run_record
TEST_IMAGES = 200
# A distinct mean colour per class: the tiny model can learn it in two epochs,
# and the noise leaves it some mistakes for the galleries to show.
CLASS_COLOURS = np.array([
    [220, 40, 40], [40, 220, 40], [40, 40, 220], [220, 220, 40], [220, 40, 220],
    [40, 220, 220], [130, 130, 130], [240, 140, 20], [20, 100, 60], [120, 40, 160],
], dtype=np.float64)

_TINY_MODEL: dict = {}


def synthetic_images(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``count`` uint8 images (count, 32, 32, 3) coloured by class, and their int64 labels."""
    rng = np.random.default_rng(seed)
    labels = np.arange(count, dtype=np.int64) % NUM_CLASSES
    rng.shuffle(labels)
    noise = rng.normal(0.0, 70.0, size=(count, 32, 32, 3))
    images = np.clip(CLASS_COLOURS[labels][:, None, None, :] + noise, 0, 255).astype(np.uint8)
    return images, labels


def synthetic_test_set(count: int = TEST_IMAGES) -> tuple[np.ndarray, np.ndarray]:
    """The default fixture test set: always the same ``count`` images (seed 1)."""
    return synthetic_images(count, seed=1)


def write_cifar_batch(path: str | os.PathLike, images: np.ndarray, labels: np.ndarray) -> Path:
    """Write ``images`` (N, 32, 32, 3) uint8 and ``labels`` as one batch file in CIFAR-10's python format."""
    # The official layout: 3072 values per row, one 32x32 colour plane after another.
    data = np.ascontiguousarray(np.asarray(images, dtype=np.uint8).transpose(0, 3, 1, 2).reshape(len(images), -1))
    payload = {b"batch_label": b"fixture batch", b"labels": [int(label) for label in labels], b"data": data}
    atomic_write_bytes(path, pickle.dumps(payload, protocol=4))
    return Path(path)


def write_cifar_test_folder(folder: str | os.PathLike, images: np.ndarray, labels: np.ndarray) -> Path:
    """Write ``images``/``labels`` as ``test_batch`` in CIFAR-10's python format; return the folder.

    Point ``CIFAR10_DIR`` at it and ``runstore.cifar.load_test_set()`` returns these images.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    write_cifar_batch(folder / TEST_FILE, images, labels)
    return folder


def tiny_model():
    """The session's tiny trained Keras model, trained on first use (about a few seconds)."""
    if "model" not in _TINY_MODEL:
        import keras  # imported here: only tests that make complete runs pay for Keras

        keras.utils.set_random_seed(0)
        inputs = keras.Input(shape=(32, 32, 3), name="pixels")
        features = keras.layers.Rescaling(1.0 / 255, name="scale_to_unit")(inputs)
        features = keras.layers.Conv2D(8, 3, activation="relu", name="conv")(features)
        features = keras.layers.GlobalAveragePooling2D(name="pool")(features)
        outputs = keras.layers.Dense(NUM_CLASSES, activation="softmax", name="classes")(features)
        model = keras.Model(inputs, outputs, name="tiny_cnn")
        model.compile(optimizer=keras.optimizers.Adam(0.05), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        x_train, y_train = synthetic_images(200, seed=0)
        model.fit(x_train.astype("float32"), y_train, epochs=2, batch_size=32, verbose=0)
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / MODEL_FILE
            model.save(path)
            _TINY_MODEL["bytes"] = path.read_bytes()
        lines: list[str] = []
        model.summary(print_fn=lambda line, *args, **kwargs: lines.append(line))
        _TINY_MODEL["summary"] = "\n".join(lines)
        _TINY_MODEL["model"] = model
    return _TINY_MODEL["model"]


def _predict(images: np.ndarray) -> np.ndarray:
    """Probabilities of the tiny model for ``images``, calling it directly in batches."""
    model = tiny_model()
    batches = [np.asarray(model(images[start:start + 1000].astype("float32"), training=False))
               for start in range(0, len(images), 1000)]
    return np.concatenate(batches).astype(np.float32)


def _history(epochs: int, seed: int, lr_drop_epochs: list[int], learning_rate: float) -> pd.DataFrame:
    """A plausible history.csv: loss falls, accuracy rises, the rate drops where told."""
    rng = np.random.default_rng(seed + 100)
    epoch = np.arange(epochs)
    progress = 1 - np.exp(-(epoch + 1) / 2.5)
    accuracy = 0.2 + 0.6 * progress + rng.normal(0, 0.01, epochs)
    val_accuracy = 0.18 + 0.55 * progress + rng.normal(0, 0.015, epochs)
    rates = np.array([learning_rate * 0.1 ** sum(epoch_index >= drop for drop in lr_drop_epochs) for epoch_index in epoch])
    return pd.DataFrame({
        "epoch": epoch,
        "accuracy": accuracy,
        "elapsed_seconds": (epoch + 1) * (12.0 + seed),
        "learning_rate": rates,
        "loss": 2.2 * (1 - 0.7 * progress) + rng.normal(0, 0.02, epochs),
        "val_accuracy": val_accuracy,
        "val_loss": 2.3 * (1 - 0.6 * progress) + rng.normal(0, 0.03, epochs),
    })


def make_run(
    artifacts_dir: str | os.PathLike,
    run_id: str,
    model: str = "simple_cnn",
    status: str = "complete",
    epochs: int = 3,
    seed: int = 0,
    test_images: np.ndarray | None = None,
    test_labels: np.ndarray | None = None,
    optimizer: str = "adam",
    learning_rate: float = 1e-3,
    weights: str = "none",
    weights_note: str | None = None,
    early_stop_epoch: int | None = None,
    started_minutes_ago: float = 60.0,
    broken: str = "predictions",
    group: str | None = None,
    train_images: int | None = None,
    validation_set: tuple[np.ndarray, np.ndarray] | None = None,
) -> Path:
    """Write run folder ``run_id`` under ``artifacts_dir`` and return its path.

    ``status``: ``complete`` (model + predictions), ``running`` (``epochs``
    finished epochs, no model, pid of this test process so it counts as live),
    ``interrupted`` (running, but its pid is gone), ``failed`` (with an error),
    or ``broken`` (complete, with the file named by ``broken`` damaged:
    ``predictions``, ``history`` or ``run.json``). ``seed`` changes the curves
    and blends seeded noise into the predictions so runs differ from each other.
    ``group`` makes the run a replicate: ``group`` and ``seed`` go into run.json
    as the trainer writes them (``training.replicates``). ``train_images`` is the
    training-set size recorded in ``data`` (default: 200 in ``counts`` only).
    ``validation_set`` (images, labels) adds ``validation_predictions.npz`` as the
    trainer writes it, blended with the same kind of noise as the test predictions.
    """
    statuses = ("complete", "running", "interrupted", "failed", "broken")
    if status not in statuses:
        raise ValueError(f"status must be one of {', '.join(statuses)}, got {status!r}")
    if epochs < 1:
        raise ValueError(f"epochs must be at least 1, got {epochs}")
    folder = run_dir(artifacts_dir, run_id)
    folder.mkdir(parents=True, exist_ok=True)
    lr_drop_epochs = [epochs // 2] if epochs >= 3 else []
    history = _history(epochs, seed, lr_drop_epochs, learning_rate)
    started = datetime.now(timezone.utc) - timedelta(minutes=started_minutes_ago)
    rows = history.to_dict("records")
    record = RunRecord(folder, {
        "run_id": run_id,
        "model": model,
        "description": f"Fixture run of {model}",
        "input_size": 32,
        "optimizer": optimizer,
        "learning_rate": learning_rate,
        "config": {"model": model, "epochs": epochs, "seed": seed, "optimizer": optimizer,
                   "learning_rate": learning_rate, "batch_size": 32, "weights": weights},
        "weights": weights,
        "data": {"source": "synthetic fixture", "sha256": "0" * 64,
                 "counts": {"train": train_images or 200, "validation": 50, "test": TEST_IMAGES if test_labels is None else len(test_labels)}},
        "epochs_run": epochs,
        "lr_drop_epochs": lr_drop_epochs,
        "early_stop_epoch": early_stop_epoch,
        "started_at": started.isoformat(timespec="seconds"),
        "latest_epoch": epochs - 1,
    }, provenance={"versions": {"keras": "3.15.1", "tensorflow": "2.21.0"}, "git_commit": None})
    if weights_note:
        record.fields["weights_note"] = weights_note
    if group:
        record.fields.update({"group": group, "seed": seed})
    if train_images:
        record.fields["data"]["train_images"] = train_images
    if status == "interrupted":
        record.fields["pid"] = _dead_pid()
    write_history_rows(folder / HISTORY_FILE, rows)
    if status == "failed":
        record.fail("ResourceExhaustedError: out of memory while allocating the batch (fixture)")
    elif status in ("running", "interrupted"):
        record.update()
    else:
        if test_images is None:
            test_images, test_labels = synthetic_test_set()
        probs = _predict(np.asarray(test_images))
        if seed:
            noise = np.random.default_rng(seed).dirichlet(np.ones(NUM_CLASSES), size=len(probs))
            probs = (0.6 * probs + 0.4 * noise).astype(np.float32)
        labels = np.asarray(test_labels, dtype=np.int64)
        model_bytes = _TINY_MODEL["bytes"]
        atomic_write_bytes(folder / MODEL_FILE, model_bytes)
        write_predictions(folder, labels, probs)
        if validation_set is not None:
            validation_probs = _predict(np.asarray(validation_set[0]))
            if seed:
                noise = np.random.default_rng(seed + 1).dirichlet(np.ones(NUM_CLASSES), size=len(validation_probs))
                validation_probs = (0.6 * validation_probs + 0.4 * noise).astype(np.float32)
            write_validation_predictions(folder, np.asarray(validation_set[1], dtype=np.int64), validation_probs)
        atomic_write_text(folder / SUMMARY_FILE, _TINY_MODEL["summary"])
        model_object = tiny_model()
        record.complete(
            best_epoch=best_epoch(rows),
            test_accuracy=float(np.mean(probs.argmax(axis=1) == labels)),
            test_loss=float(-np.mean(np.log(np.clip(probs[np.arange(len(labels)), labels], 1e-7, 1)))),
            params_total=int(model_object.count_params()),
            params_trainable=int(sum(int(np.prod(weight.shape)) for weight in model_object.trainable_weights)),
            train_seconds=float(history["elapsed_seconds"].iloc[-1]),
            wall_seconds=float(history["elapsed_seconds"].iloc[-1]) + 5.0,
            model_sha256=hashlib.sha256(model_bytes).hexdigest(),
            model_bytes=len(model_bytes),
        )
    read_run_record(folder)  # the fixture itself must follow the contract (raises BrokenRun otherwise)
    if status == "broken":
        damaged = {"predictions": PREDICTIONS_FILE, "history": HISTORY_FILE, "run.json": RUN_FILE}
        if broken not in damaged:
            raise ValueError(f"broken must be one of {', '.join(damaged)}, got {broken!r}")
        atomic_write_bytes(folder / damaged[broken], b"this file was cut off mid-wr")
    return folder


def _dead_pid() -> int:
    """A process id that belongs to no running process (for interrupted runs)."""
    candidate = 999_999
    while True:
        try:
            os.kill(candidate, 0)
        except ProcessLookupError:
            return candidate
        except PermissionError:
            pass
        candidate -= 1


def make_demo_artifacts(artifacts_dir: str | os.PathLike, test_images=None, test_labels=None) -> Path:
    """A small artifacts folder with one run of every kind: two complete, running, failed, broken."""
    artifacts_dir = Path(artifacts_dir)
    make_run(artifacts_dir, "simple-cnn-a", seed=0, epochs=5, early_stop_epoch=4,
             test_images=test_images, test_labels=test_labels, started_minutes_ago=90)
    make_run(artifacts_dir, "vgg16-transfer-b", model="vgg16_transfer", seed=3, epochs=4, weights="imagenet",
             weights_note="fixture: ImageNet weights were not downloadable; trained from random init",
             optimizer="sgd", learning_rate=0.01, test_images=test_images, test_labels=test_labels, started_minutes_ago=80)
    make_run(artifacts_dir, "live-run", status="running", epochs=2, seed=5, started_minutes_ago=3)
    make_run(artifacts_dir, "failed-run", status="failed", epochs=1, started_minutes_ago=70)
    make_run(artifacts_dir, "broken-run", status="broken", started_minutes_ago=60)
    return artifacts_dir
