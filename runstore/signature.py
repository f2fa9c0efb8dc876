"""Cheap cache keys for run folders: modification times of the files a reader uses.

A few ``stat`` calls per run, so the dashboard can compute them on every rerun
and re-read a run only when a key differs.
"""

from __future__ import annotations

import os

from runstore.layout import HISTORY_FILE, MODEL_FILE, PREDICTIONS_FILE, RUN_FILE, VALIDATION_PREDICTIONS_FILE, runs_root

# The files whose change changes what a reader shows.
SIGNATURE_FILES = (RUN_FILE, HISTORY_FILE, MODEL_FILE, PREDICTIONS_FILE, VALIDATION_PREDICTIONS_FILE)


def mtime_ns(path: str | os.PathLike) -> int:
    """Modification time of ``path`` in nanoseconds, -1 when it does not exist or cannot be read."""
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return -1


def run_signature(folder: str | os.PathLike) -> tuple[int, ...]:
    """Modification times of a run's files: a key that changes whenever the run does."""
    # Plain strings, not Path objects: with 500 runs the dashboard stats 2,000 files a
    # second, and pathlib's object per file cost more than the stat itself.
    base = os.fspath(folder)
    return tuple(mtime_ns(os.path.join(base, name)) for name in SIGNATURE_FILES)


def folder_signature(artifacts_dir: str | os.PathLike) -> tuple:
    """A tuple that changes whenever a run appears, disappears or one of its files changes."""
    root = os.fspath(runs_root(artifacts_dir))
    try:
        with os.scandir(root) as entries:  # is_dir() reads the entry's type, without a stat per run
            names = sorted(entry.name for entry in entries if entry.is_dir())
    except (FileNotFoundError, NotADirectoryError):
        return ()
    return tuple((name,) + run_signature(os.path.join(root, name)) for name in names)
