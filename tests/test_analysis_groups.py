"""Grouped leaderboard: statistics against hand-computed values, single runs as groups of one, filters, sorting."""

import math

import pandas as pd
import pytest

from analysis.groups import filter_runs, group_statistics, grouped_leaderboard, run_frame, sort_table
from runstore.reader import RunInfo
from tests.analysis_fixtures import run_record


def info(run_id, accuracy, group=None, **changes):
    record = run_record(run_id, accuracy, **changes)
    if group:
        record["group"] = group
    return RunInfo(run_id=run_id, path=None, record=record)


RUNS = [
    info("b3-s0", 0.50, group="b3", train_seconds=60.0, suite="demo"),
    info("b3-s1", 0.56, group="b3", train_seconds=120.0, suite="demo"),
    info("b3-s2", 0.53, group="b3", train_seconds=90.0, suite="demo"),
    info("old-run", 0.40, optimizer="sgd"),
    info("fast", 0.70, model="fast_cnn", group="fast", suite="demo"),
]


def test_group_statistics_by_hand():
    stats = group_statistics([0.50, 0.56, 0.53, None, float("nan")])
    assert stats["n"] == 3
    assert stats["mean"] == pytest.approx(0.53)
    # Deviations -0.03, 0.03, 0: sum of squares 0.0018, over n - 1 = 2 -> 0.0009, sd 0.03.
    assert stats["sd"] == pytest.approx(0.03)
    assert (stats["min"], stats["max"]) == (0.50, 0.56)
    single = group_statistics([0.4])
    assert single["n"] == 1 and math.isnan(single["sd"]) and single["mean"] == 0.4
    assert group_statistics([])["n"] == 0


def test_grouped_leaderboard_one_row_per_group_with_members():
    board = grouped_leaderboard(run_frame(RUNS))
    table = board.groups
    assert table["group"].tolist() == ["fast", "b3", "old-run"]  # best mean accuracy first
    b3 = table.set_index("group").loc["b3"]
    assert b3["runs"] == 3 and b3["status"] == "3 complete"
    assert b3["test accuracy mean"] == pytest.approx(0.53)
    assert b3["test accuracy sd"] == pytest.approx(0.03)
    assert b3["training time (min) mean"] == pytest.approx(1.5)
    assert (b3["training time (min) min"], b3["training time (min) max"]) == (1.0, 2.0)
    assert b3["model"] == "simple_cnn" and b3["suite"] == "demo"
    # A run without a group (schema-1 run) stays a single row, its own group of one.
    old = table.set_index("group").loc["old-run"]
    assert old["runs"] == 1 and math.isnan(old["test accuracy sd"])
    assert sorted(board.members["b3"]["run"]) == ["b3-s0", "b3-s1", "b3-s2"]


def test_a_mixed_group_shows_every_value_of_a_shared_setting():
    runs = [info("m0", 0.5, group="m"), info("m1", 0.5, group="m", optimizer="sgd")]
    assert grouped_leaderboard(run_frame(runs)).groups.loc[0, "optimizer"] == "mixed: adam, sgd"


def test_filters_by_model_optimizer_suite_status_and_text():
    runs = run_frame(RUNS + [info("live", 0.0, group="b3", status="running", latest_epoch=1, test_accuracy=None)])
    assert set(filter_runs(runs, model=["fast_cnn"])["run"]) == {"fast"}
    assert set(filter_runs(runs, optimizer=["sgd"])["run"]) == {"old-run"}
    assert set(filter_runs(runs, suite=["demo"])["run"]) == {"b3-s0", "b3-s1", "b3-s2", "fast"}
    assert set(filter_runs(runs, status=["running"])["run"]) == {"live"}
    assert set(filter_runs(runs, text="B3-S")["run"]) == {"b3-s0", "b3-s1", "b3-s2"}
    assert len(filter_runs(runs)) == len(runs)
    # The running member has no test accuracy: n counts only runs with one.
    b3 = grouped_leaderboard(runs).groups.set_index("group").loc["b3"]
    assert b3["runs"] == 4 and b3["test accuracy n"] == 3 and b3["status"] == "3 complete, 1 running (epoch 2 done)"


def test_sort_table_any_column_missing_last():
    frame = pd.DataFrame({"name": ["a", "b", "c"], "value": [2.0, None, 1.0]})
    assert sort_table(frame, "value")["name"].tolist() == ["c", "a", "b"]
    assert sort_table(frame, "value", ascending=False)["name"].tolist() == ["a", "c", "b"]
    with pytest.raises(ValueError, match="Cannot sort by"):
        sort_table(frame, "nope")
