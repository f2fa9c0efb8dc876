"""Where an attempt at a run starts: from scratch, or after the epochs an interrupted attempt finished.

``resume_from_earlier_attempt`` carries the earlier attempt's history rows, clock,
images seen and start time over into the new attempt's record.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from runstore.history import read_history_rows
from runstore.layout import HISTORY_FILE
from runstore.status import read_record_leniently
from runstore.writer import RunRecord


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
