"""Replicate groups from run records: named groups, groups of one, stable order."""

import pytest

from runstore.groups import group_of, group_runs


def test_group_of_reads_the_group_field_else_the_run_id():
    assert group_of({"run_id": "r1", "group": "simple_cnn-b3"}) == "simple_cnn-b3"
    # A run written before groups existed (no field) or with an empty one is a group of one.
    assert group_of({"run_id": "old-run"}) == "old-run"
    assert group_of({"run_id": "old-run", "group": None}) == "old-run"


def test_group_of_refuses_a_record_with_neither_name():
    with pytest.raises(ValueError, match="run_id"):
        group_of({"model": "simple_cnn"})


def test_group_runs_keeps_first_seen_group_order_and_member_order():
    records = [
        {"run_id": "b-seed1", "group": "b"},
        {"run_id": "a-seed0", "group": "a"},
        {"run_id": "single"},
        {"run_id": "b-seed0", "group": "b"},
    ]
    groups = group_runs(records)
    assert list(groups) == ["b", "a", "single"]
    assert [record["run_id"] for record in groups["b"]] == ["b-seed1", "b-seed0"]
    assert [record["run_id"] for record in groups["single"]] == ["single"]
