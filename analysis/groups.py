"""Replicate groups on the leaderboard: per-group n, mean, sd, min and max, filters and sorting.

Usage::

    from analysis.groups import grouped_leaderboard, filter_runs, run_frame
    runs = run_frame(infos)                                  # one row per run, with group and suite
    shown = filter_runs(runs, model=["simple_cnn"], text="b3")
    board = grouped_leaderboard(shown)                       # one row per group, best mean accuracy first
    board.members["simple_cnn-b3"]                           # that group's runs, to expand

A run without a ``group`` is a group of one (``runstore.groups``), so older
runs stay single rows. Statistics use the runs that have the number (a running
or broken run has no test accuracy); ``sd`` is the sample standard deviation
(n - 1), undefined (NaN) for fewer than two values.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.leaderboard import leaderboard_frame
from runstore.groups import group_of
from runstore.reader import RunInfo

# Numeric leaderboard columns summarised per group.
NUMERIC_COLUMNS = ("test accuracy", "test loss", "best epoch", "epochs run", "learning rate",
                   "trainable params", "total params", "size (MB)", "training time (min)")
STATISTICS = ("n", "mean", "sd", "min", "max")
# Settings shown once per group: replicates share them, so several values mean the group is mixed.
SHARED_COLUMNS = ("model", "optimizer", "weights", "suite")


def run_frame(runs: Sequence[RunInfo]) -> pd.DataFrame:
    """The leaderboard's per-run rows plus ``group`` and ``suite`` columns (in leaderboard order)."""
    frame = leaderboard_frame(runs)
    records = {info.run_id: info.record or {} for info in runs}
    frame.insert(1, "group", [group_of(records[run_id]) if records[run_id] else run_id for run_id in frame["run"]])
    frame["suite"] = [records[run_id].get("suite") for run_id in frame["run"]]
    return frame


def group_statistics(values: Iterable) -> dict[str, float]:
    """``n``, ``mean``, ``sd`` (sample, n - 1), ``min`` and ``max`` of the numbers in ``values`` (None/NaN skipped)."""
    numbers = np.array([float(value) for value in values if value is not None and not pd.isna(value)], dtype=np.float64)
    if numbers.size == 0:
        return {"n": 0, "mean": np.nan, "sd": np.nan, "min": np.nan, "max": np.nan}
    return {
        "n": int(numbers.size),
        "mean": float(numbers.mean()),
        "sd": float(numbers.std(ddof=1)) if numbers.size > 1 else np.nan,
        "min": float(numbers.min()),
        "max": float(numbers.max()),
    }


def _shared(values: pd.Series) -> object:
    distinct = list(dict.fromkeys(value for value in values if value is not None and not pd.isna(value)))
    if not distinct:
        return None
    return distinct[0] if len(distinct) == 1 else "mixed: " + ", ".join(map(str, distinct))


def _status(values: pd.Series) -> str:
    counts = values.value_counts()
    return ", ".join(f"{count} {status}" for status, count in counts.items())


@dataclass(frozen=True)
class GroupedLeaderboard:
    """One row per group (``groups``) and each group's runs (``members``) for expanding a row."""

    groups: pd.DataFrame
    members: dict[str, pd.DataFrame]


def grouped_leaderboard(runs: pd.DataFrame) -> GroupedLeaderboard:
    """Summarise ``run_frame`` rows by group: best mean test accuracy first, groups without one last.

    Columns: ``group``, ``runs``, ``status``, the shared settings, then for each
    numeric column ``<column> n|mean|sd|min|max``.
    """
    rows, members = [], {}
    for group, frame in runs.groupby("group", sort=False):
        members[group] = frame.reset_index(drop=True)
        row = {"group": group, "runs": len(frame), "status": _status(frame["status"])}
        row.update({column: _shared(frame[column]) for column in SHARED_COLUMNS if column in frame})
        for column in NUMERIC_COLUMNS:
            for statistic, value in group_statistics(frame[column]).items():
                row[f"{column} {statistic}"] = value
        rows.append(row)
    columns = (["group", "runs", "status"] + [column for column in SHARED_COLUMNS if column in runs]
               + [f"{column} {statistic}" for column in NUMERIC_COLUMNS for statistic in STATISTICS])
    table = pd.DataFrame(rows, columns=columns)
    table = sort_table(table, "test accuracy mean", ascending=False)
    return GroupedLeaderboard(table, members)


def filter_runs(runs: pd.DataFrame, *, model: Sequence[str] | None = None, optimizer: Sequence[str] | None = None,
                suite: Sequence[str] | None = None, status: Sequence[str] | None = None, text: str = "") -> pd.DataFrame:
    """Rows of ``run_frame`` matching every given filter (None or empty keeps all).

    ``status`` matches the status's first word, so "running" keeps "running (epoch 3 done)".
    ``text`` is a case-insensitive substring searched in run, group, model, optimizer, suite and problem.
    """
    keep = np.ones(len(runs), dtype=bool)
    for column, wanted in (("model", model), ("optimizer", optimizer), ("suite", suite)):
        if wanted:
            keep &= runs[column].isin(list(wanted)).to_numpy()
    if status:
        keep &= runs["status"].astype(str).str.split(" ").str[0].isin(list(status)).to_numpy()
    text = text.strip().lower()
    if text:
        columns = runs[["run", "group", "model", "optimizer", "suite", "problem"]]
        searched = columns.map(lambda value: "" if value is None or pd.isna(value) else str(value)).agg(" ".join, axis=1)
        keep &= searched.str.lower().str.contains(text, regex=False).to_numpy()
    return runs[keep].reset_index(drop=True)


def sort_table(frame: pd.DataFrame, column: str, ascending: bool = True) -> pd.DataFrame:
    """``frame`` sorted by ``column`` (missing values last, ties in their current order)."""
    if column not in frame.columns:
        raise ValueError(f"Cannot sort by {column!r}: the table's columns are {', '.join(frame.columns)}.")
    return frame.sort_values(column, ascending=ascending, na_position="last", kind="stable").reset_index(drop=True)


# The columns every grouped view shows; the rest of ``NUMERIC_COLUMNS`` only when asked for.
HEADLINE_STATISTICS = {"test accuracy": STATISTICS[1:], "test loss": ("mean", "sd")}
FILTERED_COLUMNS = ("model", "optimizer", "suite", "status")


def display_table(groups: pd.DataFrame, every_statistic: bool = False) -> pd.DataFrame:
    """The columns of ``grouped_leaderboard(...).groups`` a page shows, numbers kept numeric for sorting.

    Always: group, runs, status, shared settings, test accuracy mean, sd, min and
    max (``runs`` is n), test loss mean and sd, and the mean of the other numeric
    columns. ``every_statistic`` adds sd, min and max of every numeric column.
    """
    columns = ["group", "runs", "status"] + [column for column in SHARED_COLUMNS if column in groups]
    for column in NUMERIC_COLUMNS:
        wanted = STATISTICS[1:] if every_statistic else HEADLINE_STATISTICS.get(column, ("mean",))
        columns.extend(f"{column} {statistic}" for statistic in wanted)
    return groups[columns]


def filter_choices(runs: pd.DataFrame) -> dict[str, list[str]]:
    """The values each leaderboard filter offers: models, optimizers, suites and statuses (first word) present."""
    choices = {}
    for column in FILTERED_COLUMNS:
        values = runs[column].dropna().astype(str)
        if column == "status":
            values = values.str.split(" ").str[0]
        choices[column] = sorted(set(values))
    return choices


def groups_of_runs(board: GroupedLeaderboard, run_ids: Iterable[str]) -> list[str]:
    """The groups (in table order) all of whose runs are in ``run_ids``: the rows to show ticked."""
    chosen = set(run_ids)
    return [group for group in board.groups["group"]
            if chosen and set(board.members[group]["run"]) <= chosen]
