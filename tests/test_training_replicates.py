"""Seeds as replicates: parsing, expansion into runs of one group, and group names."""

from __future__ import annotations

import pytest

from training.replicates import expand_seeds, group_name, parse_seeds


@pytest.mark.parametrize("text, seeds", [("0,1,2", [0, 1, 2]), ("3", [3]), ("0-3", [0, 1, 2, 3]), ("5, 7,", [5, 7]), ("0-1,9", [0, 1, 9])])
def test_parse_seeds_reads_lists_and_ranges(text, seeds):
    assert parse_seeds(text) == seeds


@pytest.mark.parametrize("text, says", [("", "No seeds"), ("a,b", "whole numbers"), ("1,1", "repeat"), ("-1", "0 or more"),
                                        ("4-2", "whole numbers"), ("0-200", "more than")])
def test_parse_seeds_refuses_bad_input_with_a_sentence(text, says):
    with pytest.raises(ValueError, match=says):
        parse_seeds(text)


def test_replicates_share_a_group_and_differ_only_in_seed_and_run_id():
    values = {"model": "simple_cnn", "blocks": 1, "epochs": 2, "run_id": "depth-b1"}
    runs = expand_seeds(values, [0, 1, 2])
    assert [run["run_id"] for run in runs] == ["depth-b1-s0", "depth-b1-s1", "depth-b1-s2"]
    assert {run["group"] for run in runs} == {"depth-b1"}
    assert [run["seed"] for run in runs] == [0, 1, 2]
    for run in runs:
        differing = {key for key in run if run[key] != values.get(key)}
        assert differing <= {"run_id", "seed", "group"}


def test_an_explicit_group_wins_and_no_seeds_leaves_the_config_alone():
    runs = expand_seeds({"model": "fast_cnn", "run_id": "fast", "group": "recipe"}, [4, 5])
    assert {run["group"] for run in runs} == {"recipe"}
    assert expand_seeds({"model": "fast_cnn"}, None) == [{"model": "fast_cnn"}]


def test_group_name_ignores_seed_and_paths_but_not_settings():
    base = {"model": "simple_cnn", "blocks": 3, "optimizer": "adam", "learning_rate": 0.001, "epochs": 4,
            "train_limit": 2000, "seed": 0, "run_id": "a", "artifacts_dir": "/x"}
    same = {**base, "seed": 7, "run_id": "b", "artifacts_dir": "/y", "suite": "demo"}
    other = {**base, "label_smoothing": 0.1}
    assert group_name(base) == group_name(same)
    assert group_name(base) != group_name(other)
    assert group_name(base).startswith("simple_cnn-b3-adam-lr0.001-e4-n2000-")
