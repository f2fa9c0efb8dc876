"""The run-folder contract: atomic writes, run.json validation, and a reader that survives damage."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from runstore import (
    BrokenRun,
    atomic_write_json,
    atomic_write_text,
    list_runs,
    read_history,
    read_predictions,
    read_run_record,
    run_dir,
)
from runstore.layout import resolve_artifacts_dir, validate_run_id
from runstore.schema import SchemaError, validate_run_record
from tests.analysis_fixtures import run_record

HISTORY = "accuracy,elapsed_seconds,epoch,learning_rate,loss,val_accuracy,val_loss\n"


def complete_record(run_id: str = "run-a", **overrides) -> dict:
    """A valid complete run.json payload (the shared fixture record, without a model size to check)."""
    record = run_record(run_id, 0.5, **overrides)
    if "model_bytes" not in overrides:
        del record["model_bytes"]
    return record


def write_complete_run(artifacts: Path, run_id: str, rows: int = 20, **overrides) -> Path:
    folder = run_dir(artifacts, run_id)
    atomic_write_json(folder / "run.json", complete_record(run_id, **overrides))
    atomic_write_text(
        folder / "history.csv",
        "epoch,accuracy,loss,val_accuracy,val_loss\n0,0.3,2.0,0.35,1.9\n1,0.5,1.4,0.45,1.6\n",
    )
    (folder / "model.keras").write_bytes(b"PK placeholder")
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(10), size=rows).astype(np.float32)
    np.savez(folder / "predictions.npz", y_true=rng.integers(0, 10, rows), probs=probs)
    return folder


def test_atomic_write_leaves_no_temporary_files(tmp_path):
    target = tmp_path / "sub" / "file.json"
    atomic_write_json(target, {"b": 1, "a": np.float32(0.5)})
    assert json.loads(target.read_text()) == {"a": 0.5, "b": 1}
    assert [p.name for p in target.parent.iterdir()] == ["file.json"]


def test_atomic_write_keeps_old_file_when_serialisation_fails(tmp_path):
    target = tmp_path / "run.json"
    atomic_write_json(target, {"ok": True})
    with pytest.raises(ValueError):
        atomic_write_json(target, {"bad": float("nan")})
    assert json.loads(target.read_text()) == {"ok": True}
    assert [p.name for p in tmp_path.iterdir()] == ["run.json"]


@pytest.mark.parametrize("bad_id", ["../escape", "", ".hidden", "a/b", "x" * 200, "a..b"])
def test_run_ids_that_could_escape_the_runs_folder_are_refused(bad_id):
    with pytest.raises(ValueError, match="Invalid run id"):
        validate_run_id(bad_id)


def test_artifacts_dir_comes_from_argument_then_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("ARTIFACTS_DIR", str(tmp_path / "env"))
    assert resolve_artifacts_dir() == (tmp_path / "env").resolve()
    assert resolve_artifacts_dir(tmp_path / "arg") == (tmp_path / "arg").resolve()


def test_from_the_checkout_the_default_artifacts_folder_is_the_checkouts_whatever_the_current_folder(tmp_path, monkeypatch):
    # An installed copy (no pyproject.toml beside the packages) uses ./artifacts instead: tests/test_install.py.
    monkeypatch.delenv("ARTIFACTS_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    assert resolve_artifacts_dir() == Path(__file__).resolve().parents[1] / "artifacts"


def test_valid_record_passes_and_each_violation_is_named():
    validate_run_record(complete_record())
    with pytest.raises(SchemaError, match="schema_version 99"):
        validate_run_record(complete_record(schema_version=99))
    with pytest.raises(SchemaError, match="'test_accuracy' should be"):
        validate_run_record(complete_record(test_accuracy="high"))
    with pytest.raises(SchemaError, match="status 'done'"):
        validate_run_record(complete_record(status="done"))
    with pytest.raises(SchemaError, match="must say why"):
        validate_run_record(complete_record(status="failed", error=None))
    with pytest.raises(SchemaError, match="complete run lacks test_accuracy"):
        validate_run_record(complete_record(test_accuracy=None))
    record = complete_record()
    del record["optimizer"]
    with pytest.raises(SchemaError, match="lacks the field 'optimizer'"):
        validate_run_record(record)


def test_booleans_are_not_numbers():
    with pytest.raises(SchemaError, match="learning_rate"):
        validate_run_record(complete_record(learning_rate=True))


def test_list_runs_reports_each_kind_of_damage_and_keeps_the_healthy_run(tmp_path):
    write_complete_run(tmp_path, "healthy")
    (write_complete_run(tmp_path, "no-model") / "model.keras").unlink()
    (write_complete_run(tmp_path, "bad-json") / "run.json").write_text("{not json")
    write_complete_run(tmp_path, "old-schema", schema_version=0)
    history = write_complete_run(tmp_path, "torn-history") / "history.csv"
    history.write_text(history.read_text()[:-12])
    folder = write_complete_run(tmp_path, "wrong-shape")
    np.savez(folder / "predictions.npz", y_true=np.zeros(5, dtype=int), probs=np.zeros((5, 7)))
    (write_complete_run(tmp_path, "no-history") / "history.csv").unlink()
    (tmp_path / "runs" / ".tmp-ignored").mkdir()

    runs = {info.run_id: info for info in list_runs(tmp_path)}
    assert set(runs) == {"healthy", "no-model", "bad-json", "old-schema", "torn-history", "wrong-shape", "no-history"}
    assert runs["healthy"].status == "complete" and not runs["healthy"].problems
    expected = {
        "no-model": "model.keras is missing",
        "bad-json": "not valid JSON",
        "old-schema": "schema_version 0",
        "torn-history": "history.csv",
        "wrong-shape": "wrong shape",
        "no-history": "history.csv is missing",
    }
    for run_id, phrase in expected.items():
        assert runs[run_id].status == "broken", run_id
        assert phrase in " ".join(runs[run_id].problems), (run_id, runs[run_id].problems)


def test_running_run_whose_process_died_is_interrupted(tmp_path):
    import socket
    import subprocess
    import sys

    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(finished.stdout)
    folder = run_dir(tmp_path, "killed")
    atomic_write_json(
        folder / "run.json",
        complete_record("killed", status="running", test_accuracy=None, pid=dead_pid, host=socket.gethostname()),
    )
    live = run_dir(tmp_path, "live")
    atomic_write_json(
        live / "run.json",
        complete_record("live", status="running", test_accuracy=None, pid=os.getpid(), host=socket.gethostname()),
    )
    runs = {info.run_id: info for info in list_runs(tmp_path)}
    assert runs["killed"].status == "interrupted"
    assert runs["live"].status == "running"


def test_read_history_sorts_by_epoch_and_reads_keras_na(tmp_path):
    (tmp_path / "history.csv").write_text(HISTORY + "0.5,2.0,1,0.001,1.0,0.4,NA\n0.3,1.0,0,0.001,2.0,0.3,1.9\n")
    frame = read_history(tmp_path)
    assert frame["epoch"].tolist() == [0, 1]
    assert np.isnan(frame.loc[1, "val_loss"])


def test_read_predictions_refuses_pickled_objects(tmp_path):
    np.savez(tmp_path / "predictions.npz", y_true=np.array([object()], dtype=object), probs=np.zeros((1, 10)))
    with pytest.raises(BrokenRun, match="holds Python objects"):
        read_predictions(tmp_path)


def test_garbage_predictions_file_is_named_without_mentioning_pickle(tmp_path):
    (tmp_path / "predictions.npz").write_bytes(b"garbage that is no zip archive")
    with pytest.raises(BrokenRun, match="predictions.npz") as caught:
        read_predictions(tmp_path)
    assert "allow_pickle" not in str(caught.value)


def test_read_predictions_returns_typed_arrays(tmp_path):
    np.savez(tmp_path / "predictions.npz", y_true=np.array([1, 2], dtype=np.uint8), probs=np.full((2, 10), 0.1))
    y_true, probs = read_predictions(tmp_path, expected_count=2)
    assert y_true.dtype == np.int64 and probs.dtype == np.float32 and probs.shape == (2, 10)


def test_suite_records_round_trip_and_a_damaged_one_is_reported(tmp_path):
    from runstore.suite_record import read_suite_records, write_suite_record

    question = {"title": "Depth?", "factor": "blocks", "groups": ["a", "b"], "equal": ["epochs"]}
    write_suite_record(tmp_path, "demo", "the demo", [question])
    (tmp_path / "suites" / "broken.json").write_text("{not json")
    records, problems = read_suite_records(tmp_path)
    assert records == [{"name": "demo", "description": "the demo", "questions": [question]}]
    assert len(problems) == 1 and problems[0].startswith("broken.json cannot be read")
    assert read_suite_records(tmp_path / "nowhere") == ([], [])


def test_a_schema_1_record_reads_as_a_trained_group_of_one(tmp_path):
    folder = write_complete_run(tmp_path, "old-run")
    assert json.loads((folder / "run.json").read_text())["schema_version"] == 1
    record = read_run_record(folder)
    assert (record["schema_version"], record["group"], record["source"]) == (3, "old-run", "trained")


def test_a_schema_2_run_reads_as_schema_3_without_validation_predictions(tmp_path):
    from runstore import read_validation_predictions

    current = {**complete_record(), "schema_version": 2, "group": "g", "source": "trained"}
    assert validate_run_record(current)["schema_version"] == 3
    assert read_validation_predictions(tmp_path) is None  # the file is optional: older runs have none
    (tmp_path / "validation_predictions.npz").write_bytes(b"not an archive")
    with pytest.raises(BrokenRun, match="validation_predictions.npz is not a valid .npz archive"):
        read_validation_predictions(tmp_path)


def test_schema_2_names_group_and_source_and_lets_an_import_leave_unknowns_empty():
    current = {**complete_record(), "schema_version": 2, "group": "g", "source": "imported",
               "best_epoch": None, "train_seconds": None, "learning_rate": None}
    assert validate_run_record(current)["group"] == "g"
    with pytest.raises(SchemaError, match="complete run lacks best_epoch, train_seconds"):
        validate_run_record({**current, "source": "trained"})
    with pytest.raises(SchemaError, match="source 'elsewhere' is not one of"):
        validate_run_record({**current, "source": "elsewhere"})
    without_group = {key: value for key, value in current.items() if key != "group"}
    with pytest.raises(SchemaError, match="lacks the field 'group'"):
        validate_run_record(without_group)
