"""The one writer of run folders: ``run.json``, ``history.csv``, ``predictions.npz``, ``model.keras``, ``summary.txt``.

Every program that makes or changes a run folder goes through this module: the
lab trainer (``training.train``), ``LabCallback``, the importer, the suite
executors (a run's node, a run failed from outside) and the latency the
dashboard measures. ``tests/test_run_writer.py`` scans the code for any other
writer. Each file is written atomically (``runstore.atomic``), and a run's
``run.json`` says ``complete`` only after its model and predictions are whole,
so a reader never sees half a file or a run presented as whole before it is.

It imports neither TensorFlow nor Streamlit: a model is anything with Keras'
``save``, ``summary``, ``count_params`` and ``trainable_weights``; what needs the
training stack (library versions, the git commit) is passed in as ``provenance``.

Usage::

    from runstore.writer import RunRecord, check_run_folder, save_model_and_predictions, write_history_rows
    check_run_folder(folder)                                  # refuses a complete run or a live trainer's
    record = RunRecord(folder, {"run_id": "a", "model": "simple_cnn"}, provenance={"versions": {...}})
    write_history_rows(folder / HISTORY_FILE, rows)
    record.update(latest_epoch=0)
    record.complete(test_accuracy=0.71, **save_model_and_predictions(folder, model, y_test, probs))
"""

from __future__ import annotations

import errno
import hashlib
import io
import os
import shutil
import socket
import time
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np

from runstore.atomic import atomic_write_bytes, atomic_write_json, atomic_write_text
from runstore.history import format_history
from runstore.layout import (
    BACKUP_DIR,
    HISTORY_FILE,
    MODEL_FILE,
    PREDICTIONS_FILE,
    VALIDATION_PREDICTIONS_FILE,
    RUN_FILE,
    SCHEMA_VERSION,
    SUMMARY_FILE,
    TENSORBOARD_DIR,
)
from runstore.preprocessing import RAW
from runstore.reader import read_run_record
from runstore.schema import SOURCE_TRAINED
from runstore.status import (
    STATUS_COMPLETE,
    STATUS_FAILED,
    STATUS_RUNNING,
    read_record_leniently,
    run_status,
)


def utc_now() -> str:
    """The current time as ISO 8601 UTC, to the second."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


# ----------------------------------------------------------------------------- the run folder before a run


class RunFolderRefused(RuntimeError):
    """The run folder holds a run that must not be (re)started; the message says what to do."""


def check_run_folder(folder: Path) -> dict:
    """Refuse a complete run and a run another live process trains; return the folder's record as written ({} if none).

    A run this very process started (and failed) may be started again.
    """
    record = read_record_leniently(folder) or {}
    status = run_status(record)
    if status == STATUS_COMPLETE:
        raise RunFolderRefused(
            f"Run {folder.name!r} is already complete ({folder}). Pick another --run-id, "
            "or delete that folder to train it again."
        )
    if status == STATUS_RUNNING and record.get("pid") != os.getpid():
        raise RunFolderRefused(
            f"Run {folder.name!r} is being trained right now by process {record.get('pid')} on {record.get('host')}. "
            "Wait for it, stop it, or pick another --run-id."
        )
    return record


def clear_for_fresh_start(folder: Path) -> None:
    """Remove what an earlier attempt left, so none of it is mistaken for the new run's files."""
    for name in (HISTORY_FILE, MODEL_FILE, PREDICTIONS_FILE, VALIDATION_PREDICTIONS_FILE, SUMMARY_FILE):
        (folder / name).unlink(missing_ok=True)
    for name in (TENSORBOARD_DIR, BACKUP_DIR):
        shutil.rmtree(folder / name, ignore_errors=True)


def free_bytes(folder: Path) -> int | None:
    """Free space on the file system holding ``folder`` (or its nearest existing parent); None when unknown."""
    folder = Path(folder)
    for candidate in (folder, *folder.parents):
        if candidate.exists():
            try:
                return shutil.disk_usage(candidate).free
            except OSError:
                return None
    return None


def run_bytes_needed(params_total: int | None, backups: int = 3, best_checkpoint: bool = True) -> int | None:
    """About how much disk a run folder takes at its fullest, from its parameter count (None when unknown).

    float32 weights. The saved model and each epoch backup hold the weights and an
    optimizer's two slots (Adam's moments: 3 copies); the best-epoch checkpoint holds
    one. The lab trainer keeps two backups, three at once while the next is written
    (the defaults); a LabCallback run has neither backups nor checkpoint.
    """
    if not params_total:
        return None
    copies = 3 + (1 if best_checkpoint else 0) + 3 * backups
    return int(params_total) * 4 * copies + 1_000_000  # history, predictions, TensorBoard events


def _megabytes(count: int) -> str:
    return f"{count / 1e6:,.1f} MB"


# What the lab trainer's user does after freeing space; a LabCallback run says its own (it starts over).
RESUME_ADVICE = "then run the same command again: the run resumes from its last finished epoch."


def describe_write_error(error: OSError, folder: Path, needed_bytes: int | None = None,
                         then: str = RESUME_ADVICE) -> str | None:
    """A sentence for disk-full and permission errors while writing under ``folder``, or None for other OS errors.

    A full disk's sentence names the folder, the space left there and, given ``needed_bytes``
    (``run_bytes_needed``), about how much the run takes; ``then`` says what to do once space is free.
    """
    where = error.filename or folder
    if error.errno == errno.ENOSPC:
        free = free_bytes(folder)
        space = "" if free is None else f" {_megabytes(free)} free there"
        if needed_bytes:
            space += f"{';' if space else ''} this run needs about {_megabytes(needed_bytes)} in all"
        return (
            f"The disk is full (no space left while writing {where};{space or ' free space unknown'}). "
            f"Free some space or move the artifacts with --artifacts-dir, {then}"
        )
    if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return (
            f"Permission denied writing {where}. Make the artifacts folder writable, or choose another one "
            "with --artifacts-dir / ARTIFACTS_DIR."
        )
    return None


# ----------------------------------------------------------------------------- run.json


def new_run_fields(fields: dict, provenance: dict | None = None) -> dict:
    """The ``run.json`` of a run that just started: the contract's defaults, then ``provenance``, then ``fields``."""
    now = utc_now()
    record = {
        "schema_version": SCHEMA_VERSION,
        "status": STATUS_RUNNING,
        "error": None,
        "epochs_run": 0,
        "best_epoch": None,
        "lr_drop_epochs": [],
        "early_stop_epoch": None,
        "latest_epoch": None,
        "test_accuracy": None,
        "test_loss": None,
        "params_total": None,
        "params_trainable": None,
        "train_seconds": None,
        "wall_seconds": None,
        "data": {},
        "versions": {},
        "git_commit": None,
        # The lab's models scale pixels themselves; a writer of other models says otherwise.
        "preprocessing": RAW,
        "started_at": now,
        "updated_at": now,
        "pid": os.getpid(),
        "host": socket.gethostname(),
    }
    record.update(provenance or {})
    record.update(fields)
    # A run trained without seeds is a group of one; the lab's trainer is the default source.
    record.setdefault("group", record.get("run_id"))
    record.setdefault("source", SOURCE_TRAINED)
    return record


class RunRecord:
    """The mutable ``run.json`` of one run; ``update`` writes it atomically every time.

    A writer creates one when a run starts (``RunRecord(folder, fields, provenance)``),
    updates it every epoch and closes it with ``complete`` or ``fail``; a later step
    on a finished run (re-evaluation, measured latency) opens it with ``load``.
    """

    def __init__(self, folder: str | os.PathLike, fields: dict, provenance: dict | None = None):
        self.path = Path(folder) / RUN_FILE
        self.fields = new_run_fields(fields, provenance)

    @classmethod
    def load(cls, folder: str | os.PathLike) -> "RunRecord":
        """The record of the existing run in ``folder``, validated; raises ``BrokenRun`` saying what is wrong."""
        return cls._of(folder, read_run_record(folder))

    @classmethod
    def load_leniently(cls, folder: str | os.PathLike) -> "RunRecord | None":
        """The record in ``folder`` as written, unvalidated (a trainer may have died mid-run); None when unreadable."""
        fields = read_record_leniently(folder)
        return None if fields is None else cls._of(folder, fields)

    @classmethod
    def _of(cls, folder: str | os.PathLike, fields: dict) -> "RunRecord":
        record = cls.__new__(cls)
        record.path = Path(folder) / RUN_FILE
        record.fields = fields
        return record

    def update(self, **changes) -> None:
        """Apply ``changes`` and rewrite run.json."""
        self.fields.update(changes)
        self.fields["updated_at"] = utc_now()
        atomic_write_json(self.path, self.fields)

    def complete(self, **changes) -> None:
        """Mark the run complete with its final figures."""
        self.update(status=STATUS_COMPLETE, error=None, finished_at=utc_now(), **changes)

    def fail(self, message: str) -> None:
        """Mark the run failed with ``message``; never raises (the disk may be the problem)."""
        try:
            self.update(status=STATUS_FAILED, error=message or "unknown error", finished_at=utc_now())
        except OSError:
            pass


def fail_unfinished_run(folder: Path, reason: str) -> None:
    """Mark the run in ``folder`` failed with ``reason`` unless it is complete (its backup stays: it still resumes).

    For a supervisor whose trainer died without saying so (a killed Ray worker); no record, nothing to mark.
    """
    record = RunRecord.load_leniently(folder)
    if record is not None and record.fields.get("status") != STATUS_COMPLETE:
        record.fail(reason)


def record_node(folder: Path, node: str) -> None:
    """Add the machine that trained the run to its run.json, once its trainer has stopped writing it."""
    record = RunRecord.load_leniently(folder)
    if record is not None and record.fields.get("node") != node:
        record.fields["node"] = node
        atomic_write_json(record.path, record.fields)  # not an update: the run's own updated_at stays


# ----------------------------------------------------------------------------- history, predictions, model


def write_history_rows(path: str | os.PathLike, rows: Iterable[Mapping], columns: Iterable[str] = ()) -> None:
    """Write ``rows`` (dicts with ``epoch`` and metric values) to ``path`` atomically (``runstore.history``'s format)."""
    atomic_write_text(path, format_history(rows, columns))


def predictions_bytes(y_true: np.ndarray, probs: np.ndarray) -> bytes:
    """``predictions.npz`` content: y_true int64 (N,), probs float32 (N, 10)."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, y_true=np.asarray(y_true).astype(np.int64), probs=np.asarray(probs).astype(np.float32))
    return buffer.getvalue()


def write_predictions(folder: str | os.PathLike, y_true: np.ndarray, probs: np.ndarray) -> None:
    """Write ``predictions.npz`` into run folder ``folder`` atomically."""
    atomic_write_bytes(Path(folder) / PREDICTIONS_FILE, predictions_bytes(y_true, probs))


def write_validation_predictions(folder: str | os.PathLike, y_true: np.ndarray, probs: np.ndarray) -> None:
    """Write ``validation_predictions.npz`` (the predictions' format, on the validation images) atomically.

    The reading side fits each run's temperature and typicality threshold on it, so the
    test set is never used to tune what is then measured on it.
    """
    atomic_write_bytes(Path(folder) / VALIDATION_PREDICTIONS_FILE, predictions_bytes(y_true, probs))


def save_model(folder: str | os.PathLike, model) -> dict:
    """Save ``model`` as the run's ``model.keras`` via a temporary name, then rename; return run.json's size and digest."""
    path = Path(folder) / MODEL_FILE
    # Keras picks the format by the extension, so the temporary name must end in .keras too.
    temporary = path.with_name(f".partial-{os.getpid()}-{path.name}")
    try:
        model.save(temporary)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return {"model_sha256": digest, "model_bytes": path.stat().st_size}


def save_model_and_predictions(folder: str | os.PathLike, model, y_test: np.ndarray, probs: np.ndarray) -> dict:
    """Write ``model.keras`` and ``predictions.npz``; return run.json's ``model_sha256`` and ``model_bytes``."""
    saved = save_model(folder, model)
    write_predictions(folder, y_test, probs)
    return saved


def model_summary_text(model) -> str:
    """Keras' layer table (nested models expanded) as plain text."""
    lines: list[str] = []
    model.summary(print_fn=lambda line, line_break=True: lines.append(line), expand_nested=True)
    return "\n".join(lines) + "\n"


def parameter_counts(model) -> dict:
    """run.json's ``params_total`` and ``params_trainable`` of ``model``."""
    trainable = int(sum(int(np.prod(weight.shape)) for weight in model.trainable_weights))
    return {"params_total": int(model.count_params()), "params_trainable": trainable}


def write_model_summary(folder: str | os.PathLike, model) -> dict:
    """Write the layer table beside the run (``summary.txt``); return the parameter counts for run.json."""
    atomic_write_text(Path(folder) / SUMMARY_FILE, model_summary_text(model))
    return parameter_counts(model)
