"""The many-runs benchmark's folder builder (bench/dashboard_server.py): replicate copies that follow the contract."""

import sys
from collections import Counter
from pathlib import Path

import pytest

from runstore import SCHEMA_VERSION, list_runs
from runstore.reader import read_run_record
from tests.factories import make_run

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))  # bench scripts import their neighbours
from dashboard_server import finished_runs, make_many_runs  # noqa: E402


@pytest.fixture(scope="module")
def templates(tmp_path_factory):
    """Two finished fixture runs and one failed one (never copied)."""
    source = tmp_path_factory.mktemp("source")
    make_run(source, "tiny-a", seed=0, epochs=3)
    make_run(source, "tiny-b", model="fast_cnn", seed=1, epochs=4)
    make_run(source, "tiny-failed", status="failed")
    return source


def test_finished_runs_are_the_templates(templates):
    assert sorted(info.run_id for info in finished_runs(templates)) == ["tiny-a", "tiny-b"]


def test_fifty_groups_of_ten_schema_valid_replicates(templates, tmp_path):
    sources = finished_runs(templates)
    folders = make_many_runs(tmp_path, sources, groups=50, seeds=10)
    assert len(folders) == 500
    runs = list_runs(tmp_path)  # the strict reader: history, model size and predictions checked
    assert len(runs) == 500
    assert [info.run_id for info in runs if info.status != "complete"] == []
    records = [read_run_record(info.path) for info in runs]
    assert all(record["schema_version"] == SCHEMA_VERSION for record in records)
    sizes = Counter(record["group"] for record in records)
    assert len(sizes) == 50 and set(sizes.values()) == {10}
    for group in sizes:
        members = [record for record in records if record["group"] == group]
        assert sorted(record["seed"] for record in members) == list(range(10))
        assert len({record["model"] for record in members}) == 1
        accuracies = [record["test_accuracy"] for record in members]
        assert len(set(accuracies)) > 1  # jittered, so a group has a spread
    assert {record["model"] for record in records} == {"simple_cnn", "fast_cnn"}
    copy, source = folders[3], sources[0].path  # group 0, seed 3: a copy of the first template, files and all
    assert copy.name == f"{sources[0].record['model']}-cfg00-s3" == read_run_record(copy)["run_id"]
    for name in ("model.keras", "predictions.npz", "history.csv"):
        assert (copy / name).read_bytes() == (source / name).read_bytes()


def test_nothing_to_copy_is_refused_with_a_reason(tmp_path):
    with pytest.raises(ValueError, match="at least one complete run"):
        make_many_runs(tmp_path, [], groups=2, seeds=2)
