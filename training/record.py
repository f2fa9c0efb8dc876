"""The run's ``run.json`` while it trains: created at start, updated every epoch, closed as complete or failed.

Every write goes through ``runstore.atomic_write_json``, so the dashboard
never reads half a record.
"""

from __future__ import annotations

import os
import platform
import socket
import subprocess
import time
from pathlib import Path

from runstore import RUN_FILE, SCHEMA_VERSION, atomic_write_json
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
