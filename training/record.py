"""The run's ``run.json`` while it trains, with this checkout's provenance.

The record type itself is ``runstore.record.RunRecord`` (every write of
``run.json`` goes through it); this module adds what only the training side
can know: the library versions (imports TensorFlow) and the git commit.
"""

from __future__ import annotations

import platform
import subprocess
from dataclasses import dataclass
from pathlib import Path

from runstore.history import read_history_rows
from runstore.layout import HISTORY_FILE, running_from_checkout
from runstore.record import RunRecord as StoredRunRecord
from runstore.record import utc_now  # noqa: F401  (re-exported for training code)
from runstore.status import read_record_leniently

REPO_ROOT = Path(__file__).resolve().parents[1]


def git_commit() -> str | None:
    """The repository's HEAD commit, or None outside a git checkout."""
    if not running_from_checkout():
        return None  # installed: site-packages may lie inside some other repository (a venv in a project)
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


def provenance() -> dict:
    """What a new run records about the code that trained it: ``versions`` and ``git_commit``."""
    return {"versions": library_versions(), "git_commit": git_commit()}


class RunRecord(StoredRunRecord):
    """``runstore.record.RunRecord`` of a new lab run, with ``provenance()`` filled in."""

    def __init__(self, folder: Path, fields: dict):
        super().__init__(folder, fields, provenance=provenance())


@dataclass(frozen=True)
class Resumption:
    """Where a run's attempt starts: from scratch, or after the epochs an interrupted attempt finished."""

    epoch: int | None         # first epoch this attempt trains; None for a fresh start
    history_rows: list[dict]  # history.csv rows of the epochs before ``epoch`` (none for a fresh start)
    elapsed_seconds: float    # the time those epochs took: this attempt's clock continues from it
    stopped_early: bool       # early stopping had already ended the run before the interruption
    images_seen: float = 0.0  # training images those epochs went through: this attempt's count continues from it


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
    earlier = read_record_leniently(folder)  # None when unreadable: this attempt's own start stands
    if isinstance(earlier, dict):
        record.fields["started_at"] = earlier.get("started_at", record.fields["started_at"])
        record.fields["early_stop_epoch"] = earlier.get("early_stop_epoch")
    rows = [row for row in read_history_rows(Path(folder) / HISTORY_FILE) if row["epoch"] < resume_epoch]
    elapsed = rows[-1].get("elapsed_seconds", 0.0) if rows else 0.0
    images = rows[-1].get("images_seen", 0.0) if rows else 0.0
    return Resumption(resume_epoch, rows, elapsed, stopped_early=record.fields.get("early_stop_epoch") is not None,
                      images_seen=0.0 if images != images else images)  # NaN (a history from before the column): start at 0
