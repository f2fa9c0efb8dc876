"""Reading run folders defensively: one damaged run never hides the others.

``list_runs`` returns a ``RunInfo`` for every folder under ``runs/``. A run
whose files are missing, torn, tampered with or of another schema version is
still listed, with ``problems`` saying what is wrong in words a user can act on.
"""

from __future__ import annotations

import io
import json
import os
import socket
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from runstore.layout import (
    HISTORY_FILE,
    MODEL_FILE,
    PREDICTIONS_FILE,
    RUN_FILE,
    RUN_ID_PATTERN,
    runs_root,
)
from runstore.schema import (
    STATUS_COMPLETE,
    STATUS_RUNNING,
    SchemaError,
    validate_run_record,
)

NUM_CLASSES = 10
HISTORY_REQUIRED_COLUMNS = ("epoch", "loss", "accuracy", "val_loss", "val_accuracy")


class BrokenRun(Exception):
    """A file of a run cannot be used; the message names the file and the reason."""


@dataclass
class RunInfo:
    """One run folder as the dashboard sees it."""

    run_id: str
    path: Path
    record: dict | None
    problems: list[str] = field(default_factory=list)
    # True when status says running but the trainer process is gone (killed).
    interrupted: bool = False

    @property
    def is_broken(self) -> bool:
        """True when the run cannot be shown normally; ``problems`` says why."""
        return bool(self.problems)

    @property
    def status(self) -> str:
        """``complete``, ``running``, ``failed``, ``interrupted`` or ``broken``."""
        if self.record is None or self.is_broken:
            return "broken"
        if self.interrupted:
            return "interrupted"
        return self.record["status"]

    @property
    def mtime_key(self) -> tuple:
        """Modification times of the run's files: a cache key that changes when the run does."""
        return tuple(_mtime(self.path / name) for name in (RUN_FILE, HISTORY_FILE, MODEL_FILE, PREDICTIONS_FILE))


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return -1


def read_run_record(path: str | os.PathLike) -> dict:
    """Read and validate ``run.json`` in run folder ``path``; raise ``BrokenRun`` with the reason."""
    run_file = Path(path) / RUN_FILE
    try:
        text = run_file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BrokenRun(f"{RUN_FILE} is missing") from None
    except (OSError, UnicodeDecodeError) as error:
        raise BrokenRun(f"{RUN_FILE} cannot be read: {error}") from None
    try:
        record = json.loads(text)
    except json.JSONDecodeError as error:
        raise BrokenRun(f"{RUN_FILE} is not valid JSON ({error.msg} at line {error.lineno})") from None
    try:
        return validate_run_record(record)
    except SchemaError as error:
        raise BrokenRun(str(error)) from None


def read_history(path: str | os.PathLike) -> pd.DataFrame:
    """Read ``history.csv`` of run folder ``path`` as a DataFrame sorted by epoch.

    Keras' CSVLogger writes ``NA`` for a missing value; those become NaN.
    Raises ``BrokenRun`` naming the problem when the file is missing or damaged.
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
        frame = pd.read_csv(io.StringIO(text), na_values=["NA"])
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
        # Only the header: a run with no curves yet (or none at all, as an imported model without --history).
        frame = frame.astype("float64")
    for column in frame.columns:
        if not pd.api.types.is_numeric_dtype(frame[column]):
            raise BrokenRun(f"{HISTORY_FILE} column {column!r} holds non-numeric values (truncated file?)")
    return frame.sort_values("epoch").reset_index(drop=True)


def read_predictions(path: str | os.PathLike, expected_count: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(y_true, probs)`` from ``predictions.npz`` in run folder ``path``.

    ``y_true`` is int64 of shape (N,), ``probs`` float32 of shape (N, 10).
    Raises ``BrokenRun`` when the file is missing, unreadable or of the wrong shape.
    """
    predictions_file = Path(path) / PREDICTIONS_FILE
    if not predictions_file.exists():
        raise BrokenRun(f"{PREDICTIONS_FILE} is missing")
    try:
        # allow_pickle=False: a tampered file must not be able to run code.
        with np.load(predictions_file, allow_pickle=False) as archive:
            if "y_true" not in archive or "probs" not in archive:
                raise BrokenRun(f"{PREDICTIONS_FILE} must hold arrays 'y_true' and 'probs'")
            y_true = np.asarray(archive["y_true"])
            probs = np.asarray(archive["probs"])
    except BrokenRun:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as error:
        # NumPy's own words for a non-archive mention allow_pickle, which would
        # mislead a user into loosening the one setting that keeps them safe.
        if "Object arrays" in str(error):
            raise BrokenRun(
                f"{PREDICTIONS_FILE} cannot be read: it holds Python objects instead of numbers "
                "(refused, because loading them could run code)"
            ) from None
        if "pickle" in str(error):
            raise BrokenRun(f"{PREDICTIONS_FILE} is not a valid .npz archive (truncated or overwritten?)") from None
        raise BrokenRun(f"{PREDICTIONS_FILE} cannot be read: {error}") from None
    if probs.ndim != 2 or probs.shape[1] != NUM_CLASSES or y_true.shape != (probs.shape[0],):
        raise BrokenRun(
            f"{PREDICTIONS_FILE} has the wrong shape: y_true {y_true.shape}, probs {probs.shape}; "
            f"expected (N,) and (N, {NUM_CLASSES})"
        )
    if expected_count is not None and probs.shape[0] != expected_count:
        raise BrokenRun(f"{PREDICTIONS_FILE} has {probs.shape[0]} rows; run.json says {expected_count}")
    if not np.issubdtype(y_true.dtype, np.integer) or y_true.min(initial=0) < 0 or y_true.max(initial=0) >= NUM_CLASSES:
        raise BrokenRun(f"{PREDICTIONS_FILE} y_true must hold integer labels 0-9")
    if not np.all(np.isfinite(probs)):
        raise BrokenRun(f"{PREDICTIONS_FILE} probs contain NaN or infinity")
    return y_true.astype(np.int64), probs.astype(np.float32)


def process_alive(record: dict) -> bool:
    """Whether the trainer that wrote ``record`` still runs (assumed yes when we cannot tell)."""
    pid = record.get("pid")
    host = record.get("host")
    if not isinstance(pid, int) or host != socket.gethostname():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def inspect_run(path: Path, check_predictions: bool = True) -> RunInfo:
    """Build the ``RunInfo`` of one run folder, collecting every problem found."""
    info = RunInfo(run_id=path.name, path=path, record=None)
    try:
        info.record = read_run_record(path)
    except BrokenRun as error:
        info.problems.append(str(error))
        return info
    status = info.record["status"]
    if status == STATUS_RUNNING:
        info.interrupted = not process_alive(info.record)
    # A running run may not have finished its first epoch yet; a complete one must have a history.
    history_expected = status == STATUS_COMPLETE or (status == STATUS_RUNNING and (path / HISTORY_FILE).exists())
    if history_expected:
        try:
            read_history(path)
        except BrokenRun as error:
            info.problems.append(str(error))
    if status == STATUS_COMPLETE:
        model_file = path / MODEL_FILE
        if not model_file.is_file():
            info.problems.append(f"{MODEL_FILE} is missing")
        elif isinstance(info.record.get("model_bytes"), int) and model_file.stat().st_size != info.record["model_bytes"]:
            # One stat per run catches a truncated or swapped model without hashing it;
            # the SHA-256 is checked when the model is actually loaded.
            info.problems.append(
                f"{MODEL_FILE} has {model_file.stat().st_size} bytes; run.json says "
                f"{info.record['model_bytes']} (truncated or replaced)"
            )
        if check_predictions:
            try:
                read_predictions(path)
            except BrokenRun as error:
                info.problems.append(str(error))
    return info


def list_runs(artifacts_dir: str | os.PathLike, check_predictions: bool = True) -> list[RunInfo]:
    """Every run folder under ``<artifacts_dir>/runs``, newest first, broken ones included.

    Hidden entries and names outside the run-id alphabet are skipped: they are
    temporary files or not runs at all.
    """
    root = runs_root(artifacts_dir)
    if not root.is_dir():
        return []
    runs = [
        inspect_run(entry, check_predictions=check_predictions)
        for entry in root.iterdir()
        if entry.is_dir() and RUN_ID_PATTERN.match(entry.name)
    ]

    def started(info: RunInfo) -> str:
        return (info.record or {}).get("started_at", "")

    return sorted(runs, key=lambda info: (started(info), info.run_id), reverse=True)
