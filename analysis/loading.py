"""Cheap facts about the artifacts folder used as cache keys, and test-image loading.

No Streamlit here: the dashboard wraps these in its caches, tests call them directly.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from runstore.layout import HISTORY_FILE, MODEL_FILE, PREDICTIONS_FILE, RUN_FILE, runs_root


def _mtime(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return -1


def folder_signature(artifacts_dir: str | os.PathLike) -> tuple:
    """A tuple that changes whenever a run appears, disappears or one of its files changes.

    It costs a few ``stat`` calls per run, so the dashboard can compute it on
    every rerun and only re-read runs when it differs.
    """
    root = runs_root(artifacts_dir)
    if not root.is_dir():
        return ()
    entries = []
    for entry in sorted(root.iterdir()):
        if entry.is_dir():
            entries.append((entry.name,) + tuple(_mtime(entry / name) for name in (RUN_FILE, HISTORY_FILE, MODEL_FILE, PREDICTIONS_FILE)))
    return tuple(entries)


def images_match_predictions(test_labels: np.ndarray | None, y_true: np.ndarray) -> bool:
    """Whether the loaded test set is the one the predictions were made on (same labels, same order)."""
    return test_labels is not None and len(test_labels) == len(y_true) and bool(np.array_equal(test_labels, y_true))
