"""The run's ``run.json`` while it trains, with this checkout's provenance.

The record type itself is ``runstore.record.RunRecord`` (every write of
``run.json`` goes through it); this module adds what only the training side
can know: the library versions (imports TensorFlow) and the git commit.
"""

from __future__ import annotations

import platform
import subprocess
from pathlib import Path

from runstore.record import RunRecord as StoredRunRecord
from runstore.record import utc_now  # noqa: F401  (re-exported for training code)

REPO_ROOT = Path(__file__).resolve().parents[1]


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


def provenance() -> dict:
    """What a new run records about the code that trained it: ``versions`` and ``git_commit``."""
    return {"versions": library_versions(), "git_commit": git_commit()}


class RunRecord(StoredRunRecord):
    """``runstore.record.RunRecord`` of a new lab run, with ``provenance()`` filled in."""

    def __init__(self, folder: Path, fields: dict):
        super().__init__(folder, fields, provenance=provenance())
