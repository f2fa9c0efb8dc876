"""A training history from outside the lab, as the rows of the lab's ``history.csv``.

Two sources, both what Keras itself writes:

- a ``keras.callbacks.CSVLogger`` file (``epoch`` plus one column per metric);
- a TensorBoard log folder of ``keras.callbacks.TensorBoard`` (``train/`` and
  ``validation/`` event files with ``epoch_<metric>`` scalars), read with
  TensorFlow's own ``summary_iterator``, so no new dependency.

Keras 2 names (``acc``, ``val_acc``, ``lr``) become today's. A history must have
at least ``loss`` and ``accuracy`` per epoch; missing validation columns are
written as ``NA``. Anything else raises ``HistoryRefused`` saying what is wrong.

Usage::

    from training.history_import import read_external_history
    rows = read_external_history("training_log.csv")   # [{"epoch": 0, "loss": 1.9, ...}, ...]
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

REQUIRED_METRICS = ("loss", "accuracy")
# Columns the lab's reader requires; absent validation columns are filled with NA.
FILLED_METRICS = ("val_loss", "val_accuracy")
RENAMED = {
    "acc": "accuracy", "val_acc": "val_accuracy", "lr": "learning_rate",
    # metrics=["sparse_categorical_accuracy"] (or categorical) is the same figure under its long name.
    "sparse_categorical_accuracy": "accuracy", "val_sparse_categorical_accuracy": "val_accuracy",
    "categorical_accuracy": "accuracy", "val_categorical_accuracy": "val_accuracy",
}
MAX_HISTORY_BYTES = 16 * 1024 * 1024
MAX_EPOCHS = 100_000


class HistoryRefused(ValueError):
    """A history file or folder that cannot be a Keras training history; the message says why."""


def read_external_history(path: str | Path) -> list[dict]:
    """Rows (epoch int, metrics float, NaN for missing) from a CSVLogger file or a TensorBoard folder."""
    path = Path(path).expanduser()
    if path.is_dir():
        rows = _tensorboard_rows(path)
    elif path.is_file():
        rows = _csv_rows(path)
    else:
        raise HistoryRefused(f"The history {path} does not exist. Give a CSVLogger .csv file or a TensorBoard log folder.")
    return _checked(rows, path)


def _csv_rows(path: Path) -> list[dict]:
    if path.stat().st_size > MAX_HISTORY_BYTES:
        raise HistoryRefused(f"The history file {path.name} is larger than {MAX_HISTORY_BYTES // 2**20} MB; a CSVLogger file is far smaller.")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise HistoryRefused(f"The history file {path.name} is not text; give the .csv file keras.callbacks.CSVLogger wrote.") from None
    reader = csv.reader(text.splitlines())
    header = next(reader, None)
    if not header or "epoch" not in header:
        raise HistoryRefused(
            f"The history file {path.name} has no 'epoch' column, so it is not a keras.callbacks.CSVLogger file."
        )
    rows = []
    for number, values in enumerate(reader, start=2):
        if not values:
            continue
        if len(values) != len(header):
            raise HistoryRefused(f"The history file {path.name} is damaged: line {number} has {len(values)} fields, the header {len(header)}.")
        row = {}
        for name, value in zip(header, values):
            try:
                row[RENAMED.get(name, name)] = math.nan if value in ("NA", "", "nan") else float(value)
            except ValueError:
                raise HistoryRefused(f"The history file {path.name} holds {value!r} in column {name!r} on line {number}; every value must be a number.") from None
        rows.append(row)
    return rows


def _scalar(value) -> float | None:
    """The number in one TensorBoard summary value (TF1 ``simple_value`` or a TF2 scalar tensor)."""
    import tensorflow as tf

    if value.HasField("simple_value"):
        return float(value.simple_value)
    if value.HasField("tensor"):
        array = tf.make_ndarray(value.tensor)
        if array.size == 1 and array.dtype.kind in "fiu":
            return float(array.reshape(()))
    return None


def _tensorboard_rows(folder: Path) -> list[dict]:
    """Epoch scalars of ``folder/train`` and ``folder/validation`` (or of ``folder`` itself as train)."""
    import tensorflow as tf

    splits = {"train": "", "validation": "val_"}
    sources = [(folder / split, prefix) for split, prefix in splits.items() if (folder / split).is_dir()]
    if not sources:
        sources = [(folder, "")]
    by_epoch: dict[int, dict] = {}
    event_files = 0
    for split_folder, prefix in sources:
        for event_file in sorted(split_folder.glob("events.out.tfevents.*")):
            event_files += 1
            try:
                for event in tf.compat.v1.train.summary_iterator(str(event_file)):
                    for value in event.summary.value:
                        if not value.tag.startswith("epoch_"):
                            continue
                        number = _scalar(value)
                        if number is not None:
                            name = value.tag[len("epoch_"):]
                            by_epoch.setdefault(int(event.step), {})[prefix + RENAMED.get(name, name)] = number
            except tf.errors.DataLossError:
                raise HistoryRefused(f"The TensorBoard file {event_file.name} is damaged or cut short.") from None
    if not event_files:
        raise HistoryRefused(
            f"The folder {folder} holds no TensorBoard event files (events.out.tfevents.*), in it or in train/ and validation/."
        )
    # The learning rate is logged under train/ by Keras; it has no validation counterpart.
    return [{"epoch": float(epoch), **metrics} for epoch, metrics in sorted(by_epoch.items())]


def _checked(rows: list[dict], path: Path) -> list[dict]:
    """Rows with integer, strictly increasing epochs, the required metrics, and plausible accuracies."""
    if not rows:
        raise HistoryRefused(f"The history {path.name} holds no epoch, so there are no curves to show.")
    if len(rows) > MAX_EPOCHS:
        raise HistoryRefused(f"The history {path.name} has {len(rows)} epochs; that is not a training history.")
    missing = [metric for metric in REQUIRED_METRICS if all(math.isnan(row.get(metric, math.nan)) for row in rows)]
    if missing:
        raise HistoryRefused(
            f"The history {path.name} has no {' or '.join(missing)} values, so it does not describe the training of "
            "this classifier. Compile the model with metrics=['accuracy'] and log with CSVLogger or TensorBoard."
        )
    previous = -1
    for row in rows:
        epoch = row["epoch"]
        if math.isnan(epoch) or epoch != int(epoch) or epoch <= previous:
            raise HistoryRefused(f"The history {path.name} has epochs out of order or not whole numbers (after epoch {previous}).")
        previous = row["epoch"] = int(epoch)
        for name, value in row.items():
            if "accuracy" in name and not math.isnan(value) and not 0.0 <= value <= 1.0:
                raise HistoryRefused(f"The history {path.name} has {name} {value:g} at epoch {int(epoch)}; accuracy lies between 0 and 1.")
        for metric in FILLED_METRICS:
            row.setdefault(metric, math.nan)
    return rows
