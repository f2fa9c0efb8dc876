"""Training-curve logic: smoothing, the events worth marking, and best-epoch numbers.

Epoch numbers here are the 0-based indices of ``history.csv`` and ``run.json``;
only the dashboard's text shows them 1-based.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from runstore import rules

METRICS = ("accuracy", "loss")


def smooth(values, weight: float) -> np.ndarray:
    """Exponential moving average with TensorBoard's debiasing; NaN values stay NaN.

    ``weight`` 0 returns the values unchanged, values near 1 smooth strongly.
    Debiasing divides by ``1 - weight**n`` so the first points are not dragged
    towards zero, which is what makes short (few-epoch) curves readable.
    """
    if not 0.0 <= weight < 1.0:
        raise ValueError(f"smoothing weight must be in [0, 1), got {weight}")
    values = np.asarray(values, dtype=np.float64)
    result = np.full(values.shape, np.nan)
    running = 0.0
    seen = 0
    for index, value in enumerate(values):
        if not np.isfinite(value):
            continue
        running = weight * running + (1.0 - weight) * value
        seen += 1
        result[index] = running / (1.0 - weight**seen) if weight > 0 else value
    return result


@dataclass(frozen=True)
class CurveEvents:
    """Epochs worth a marker on a run's curves."""

    best_epoch: int | None = None
    lr_drop_epochs: tuple[int, ...] = field(default_factory=tuple)
    early_stop_epoch: int | None = None


def learning_rate_drops(history: pd.DataFrame) -> tuple[int, ...]:
    """Epochs whose learning rate is lower than the previous epoch's (``runstore.rules``, from ``history.csv``)."""
    return tuple(rules.learning_rate_drops(history.to_dict("records")))


def curve_events(record: dict, history: pd.DataFrame) -> CurveEvents:
    """Markers for one run: ``run.json`` is trusted, the history fills what it lacks.

    A smooth schedule (cosine, one-cycle) lowers the rate every epoch; marking
    all of those would bury the curve, so more than five drops from the history
    are shown as none. ``run.json``'s ``lr_drop_epochs`` (written by the
    ReduceLROnPlateau or step callbacks) is always used as given. A live run
    has no best epoch in ``run.json`` yet; the history gives it by the same
    rule the trainer uses (``runstore.rules.best_epoch``).
    """
    best = record.get("best_epoch")
    if best is None:
        best = rules.best_epoch(history.to_dict("records"))
    drops = tuple(int(epoch) for epoch in record.get("lr_drop_epochs") or ())
    if not drops:
        from_history = learning_rate_drops(history)
        drops = from_history if len(from_history) <= 5 else ()
    return CurveEvents(best_epoch=best, lr_drop_epochs=drops, early_stop_epoch=record.get("early_stop_epoch"))


def best_epoch_row(history: pd.DataFrame, best_epoch: int | None) -> dict | None:
    """The history row of ``best_epoch`` as a dict (None when the epoch is not in the history)."""
    if best_epoch is None:
        return None
    rows = history.loc[history["epoch"] == best_epoch]
    if rows.empty:
        return None
    return rows.iloc[0].to_dict()


def best_epoch_table(runs: dict[str, tuple[dict, pd.DataFrame]]) -> pd.DataFrame:
    """One row per run with its best epoch (1-based) and the metrics at that epoch.

    ``runs`` maps run id to ``(record, history)``. These are the numbers to
    quote, not the last epoch's: the saved model holds the best epoch's weights.
    """
    rows = []
    for run_id, (record, history) in runs.items():
        events = curve_events(record, history)
        row = best_epoch_row(history, events.best_epoch)
        rows.append(
            {
                "run": run_id,
                "best epoch": None if events.best_epoch is None else events.best_epoch + 1,
                "epochs run": int(len(history)),
                "val accuracy": None if row is None else row.get("val_accuracy"),
                "val loss": None if row is None else row.get("val_loss"),
                "train accuracy": None if row is None else row.get("accuracy"),
                "train loss": None if row is None else row.get("loss"),
                "test accuracy": record.get("test_accuracy"),
            }
        )
    return pd.DataFrame(rows, columns=["run", "best epoch", "epochs run", "val accuracy", "val loss",
                                       "train accuracy", "train loss", "test accuracy"])
