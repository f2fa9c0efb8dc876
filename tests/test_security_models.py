"""load_run_model: only verified Keras 3 files inside the artifacts folder load, in safe mode, and nothing runs.

The planted model carries a Lambda layer whose Python code writes a marker file
whenever Keras rebuilds the model. A control load with safe mode off proves the
payload is real; the app's loader must refuse it and the marker must never appear.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import zipfile
from pathlib import Path

import keras
import numpy as np
import pytest

from runstore import atomic_write_json, run_dir
from serving import models
from serving.models import ModelRefused, load_run_model, model_input_size
from tests.factories import make_run, synthetic_test_set, tiny_model


def record_model(folder: Path, model_bytes: bytes) -> None:
    """Replace a run's model file and record its SHA-256 in run.json, as training would."""
    (folder / "model.keras").write_bytes(model_bytes)
    record = json.loads((folder / "run.json").read_text())
    record["model_sha256"] = hashlib.sha256(model_bytes).hexdigest()
    record["model_bytes"] = len(model_bytes)
    atomic_write_json(folder / "run.json", record)


def saved_bytes(model, folder: Path) -> bytes:
    path = folder / "scratch.keras"
    model.save(path)
    data = path.read_bytes()
    path.unlink()
    return data


def planted_lambda_model(marker: Path):
    """A working classifier whose Lambda writes ``marker`` each time its graph is built or run."""
    inputs = keras.Input(shape=(32, 32, 3))
    # A Python lambda is stored as bytecode in the .keras file. Built from
    # source so the marker's path is a constant inside that bytecode.
    payload = eval(f"lambda x: (open({str(marker)!r}, 'w').write('code ran'), x)[1]")  # noqa: S307 - test payload
    tripwire = keras.layers.Lambda(payload)
    features = keras.layers.GlobalAveragePooling2D()(tripwire(inputs))
    outputs = keras.layers.Dense(10, activation="softmax")(features)
    return keras.Model(inputs, outputs)


@pytest.fixture
def artifacts(tmp_path, monkeypatch) -> Path:
    """An artifacts folder with one good run; private temporary copies go to a folder we can inspect."""
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(scratch))
    folder = tmp_path / "artifacts"
    make_run(folder, "good")
    return folder


def test_a_verified_model_loads_and_predicts_like_the_trained_one(artifacts, tmp_path):
    model = load_run_model(artifacts, "good")
    images, _ = synthetic_test_set(16)
    expected = np.asarray(tiny_model()(images.astype("float32"), training=False))
    np.testing.assert_allclose(np.asarray(model(images.astype("float32"), training=False)), expected, atol=1e-5)
    assert model_input_size(model) == 32
    # The private copy Keras loaded from is gone.
    assert list((tmp_path / "scratch").iterdir()) == []


def test_a_planted_lambda_model_is_refused_and_its_code_never_runs(artifacts, tmp_path):
    marker = tmp_path / "pwned.txt"
    model_bytes = saved_bytes(planted_lambda_model(marker), tmp_path)
    marker.unlink()  # building the model ran the lambda once; start clean
    evil = run_dir(artifacts, "evil")
    shutil.copytree(run_dir(artifacts, "good"), evil)
    record_model(evil, model_bytes)

    with pytest.raises(ModelRefused) as refusal:
        load_run_model(artifacts, "evil")
    assert "Lambda" in str(refusal.value) and "foreign code" in str(refusal.value)
    assert not marker.exists()

    # Control: the payload is real. Keras with safe mode off runs it.
    keras.saving.load_model(evil / "model.keras", safe_mode=False, compile=False)
    assert marker.read_text() == "code ran"


def test_keras_safe_mode_alone_also_refuses_the_lambda(artifacts, tmp_path, monkeypatch):
    marker = tmp_path / "pwned.txt"
    model_bytes = saved_bytes(planted_lambda_model(marker), tmp_path)
    marker.unlink()
    evil = run_dir(artifacts, "evil")
    shutil.copytree(run_dir(artifacts, "good"), evil)
    record_model(evil, model_bytes)
    # Disable our own config scan: the second line of defence must hold by itself.
    monkeypatch.setattr(models, "find_unsafe_config", lambda config: None)
    with pytest.raises(ModelRefused, match="unsafe deserialization"):
        load_run_model(artifacts, "evil")
    assert not marker.exists()


def test_a_config_naming_foreign_code_is_refused(artifacts, tmp_path):
    folder = run_dir(artifacts, "good")
    with zipfile.ZipFile(folder / "model.keras") as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    config = json.loads(members["config.json"])
    layer = config["config"]["layers"][-1]
    layer["module"], layer["class_name"] = "os", "system"
    members["config.json"] = json.dumps(config).encode()
    rebuilt = tmp_path / "rebuilt.keras"
    with zipfile.ZipFile(rebuilt, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    record_model(folder, rebuilt.read_bytes())
    with pytest.raises(ModelRefused, match="module 'os'"):
        load_run_model(artifacts, "good")


def test_a_tampered_model_file_is_refused(artifacts):
    model_file = run_dir(artifacts, "good") / "model.keras"
    model_file.write_bytes(model_file.read_bytes() + b"\x00")
    with pytest.raises(ModelRefused, match="changed since training"):
        load_run_model(artifacts, "good")


def test_a_run_without_a_recorded_hash_is_refused(artifacts):
    folder = run_dir(artifacts, "good")
    record = json.loads((folder / "run.json").read_text())
    del record["model_sha256"]
    atomic_write_json(folder / "run.json", record)
    with pytest.raises(ModelRefused, match="model_sha256"):
        load_run_model(artifacts, "good")


def test_a_model_symlinked_to_a_file_outside_the_artifacts_folder_is_refused(artifacts, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    good = run_dir(artifacts, "good")
    shutil.copy(good / "model.keras", outside / "model.keras")
    linked = run_dir(artifacts, "linked")
    linked.mkdir()
    shutil.copy(good / "run.json", linked / "run.json")
    os.symlink(outside / "model.keras", linked / "model.keras")
    with pytest.raises(ModelRefused, match="outside the artifacts folder"):
        load_run_model(artifacts, "linked")


def test_a_run_folder_symlinked_outside_the_artifacts_folder_is_refused(artifacts, tmp_path):
    outside = tmp_path / "elsewhere"
    shutil.copytree(run_dir(artifacts, "good"), outside)
    os.symlink(outside, run_dir(artifacts, "escaped"))
    with pytest.raises(ModelRefused, match="outside the artifacts folder"):
        load_run_model(artifacts, "escaped")


@pytest.mark.parametrize("run_id", ["../good", "good/../../x", "/etc/passwd", "", ".hidden"])
def test_run_ids_that_are_not_plain_names_are_refused(artifacts, run_id):
    with pytest.raises(ModelRefused, match="not a valid run name"):
        load_run_model(artifacts, run_id)


def test_missing_model_and_missing_artifacts_folder_are_refused(artifacts, tmp_path):
    (run_dir(artifacts, "good") / "model.keras").unlink()
    with pytest.raises(ModelRefused, match="no model.keras"):
        load_run_model(artifacts, "good")
    with pytest.raises(ModelRefused, match="does not exist"):
        load_run_model(tmp_path / "nowhere", "good")


@pytest.mark.parametrize(
    "content, message",
    [
        (b"\x89HDF\r\n\x1a\n" + b"\x00" * 64, "legacy HDF5"),
        (b"just some bytes", "not a zip archive"),
    ],
)
def test_files_that_are_not_keras_3_archives_are_refused(artifacts, content, message):
    record_model(run_dir(artifacts, "good"), content)
    with pytest.raises(ModelRefused, match=message):
        load_run_model(artifacts, "good")


def test_a_zip_that_is_not_a_keras_model_is_refused(artifacts, tmp_path):
    archive_path = tmp_path / "other.zip"
    with zipfile.ZipFile(archive_path, "w") as archive:
        archive.writestr("readme.txt", "hello")
    record_model(run_dir(artifacts, "good"), archive_path.read_bytes())
    with pytest.raises(ModelRefused, match="not a Keras model"):
        load_run_model(artifacts, "good")


def test_a_model_that_is_not_a_ten_class_classifier_is_refused(artifacts, tmp_path):
    inputs = keras.Input(shape=(32, 32, 3))
    outputs = keras.layers.Dense(5, activation="softmax")(keras.layers.Flatten()(inputs))
    record_model(run_dir(artifacts, "good"), saved_bytes(keras.Model(inputs, outputs), tmp_path))
    with pytest.raises(ModelRefused, match="10 class probabilities"):
        load_run_model(artifacts, "good")


def test_a_truncated_keras_archive_is_refused_with_a_message(artifacts):
    model_file = run_dir(artifacts, "good") / "model.keras"
    record_model(run_dir(artifacts, "good"), model_file.read_bytes()[: model_file.stat().st_size // 2])
    with pytest.raises(ModelRefused) as refusal:
        load_run_model(artifacts, "good")
    assert "Traceback" not in str(refusal.value)
