"""Runs -> a leaderboard DataFrame, plus the plain-words pieces of a model card."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from runstore.reader import RunInfo
from runstore.status import STATUS_BROKEN, STATUS_COMPLETE, STATUS_FAILED, STATUS_INTERRUPTED, STATUS_RUNNING

# The answer first (which run, how good), then how it was trained, then its cost.
LEADERBOARD_COLUMNS = [
    "run", "status", "model", "test accuracy", "test loss", "best epoch", "epochs run",
    "optimizer", "learning rate", "weights", "trainable params", "total params", "size (MB)",
    "training time (min)", "started", "problem",
]


def status_text(info: RunInfo) -> str:
    """The status as a user reads it, with the latest finished epoch (1-based) of a live run."""
    status = info.status
    if status == STATUS_RUNNING:
        latest = (info.record or {}).get("latest_epoch")
        return STATUS_RUNNING if latest is None else f"running (epoch {latest + 1} done)"
    return status


def weights_text(record: dict) -> str:
    """Which weights a run started from, with the trainer's note when they differ from the request."""
    weights = record.get("weights") or "none"
    label = {"none": "random init", "imagenet": "ImageNet"}.get(weights, weights)
    note = record.get("weights_note")
    return f"{label} ({note})" if note else label


def problem_text(info: RunInfo) -> str:
    """Why a run cannot be shown normally: the broken files, or a failed run's error."""
    if info.problems:
        return "; ".join(info.problems)
    record = info.record or {}
    if record.get("status") == STATUS_FAILED:
        return record.get("error") or "failed without a reason"
    if info.interrupted:
        return "the trainer process is gone; run the same command again to resume"
    return ""


def leaderboard_frame(runs: Sequence[RunInfo]) -> pd.DataFrame:
    """One row per run (broken ones too), best test accuracy first, then unfinished runs.

    Numbers stay numbers (fractions for accuracy, bytes turned into MB) so the
    table sorts correctly; the page formats them.
    """
    rows = []
    for info in runs:
        record = info.record or {}
        best = record.get("best_epoch")
        # A broken run's test numbers cannot be checked against its files: never show them as results.
        trusted = not info.is_broken
        model_bytes = record.get("model_bytes")
        train_seconds = record.get("train_seconds")
        rows.append({
            "run": info.run_id,
            "status": status_text(info),
            "model": record.get("model"),
            "optimizer": record.get("optimizer"),
            "learning rate": record.get("learning_rate"),
            "weights": weights_text(record) if record else None,
            "epochs run": record.get("epochs_run"),
            "best epoch": None if best is None else best + 1,
            "test accuracy": record.get("test_accuracy") if trusted else None,
            "test loss": record.get("test_loss") if trusted else None,
            "trainable params": record.get("params_trainable"),
            "total params": record.get("params_total"),
            "size (MB)": None if model_bytes is None else model_bytes / 1e6,
            "training time (min)": None if train_seconds is None else train_seconds / 60.0,
            "started": record.get("started_at"),
            "problem": problem_text(info),
        })
    frame = pd.DataFrame(rows, columns=LEADERBOARD_COLUMNS)
    if frame.empty:
        return frame
    # Usable runs by accuracy (unfinished ones, NaN, after them), broken runs last:
    # a broken run's numbers cannot be trusted, so it must never look like the winner.
    frame["_broken"] = frame["status"] == STATUS_BROKEN
    frame = frame.sort_values(["_broken", "test accuracy", "started"], ascending=[True, False, False],
                              na_position="last", kind="stable")
    return frame.drop(columns="_broken").reset_index(drop=True)


def callback_events(record: dict) -> list[str]:
    """What the training callbacks did, as sentences with 1-based epochs."""
    events = []
    epochs_run = record.get("epochs_run") or 0
    best = record.get("best_epoch")
    if best is not None:
        events.append(f"Best epoch: {best + 1} of {epochs_run}; the saved model holds its weights.")
    for epoch in record.get("lr_drop_epochs") or []:
        events.append(f"Learning rate lowered at epoch {epoch + 1}.")
    stop = record.get("early_stop_epoch")
    if stop is not None:
        events.append(f"Early stopping ended training after epoch {stop + 1}.")
    elif record.get("status") == STATUS_COMPLETE:
        config = record.get("config") or {}
        budget = config.get("time_budget_seconds")
        if budget and (record.get("train_seconds") or 0) >= budget:
            events.append(f"Its time budget of {budget:.0f} s ended training in epoch {epochs_run} "
                          f"(of up to {config.get('epochs', '?')}), with the learning rate already annealed.")
        else:
            events.append("Early stopping did not fire; training ran its planned epochs.")
    return events


def data_text(record: dict) -> str:
    """Where the run's images came from and how many were in each split."""
    data = record.get("data") or {}
    parts = [f"source: {data.get('source', 'unknown')}"]
    for key in ("train", "validation", "val", "test", "train_images", "validation_images", "test_images"):
        if key in data:
            parts.append(f"{key.replace('_', ' ')}: {data[key]:,}" if isinstance(data[key], int) else f"{key}: {data[key]}")
    counts = data.get("counts")
    if isinstance(counts, dict):
        parts.extend(f"{split}: {count:,}" if isinstance(count, int) else f"{split}: {count}" for split, count in counts.items())
    if data.get("sha256"):
        parts.append(f"sha256: {str(data['sha256'])[:12]}…")
    return "; ".join(parts)


def selectable_runs(runs: Sequence[RunInfo]) -> list[str]:
    """Run ids other pages can show: not broken, with at least one finished epoch or a result."""
    chosen = []
    for info in runs:
        if info.is_broken or info.record is None:
            continue
        record = info.record
        if record["status"] == STATUS_COMPLETE or (info.path / "history.csv").exists():
            chosen.append(info.run_id)
    return chosen


def leave_out_at_chance(infos: Sequence[RunInfo]) -> list[RunInfo]:
    """``infos`` without the finished runs at chance (``analysis.answers.at_chance``), unless none would be left finished.

    Classify's consensus leaves such runs out too: a model that learned nothing adds noise
    to a comparison and to a vote on Failures. When every finished run is at chance they
    stay, so the pages have something to show.
    """
    from analysis.answers import at_chance

    learned = [info for info in infos if not (info.status == STATUS_COMPLETE and at_chance(info.record))]
    return learned if any(info.status == STATUS_COMPLETE for info in learned) else list(infos)


def default_compare_runs(runs: Sequence[RunInfo], selectable: Sequence[str], limit: int) -> list[str]:
    """The runs other pages compare until a user picks: newest first, finished or training, at most ``limit``.

    ``selectable`` is ``selectable_runs(runs)``; finished runs at chance are left out
    (``leave_out_at_chance``). A user can still tick them.
    """
    chosen = set(selectable)
    candidates = [info for info in runs
                  if info.run_id in chosen and info.status in (STATUS_COMPLETE, STATUS_RUNNING, STATUS_INTERRUPTED)]
    return [info.run_id for info in leave_out_at_chance(candidates)][:limit]


def default_focus_run(runs: Sequence[RunInfo]) -> str | None:
    """The complete run with the best test accuracy, else the newest selectable run."""
    complete = [info for info in runs if info.status == STATUS_COMPLETE and info.record.get("test_accuracy") is not None]
    if complete:
        return max(complete, key=lambda info: info.record["test_accuracy"]).run_id
    selectable = selectable_runs(runs)
    return selectable[0] if selectable else None
