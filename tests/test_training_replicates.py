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


@pytest.mark.slow
def test_seeds_train_one_replicate_each_in_one_group_on_the_same_data(tmp_path):
    import json

    import numpy as np

    from runstore import read_predictions
    from tests.training_fixtures import synthetic_cifar
    from training.config import RunConfig
    from training.train import run_training

    values = {"model": "simple_cnn", "blocks": 1, "epochs": 1, "batch_size": 16, "validation_size": 40, "augment": False,
              "run_id": "rep", "artifacts_dir": str(tmp_path)}
    data = synthetic_cifar(train_count=200, test_count=40)
    for replicate in expand_seeds(values, [0, 1]):
        run_training(RunConfig.from_dict(replicate), data=data, verbose=0)
    folders = [tmp_path / "runs" / run_id for run_id in ("rep-s0", "rep-s1")]
    records = [json.loads((folder / "run.json").read_text()) for folder in folders]
    assert [record["status"] for record in records] == ["complete", "complete"]
    assert [record["group"] for record in records] == ["rep", "rep"]
    assert [record["seed"] for record in records] == [0, 1]
    # The same images (split_seed is fixed), different training randomness.
    assert records[0]["data"] == records[1]["data"]
    assert not np.allclose(read_predictions(folders[0])[1], read_predictions(folders[1])[1])


def test_suite_entries_with_seeds_expand_into_groups_and_questions_are_checked(tmp_path):
    import json

    from training.config import ConfigError
    from training.suites import get_suite

    suite = {"t": {"description": "test", "defaults": {"model": "simple_cnn", "epochs": 1, "train_limit": 100},
                   "runs": [{"run_id": "t-b1", "blocks": 1, "seeds": [0, 1, 2]}, {"run_id": "t-b2", "blocks": 2, "seeds": [0, 1, 2]},
                            {"run_id": "t-one", "blocks": 3}],
                   "questions": [{"title": "Depth?", "factor": "blocks", "groups": ["t-b1", "t-b2"]}]}}
    path = tmp_path / "suites.json"
    path.write_text(json.dumps(suite))
    loaded = get_suite("t", path=path)
    assert [config.run_id for config in loaded.runs] == ["t-b1-s0", "t-b1-s1", "t-b1-s2", "t-b2-s0", "t-b2-s1", "t-b2-s2", "t-one"]
    assert [config.group for config in loaded.runs] == ["t-b1"] * 3 + ["t-b2"] * 3 + ["t-one"]
    assert loaded.questions[0]["factor"] == "blocks"
    suite["t"]["runs"][1]["train_limit"] = 200
    path.write_text(json.dumps(suite))
    with pytest.raises(ConfigError, match=r"also differ in train_limit \(t-b1=100, t-b2=200\)"):
        get_suite("t", path=path)
    suite["t"]["runs"][1]["seeds"] = "0,1"
    path.write_text(json.dumps(suite))
    with pytest.raises(ConfigError, match="'seeds' must be a list"):
        get_suite("t", path=path)
