"""Pure helpers behind the grouped dashboard views: leaderboard columns and filters, curve notes, comparison sides."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.group_curves import averaging_note, group_curve, training_images
from analysis.groups import display_table, filter_choices, grouped_leaderboard, groups_of_runs
from analysis.sides import GROUP_PREFIX, comparison_sides, default_pair, overlap


def _runs() -> pd.DataFrame:
    rows = [
        ("b3-s0", "b3", "complete", "simple_cnn", "adam", "demo", 0.70),
        ("b3-s1", "b3", "complete", "simple_cnn", "adam", "demo", 0.74),
        ("b3-s2", "b3", "running (epoch 2 done)", "simple_cnn", "adam", "demo", None),
        ("solo", "solo", "complete", "fast_cnn", "sgd", None, 0.65),
    ]
    frame = pd.DataFrame(rows, columns=["run", "group", "status", "model", "optimizer", "suite", "test accuracy"])
    for column in ("test loss", "best epoch", "epochs run", "learning rate", "trainable params", "total params",
                   "size (MB)", "training time (min)"):
        frame[column] = 1.0
    frame["weights"] = "random init"
    frame["problem"] = ""
    return frame


def test_display_table_keeps_accuracy_statistics_numeric_and_adds_the_rest_on_demand():
    board = grouped_leaderboard(_runs())
    shown = display_table(board.groups)
    assert list(shown["group"]) == ["b3", "solo"]
    assert list(shown.columns[:3]) == ["group", "runs", "status"]
    assert {"test accuracy mean", "test accuracy sd", "test accuracy min", "test accuracy max",
            "test loss mean", "test loss sd", "epochs run mean"} <= set(shown.columns)
    assert "epochs run sd" not in shown.columns
    assert shown["test accuracy mean"].dtype.kind == "f"  # sorts as numbers, not text
    assert shown.loc[0, "test accuracy mean"] == pytest.approx(0.72)
    assert shown.loc[0, "test accuracy min"] == pytest.approx(0.70)
    every = display_table(board.groups, every_statistic=True)
    assert {"epochs run sd", "epochs run min", "training time (min) max"} <= set(every.columns)


def test_filter_choices_offer_what_is_present_with_status_by_first_word():
    choices = filter_choices(_runs())
    assert choices == {"model": ["fast_cnn", "simple_cnn"], "optimizer": ["adam", "sgd"], "suite": ["demo"],
                       "status": ["complete", "running"]}


def test_a_group_shows_ticked_only_when_all_its_runs_are_chosen():
    board = grouped_leaderboard(_runs())
    assert groups_of_runs(board, ["b3-s0", "b3-s1", "b3-s2", "solo"]) == ["b3", "solo"]
    assert groups_of_runs(board, ["b3-s0", "solo"]) == ["solo"]
    assert groups_of_runs(board, []) == []


def test_training_images_reads_the_recorded_size():
    assert training_images({"data": {"train_images": 5000}}) == 5000
    assert training_images({"data": {"counts": {"train": 200}}}) == 200
    assert training_images({"data": {}, "config": {"train_limit": 2000}}) == 2000
    assert training_images({"data": {}}) is None


def _history(epochs: int) -> pd.DataFrame:
    return pd.DataFrame({"epoch": range(epochs), "val_accuracy": [0.1 * (epoch + 1) for epoch in range(epochs)]})


def test_averaging_note_names_the_points_that_average_fewer_runs():
    curves = {"b3": group_curve([_history(6), _history(4), _history(6)], "val_accuracy"),
              "full": group_curve([_history(3), _history(3)], "val_accuracy")}
    assert averaging_note(curves) == ("Where members stopped early, points average fewer runs: "
                                      "b3 epochs 5–6 average 2 of 3 runs.")
    assert averaging_note({"full": curves["full"]}) is None


def _record(run_id: str, accuracy: float, group: str | None = None) -> dict:
    record = {"run_id": run_id, "model": "simple_cnn", "test_accuracy": accuracy}
    if group:
        record["group"] = group
    return record


def test_sides_list_groups_with_n_first_then_every_run():
    records = {record["run_id"]: record for record in [
        _record("a-s0", 0.60, "a"), _record("a-s1", 0.62, "a"),
        _record("b-s0", 0.70, "b"), _record("b-s1", 0.74, "b"), _record("b-s2", 0.72, "b"),
        _record("solo", 0.80),
    ]}
    sides = comparison_sides(records)
    assert list(sides)[:2] == [GROUP_PREFIX + "b", GROUP_PREFIX + "a"]  # best mean first
    assert list(sides)[2:] == list(records)
    group_b = sides[GROUP_PREFIX + "b"]
    assert group_b.is_group and group_b.name == "b" and group_b.run_ids == ("b-s0", "b-s1", "b-s2")
    assert group_b.label == "group b · n=3 · mean 72.0%"
    assert not sides["solo"].is_group and sides["solo"].label == "solo · simple_cnn · 80.0%"
    assert default_pair(sides) == (GROUP_PREFIX + "a", GROUP_PREFIX + "b")
    assert overlap(sides[GROUP_PREFIX + "b"], sides["b-s1"]) == ["b-s1"]


def test_default_pair_never_puts_a_run_against_its_own_group():
    records = {record["run_id"]: record for record in [_record("a-s0", 0.6, "a"), _record("a-s1", 0.7, "a")]}
    sides = comparison_sides(records)
    assert default_pair(sides) == ("a-s1", "a-s0")
    with pytest.raises(ValueError, match="two finished runs"):
        default_pair(comparison_sides({"solo": _record("solo", 0.5)}))
