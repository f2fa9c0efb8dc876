"""Artifact damage, one kind at a time: the damaged run is listed as broken with its reason, the others stay intact.

Each test writes three real runs (tiny trained model, history, predictions),
damages one file of the middle one, and reads the folder the way the dashboard
does: ``runstore.list_runs`` for the listing, ``serving.models.load_run_model``
for the model.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

from runstore import list_runs, read_history, read_predictions, run_dir
from serving.models import ModelRefused, load_run_model
from tests.factories import make_run

RUN_IDS = ("alpha", "victim", "zulu")


def cut(path: Path, keep: float) -> None:
    """Truncate ``path`` to the fraction ``keep`` of its bytes, as a crash mid-write would."""
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def edit_record(folder: Path, change: Callable[[dict], object]) -> None:
    record = json.loads((folder / "run.json").read_text())
    replacement = change(record)
    (folder / "run.json").write_text(json.dumps(record if replacement is None else replacement))


def write_predictions(folder: Path, **arrays) -> None:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    (folder / "predictions.npz").write_bytes(buffer.getvalue())


def cut_history_mid_row(folder: Path) -> None:
    lines = (folder / "history.csv").read_text().splitlines(keepends=True)
    last = lines[-1]
    (folder / "history.csv").write_text("".join(lines[:-1]) + last[: len(last) // 2])


DAMAGE = {
    "run.json missing": (lambda folder: (folder / "run.json").unlink(), "run.json is missing"),
    "history.csv missing": (lambda folder: (folder / "history.csv").unlink(), "history.csv is missing"),
    "predictions.npz missing": (lambda folder: (folder / "predictions.npz").unlink(), "predictions.npz is missing"),
    "model.keras missing": (lambda folder: (folder / "model.keras").unlink(), "model.keras is missing"),
    "history.csv truncated mid-row": (cut_history_mid_row, "history.csv is truncated"),
    "history.csv truncated in its header": (lambda folder: cut(folder / "history.csv", 0.05), "history.csv lacks"),
    "history.csv holds text": (lambda folder: (folder / "history.csv").write_text("epoch,loss,accuracy,val_loss,val_accuracy\n0,oops,1,1,1\n"), "non-numeric"),
    "run.json invalid JSON": (lambda folder: cut(folder / "run.json", 0.5), "not valid JSON"),
    "run.json not an object": (lambda folder: edit_record(folder, lambda record: [record]), "JSON object"),
    "run.json wrong schema version": (lambda folder: edit_record(folder, lambda record: record.update(schema_version=99)), "schema_version 99"),
    "run.json field of the wrong type": (lambda folder: edit_record(folder, lambda record: record.update(epochs_run="3")), "epochs_run"),
    "run.json complete without results": (lambda folder: edit_record(folder, lambda record: record.update(test_accuracy=None)), "test_accuracy"),
    "predictions truncated": (lambda folder: cut(folder / "predictions.npz", 0.5), "predictions.npz cannot be read"),
    "predictions with 9 classes": (
        lambda folder: write_predictions(folder, y_true=np.zeros(200, dtype=np.int64), probs=np.full((200, 9), 1 / 9, dtype=np.float32)),
        "wrong shape",
    ),
    "predictions with mismatched lengths": (
        lambda folder: write_predictions(folder, y_true=np.zeros(150, dtype=np.int64), probs=np.full((200, 10), 0.1, dtype=np.float32)),
        "wrong shape",
    ),
    "predictions holding a pickled object": (
        lambda folder: write_predictions(folder, y_true=np.array([{"a": 1}], dtype=object), probs=np.full((1, 10), 0.1, dtype=np.float32)),
        "predictions.npz cannot be read",
    ),
    "predictions with labels out of range": (
        lambda folder: write_predictions(folder, y_true=np.full(200, 12, dtype=np.int64), probs=np.full((200, 10), 0.1, dtype=np.float32)),
        "labels 0-9",
    ),
}


@pytest.fixture
def artifacts(tmp_path) -> Path:
    folder = tmp_path / "artifacts"
    for seed, run_id in enumerate(RUN_IDS):
        make_run(folder, run_id, seed=seed, started_minutes_ago=60 - seed)
    return folder


def assert_only_victim_broken(artifacts: Path, reason: str) -> None:
    runs = {info.run_id: info for info in list_runs(artifacts)}
    assert set(runs) == set(RUN_IDS), "a damaged run must still be listed, and hide no other run"
    victim = runs["victim"]
    assert victim.is_broken and victim.status == "broken"
    assert any(reason in problem for problem in victim.problems), victim.problems
    for run_id in ("alpha", "zulu"):
        healthy = runs[run_id]
        assert not healthy.is_broken and healthy.status == "complete", healthy.problems
        assert len(read_history(healthy.path)) == 3
        assert read_predictions(healthy.path)[1].shape == (200, 10)


@pytest.mark.parametrize("kind", sorted(DAMAGE))
def test_each_kind_of_damage_breaks_only_its_run(artifacts, kind):
    damage, reason = DAMAGE[kind]
    damage(run_dir(artifacts, "victim"))
    assert_only_victim_broken(artifacts, reason)


def test_a_model_that_fails_to_load_is_refused_with_its_reason_and_the_others_load(artifacts):
    model_file = run_dir(artifacts, "victim") / "model.keras"
    cut(model_file, 0.5)
    with pytest.raises(ModelRefused, match="changed since training"):
        load_run_model(artifacts, "victim")
    for run_id in ("alpha", "zulu"):
        assert load_run_model(artifacts, run_id).output_shape == (None, 10)
    assert {info.run_id for info in list_runs(artifacts)} == set(RUN_IDS)


def test_a_model_with_a_matching_hash_that_keras_cannot_read_is_refused(artifacts):
    # The worst case: the file is damaged *and* run.json was rewritten to match it.
    folder = run_dir(artifacts, "victim")
    cut(folder / "model.keras", 0.5)
    digest = hashlib.sha256((folder / "model.keras").read_bytes()).hexdigest()
    edit_record(folder, lambda record: record.update(model_sha256=digest))
    with pytest.raises(ModelRefused, match="damaged") as refusal:
        load_run_model(artifacts, "victim")
    assert "victim" in str(refusal.value) and "Traceback" not in str(refusal.value)
    assert load_run_model(artifacts, "alpha").output_shape == (None, 10)


def test_stray_files_and_odd_folder_names_do_not_break_the_listing(artifacts):
    runs_folder = artifacts / "runs"
    (runs_folder / "notes.txt").write_text("not a run")
    (runs_folder / ".victim.tmp").mkdir()
    (runs_folder / "with space").mkdir()
    assert {info.run_id for info in list_runs(artifacts)} == set(RUN_IDS)


def test_an_empty_run_folder_is_listed_as_broken(artifacts):
    (artifacts / "runs" / "empty").mkdir()
    runs = {info.run_id: info for info in list_runs(artifacts)}
    assert runs["empty"].is_broken and "run.json is missing" in runs["empty"].problems[0]
    assert not runs["alpha"].is_broken


def test_history_cut_inside_its_last_number_is_noticed(artifacts):
    # Every CSVLogger row ends with a newline; a file without one lost its tail,
    # even when the cut left a shorter, still numeric, last value.
    history = run_dir(artifacts, "victim") / "history.csv"
    history.write_bytes(history.read_bytes()[:-5])
    assert_only_victim_broken(artifacts, "history.csv")


def test_a_truncated_model_is_listed_as_broken_before_anyone_loads_it(artifacts):
    cut(run_dir(artifacts, "victim") / "model.keras", 0.5)
    assert_only_victim_broken(artifacts, "model.keras")
