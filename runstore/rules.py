"""Rules that turn a run's history into events: its best epoch and its learning-rate drops.

One definition each, used by the trainer (to fill ``run.json``) and by the
dashboard (for a live run whose ``run.json`` has no best epoch yet), so both
always mark the same epoch. Rows are mappings with an ``epoch`` key, as
``runstore.history.read_history_rows`` returns them; for a DataFrame pass
``frame.to_dict("records")``.
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

# The saved model holds the weights of the epoch with the lowest validation
# loss (the trainer's checkpoint monitors it). A history without any
# validation loss falls back to the highest validation accuracy.
BEST_EPOCH_MONITOR = "val_loss"
BEST_EPOCH_FALLBACK = "val_accuracy"
# A relative tolerance ignores float noise from schedules that barely change the rate.
LR_DROP_TOLERANCE = 1e-6


def _finite(row: Mapping, key: str) -> float | None:
    value = row.get(key)
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value


def best_epoch(rows: Sequence[Mapping]) -> int | None:
    """The epoch of the lowest ``val_loss`` (first one on a tie); else of the highest ``val_accuracy``; else None."""
    losses = [(value, index) for index, row in enumerate(rows) if (value := _finite(row, BEST_EPOCH_MONITOR)) is not None]
    if losses:
        _, index = min(losses, key=lambda pair: (pair[0], pair[1]))
        return int(rows[index]["epoch"])
    accuracies = [(value, index) for index, row in enumerate(rows) if (value := _finite(row, BEST_EPOCH_FALLBACK)) is not None]
    if accuracies:
        _, index = max(accuracies, key=lambda pair: (pair[0], -pair[1]))
        return int(rows[index]["epoch"])
    return None


def learning_rate_drops(rows: Sequence[Mapping]) -> list[int]:
    """Epochs whose ``learning_rate`` is lower than the previous epoch's (missing rates never count)."""
    drops = []
    for previous, current in zip(rows, rows[1:]):
        before, after = _finite(previous, "learning_rate"), _finite(current, "learning_rate")
        if before is not None and after is not None and after < before * (1 - LR_DROP_TOLERANCE):
            drops.append(int(current["epoch"]))
    return drops
