"""The ``history.csv`` format: one writer, one reader, Keras CSVLogger-compatible.

One row per finished epoch: ``epoch`` first (Keras' 0-based index), then the
metric columns in sorted order, ``NA`` for a value an epoch did not log. The
format is written down once, here; ``runstore.writer`` writes files in it and
the dashboard reads them through ``read_history``.

Usage::

    from runstore.history import format_history, read_history_rows, read_history
    format_history([{"epoch": 0, "loss": 2.1, "val_loss": 1.9}])  # the text runstore.writer writes
    read_history_rows(folder / "history.csv")   # [{"epoch": 0, "loss": 2.1, "val_loss": 1.9}] (lenient)
    read_history(folder)                        # a validated DataFrame, or BrokenRun saying what is wrong
"""

from __future__ import annotations

import csv
import io
import math
import os
from pathlib import Path
from typing import Iterable, Mapping

import pandas as pd

from runstore.errors import BrokenRun
from runstore.layout import HISTORY_FILE

EPOCH_COLUMN = "epoch"
MISSING_VALUE = "NA"  # what Keras' CSVLogger writes for a metric an epoch did not log
HISTORY_REQUIRED_COLUMNS = (EPOCH_COLUMN, "loss", "accuracy", "val_loss", "val_accuracy")


def _is_missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def format_history(rows: Iterable[Mapping], columns: Iterable[str] = ()) -> str:
    """Keras CSVLogger format: ``epoch`` then the sorted metric columns, ``NA`` for a missing value.

    ``columns`` are written even when no row has them: ``HISTORY_REQUIRED_COLUMNS`` with
    no rows is the header of a run without curves, which ``read_history`` reads as empty.
    """
    rows = list(rows)
    columns = sorted(({key for row in rows for key in row} | set(columns)) - {EPOCH_COLUMN})
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([EPOCH_COLUMN, *columns])
    for row in rows:
        values = [MISSING_VALUE if _is_missing(row.get(column)) else row.get(column) for column in columns]
        writer.writerow([int(row[EPOCH_COLUMN]), *values])
    return buffer.getvalue()


def read_history_rows(path: str | os.PathLike) -> list[dict]:
    """Rows of an existing history file as dicts of floats (NaN for ``NA``), ``epoch`` an int; [] when absent.

    Lenient, for resuming a killed run: a damaged tail row ends the list and
    the rows before it are kept.
    """
    path = Path(path)
    if not path.is_file():
        return []
    rows = []
    with path.open(newline="", encoding="utf-8") as handle:
        for raw in csv.DictReader(handle):
            try:
                row = {key: (math.nan if value in (MISSING_VALUE, "") else float(value)) for key, value in raw.items()}
                row[EPOCH_COLUMN] = int(row[EPOCH_COLUMN])
            except (TypeError, ValueError, KeyError):
                break  # a damaged tail row: keep what came before it
            rows.append(row)
    return rows


def read_history(path: str | os.PathLike) -> pd.DataFrame:
    """Read ``history.csv`` of run folder ``path`` as a DataFrame sorted by epoch.

    Strict, for showing a run: ``NA`` becomes NaN, and a missing, torn or
    damaged file raises ``BrokenRun`` naming the problem.
    """
    history_file = Path(path) / HISTORY_FILE
    if not history_file.exists():
        raise BrokenRun(f"{HISTORY_FILE} is missing")
    try:
        text = history_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise BrokenRun(f"{HISTORY_FILE} cannot be read: {error}") from None
    lines = text.splitlines()
    if not lines:
        raise BrokenRun(f"{HISTORY_FILE} is empty")
    # pandas pads a short row with NaN, so a torn last line would pass unnoticed.
    width = lines[0].count(",")
    for number, line in enumerate(lines[1:], start=2):
        if line.count(",") != width:
            raise BrokenRun(f"{HISTORY_FILE} is truncated or damaged: line {number} has the wrong number of fields")
    try:
        frame = pd.read_csv(io.StringIO(text), na_values=[MISSING_VALUE])
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise BrokenRun(f"{HISTORY_FILE} cannot be parsed: {error}") from None
    missing = [column for column in HISTORY_REQUIRED_COLUMNS if column not in frame.columns]
    if missing:
        raise BrokenRun(f"{HISTORY_FILE} lacks the column(s) {', '.join(missing)}")
    # Keras' CSVLogger ends every row with a newline: a file cut inside its last
    # number keeps all its fields, so the missing newline is the only sign.
    if not text.endswith("\n"):
        raise BrokenRun(f"{HISTORY_FILE} is truncated: its last line is incomplete")
    if frame.empty:
        # A header and no rows: a run with no curves (an import without --history, or before its first epoch).
        return frame.astype("float64")
    for column in frame.columns:
        if not pd.api.types.is_numeric_dtype(frame[column]):
            raise BrokenRun(f"{HISTORY_FILE} column {column!r} holds non-numeric values (truncated file?)")
    return frame.sort_values(EPOCH_COLUMN).reset_index(drop=True)
