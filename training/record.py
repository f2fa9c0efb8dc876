"""The run's ``run.json`` while it trains: created at start, updated every epoch, closed as complete or failed.

Every write goes through ``runstore.atomic_write_json``, so the dashboard
never reads half a record.
"""

from __future__ import annotations

import json
import os
import platform
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from runstore import HISTORY_FILE, RUN_FILE, SCHEMA_VERSION, atomic_write_json
from runstore.schema import STATUS_COMPLETE, STATUS_FAILED, STATUS_RUNNING

REPO_ROOT = Path(__file__).resolve().parents[1]


def utc_now() -> str:
    """The current time as ISO 8601 UTC, to the second."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def git_commit() -> str | None:
    """The repository's HEAD commit, or None outside a git checkout."""
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = result.stdout.strip()
    return commit if result.returncode == 0 and commit else None


def library_versions() -> dict:
    """Versions of the libraries a run depends on."""
    import keras
    import numpy
    import tensorflow

    return {
        "python": platform.python_version(),
        "tensorflow": tensorflow.__version__,
        "keras": keras.__version__,
        "numpy": numpy.__version__,
    }


class RunRecord:
    """The mutable ``run.json`` of one run; ``update`` writes it atomically every time."""

    def __init__(self, folder: Path, fields: dict):
        self.path = Path(folder) / RUN_FILE
        now = utc_now()
        self.fields = {
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
            "versions": library_versions(),
            "git_commit": git_commit(),
            "started_at": now,
            "updated_at": now,
            "pid": os.getpid(),
            "host": socket.gethostname(),
        }
        self.fields.update(fields)

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


@dataclass(frozen=True)
class Resumption:
    """Where a run's attempt starts: from scratch, or after the epochs an interrupted attempt finished."""

    epoch: int | None         # first epoch this attempt trains; None for a fresh start
    history_rows: list[dict]  # history.csv rows of the epochs before ``epoch`` (none for a fresh start)
    elapsed_seconds: float    # the time those epochs took: this attempt's clock continues from it
    stopped_early: bool       # early stopping had already ended the run before the interruption


def resume_from_earlier_attempt(record: RunRecord, folder: Path, resume_epoch: int | None) -> Resumption:
    """Carry an interrupted attempt in run ``folder`` over into ``record`` and say where this attempt starts.

    Call before ``record``'s first write, which replaces the earlier run.json. For a
    resumed run (``resume_epoch`` set) the first attempt's ``started_at`` is kept, so
    wall time spans the whole run, and so is its ``early_stop_epoch``, since early
    stopping that fired before the interruption still holds; the history rows before
    ``resume_epoch`` are kept and the clock continues from their last
    ``elapsed_seconds``. A fresh start (None) carries nothing over.
    """
    if resume_epoch is None:
        return Resumption(None, [], 0.0, stopped_early=False)
    try:
        earlier = json.loads((Path(folder) / RUN_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        earlier = None  # no readable earlier record: this attempt's own start stands
    if isinstance(earlier, dict):
        record.fields["started_at"] = earlier.get("started_at", record.fields["started_at"])
        record.fields["early_stop_epoch"] = earlier.get("early_stop_epoch")
    from training.callbacks import read_history_rows  # imports Keras

    rows = [row for row in read_history_rows(Path(folder) / HISTORY_FILE) if row["epoch"] < resume_epoch]
    elapsed = rows[-1].get("elapsed_seconds", 0.0) if rows else 0.0
    return Resumption(resume_epoch, rows, elapsed, stopped_early=record.fields.get("early_stop_epoch") is not None)
