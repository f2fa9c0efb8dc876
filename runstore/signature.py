"""Cheap cache keys for run folders: modification times of the files a reader uses.

A few ``stat`` calls per run, so the dashboard can compute them on every rerun
and re-read a run only when a key differs.
"""

from __future__ import annotations

import os
from pathlib import Path

from runstore.layout import HISTORY_FILE, MODEL_FILE, PREDICTIONS_FILE, RUN_FILE, runs_root

# The files whose change changes what a reader shows.
SIGNATURE_FILES = (RUN_FILE, HISTORY_FILE, MODEL_FILE, PREDICTIONS_FILE)


def mtime_ns(path: str | os.PathLike) -> int:
    """Modification time of ``path`` in nanoseconds, -1 when it does not exist or cannot be read."""
    try:
        return Path(path).stat().st_mtime_ns
    except OSError:
        return -1


def run_signature(folder: str | os.PathLike) -> tuple[int, ...]:
    """Modification times of a run's files: a key that changes whenever the run does."""
    return tuple(mtime_ns(Path(folder) / name) for name in SIGNATURE_FILES)


def folder_signature(artifacts_dir: str | os.PathLike) -> tuple:
    """A tuple that changes whenever a run appears, disappears or one of its files changes."""
    root = runs_root(artifacts_dir)
    if not root.is_dir():
        return ()
    return tuple((entry.name,) + run_signature(entry) for entry in sorted(root.iterdir()) if entry.is_dir())
