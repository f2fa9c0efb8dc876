"""``run.json`` as an object: every write of a run's record goes through ``RunRecord``.

A trainer creates one when a run starts (``RunRecord(folder, fields,
provenance)``), updates it every epoch, and closes it with ``complete`` or
``fail``; a later step on an existing run (re-evaluation) opens it with
``RunRecord.load(folder)``. Each ``update`` rewrites the file atomically, so a
reader never sees half a record. Provenance that needs the training stack
(library versions, git commit) is passed in by the writer; this module
imports neither TensorFlow nor Streamlit.

Usage::

    record = RunRecord(folder, {"run_id": "a", "model": "simple_cnn", ...}, provenance={"versions": {...}})
    record.update(latest_epoch=0)
    record.complete(test_accuracy=0.71, ...)
    RunRecord.load(folder).update(test_accuracy=0.72)
"""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

from runstore.atomic import atomic_write_json
from runstore.layout import RUN_FILE, SCHEMA_VERSION
from runstore.preprocessing import RAW
from runstore.reader import read_run_record
from runstore.schema import SOURCE_TRAINED
from runstore.status import STATUS_COMPLETE, STATUS_FAILED, STATUS_RUNNING


def utc_now() -> str:
    """The current time as ISO 8601 UTC, to the second."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


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
    """The mutable ``run.json`` of one run; ``update`` writes it atomically every time."""

    def __init__(self, folder: str | os.PathLike, fields: dict, provenance: dict | None = None):
        self.path = Path(folder) / RUN_FILE
        self.fields = new_run_fields(fields, provenance)

    @classmethod
    def load(cls, folder: str | os.PathLike) -> "RunRecord":
        """The record of the existing run in ``folder``, validated; raises ``BrokenRun`` saying what is wrong."""
        record = cls.__new__(cls)
        record.path = Path(folder) / RUN_FILE
        record.fields = read_run_record(folder)
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
