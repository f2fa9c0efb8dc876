"""How many training images each run saw: the last ``images_seen`` of its ``history.csv``.

Findings state a run's budget in images seen when that differs from training
images × epochs (shorter epochs, a time budget that cut training short). The
sentence is built in ``analysis.findings`` from values; this module is the
reading side that supplies them, for the dashboard, the report and the CLI alike.

Usage::

    from runstore.images_seen import last_images_seen, read_images_seen
    read_images_seen(list_runs(artifacts_dir))   # {"run-a": 12000.0, "run-b": None, ...}
    last_images_seen(history_frame)              # from a history already read
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable

import pandas as pd

from runstore.errors import BrokenRun
from runstore.history import read_history
from runstore.signature import run_signature

IMAGES_SEEN_COLUMN = "images_seen"


def last_images_seen(history: pd.DataFrame | None) -> float | None:
    """The last ``images_seen`` of a run's history (``runstore.read_history``); None when not recorded."""
    if history is None or IMAGES_SEEN_COLUMN not in history or history.empty:
        return None
    value = float(history[IMAGES_SEEN_COLUMN].iloc[-1])
    return None if math.isnan(value) else value  # NaN: a history from before the column


# Keyed by the run's file times: Compare states the budget of 20 runs on every view, and
# parsing 20 history files each time cost more than the rest of its statistics.
@functools.lru_cache(maxsize=4096)
def _read_last_images_seen(path: str, files_key: tuple) -> float | None:
    try:
        return last_images_seen(read_history(path))
    except BrokenRun:
        return None


def read_images_seen(infos: Iterable) -> dict[str, float | None]:
    """Each run's last images seen by run id (``infos``: ``runstore.RunInfo``-like, with ``run_id`` and ``path``).

    A run without a readable history, or one from before the column, maps to None.
    A history rewritten since the last call is read again.
    """
    return {info.run_id: _read_last_images_seen(str(info.path), run_signature(info.path)) for info in infos}
