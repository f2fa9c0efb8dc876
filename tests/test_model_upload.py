"""Adding a model from the browser (``serving.model_upload``): staging, limits, progress, messages,
and the real ``python -m training import`` subprocess on a tiny model and on a refused file.
"""

from __future__ import annotations

import json
import stat

import pytest

from runstore import list_runs, read_run_record
from serving.model_upload import (
    DEFAULT_MODEL_UPLOAD_MB,
    MEGABYTE,
    PREPROCESSING_CHOICES,
    UploadRefused,
    check_history_upload,
    check_model_upload,
    check_run_name,
    discard_staging,
    import_command,
    model_upload_limit_mb,
    read_progress,
    refusal_message,
    safe_file_name,
    stage_upload,
    start_import,
    suggest_run_id,
    uploads_root,
)
from tests.factories import make_run, synthetic_test_set, tiny_model, write_cifar_test_folder


def test_preprocessing_choices_are_exactly_the_import_commands_modes():
    from runstore.preprocessing import PREPROCESSING_MODES

    assert tuple(PREPROCESSING_CHOICES) == tuple(PREPROCESSING_MODES)
    assert all(text.startswith(f"{mode}: ") and "\n" not in text for mode, text in PREPROCESSING_CHOICES.items())


def test_upload_limit_defaults_to_200_mb_and_can_be_configured():
    assert model_upload_limit_mb({}) == DEFAULT_MODEL_UPLOAD_MB == 200
    assert model_upload_limit_mb({"MODEL_UPLOAD_MAX_MB": "50"}) == 50
    with pytest.raises(UploadRefused, match="MODEL_UPLOAD_MAX_MB='lots' is not a whole number"):
        model_upload_limit_mb({"MODEL_UPLOAD_MAX_MB": "lots"})


@pytest.mark.parametrize(("name", "size", "message"), [
    ("notes.txt", 10, "notes.txt is not a whole-model file"),
    ("weights.npz", 10, "not a whole-model file"),
    ("model.keras", 0, "model.keras is empty"),
    ("big.h5", 201 * MEGABYTE, "big.h5 is 201 MB, over this server's limit of 200 MB"),
])
def test_model_uploads_refused_by_name_or_size(name, size, message):
    with pytest.raises(UploadRefused, match=message):
        check_model_upload(name, size, 200 * MEGABYTE)


def test_model_uploads_within_the_limit_pass():
    for name in ("model.keras", "MODEL.H5", "legacy.hdf5"):
        check_model_upload(name, 200 * MEGABYTE, 200 * MEGABYTE)


def test_history_must_be_a_small_csv():
    check_history_upload("log.csv", 1000)
    with pytest.raises(UploadRefused, match="not a CSV file"):
        check_history_upload("events.out.tfevents.1", 1000)
    with pytest.raises(UploadRefused, match="far larger than a CSVLogger file"):
        check_history_upload("log.csv", 50 * MEGABYTE)


def test_file_names_lose_folders_and_odd_characters():
    assert safe_file_name("../../etc/passwd.keras") == "passwd.keras"
    assert safe_file_name("C:\\Users\\me\\model.h5") == "model.h5"
    assert safe_file_name(".hidden.keras") == "hidden.keras"
    assert safe_file_name("my model (v2).keras") == "my_model_v2_.keras"
    assert safe_file_name("...") == "upload"
    assert suggest_run_id("My model (v2).keras") == "my-model-v2"
    assert suggest_run_id("???.keras") == "imported-model"


def test_run_name_must_be_valid_and_new(tmp_path):
    make_run(tmp_path, "taken", status="failed", epochs=1)
    assert check_run_name(tmp_path, "  fresh-name ") == "fresh-name"
    with pytest.raises(UploadRefused, match="already exists"):
        check_run_name(tmp_path, "taken")
    for bad in ("", "../escape", "has space", ".hidden"):
        with pytest.raises(UploadRefused, match="cannot name a run"):
            check_run_name(tmp_path, bad)


def test_staging_is_private_outside_runs_and_discarded(tmp_path):
    staging = stage_upload(tmp_path, "../my model.keras", b"model bytes", "log.csv", b"epoch,loss\n0,1\n")
    assert staging.folder.parent == uploads_root(tmp_path) == tmp_path / "uploads"
    assert stat.S_IMODE(staging.folder.stat().st_mode) == 0o700
    assert staging.model_path.name == "my_model.keras" and staging.model_path.read_bytes() == b"model bytes"
    assert staging.history_path.read_bytes() == b"epoch,loss\n0,1\n"
    assert not (tmp_path / "runs").exists()
    other = stage_upload(tmp_path, "other.h5", b"x")
    discard_staging(staging)
    assert not staging.folder.exists() and other.folder.exists()  # another upload keeps the uploads folder
    discard_staging(other)
    assert not uploads_root(tmp_path).exists()


def test_import_command_passes_every_choice(tmp_path):
    staging = stage_upload(tmp_path, "m.keras", b"x", "log.csv", b"epoch\n")
    command = import_command(staging, "nb", "tf", tmp_path, python="python3")
    assert command[:5] == ["python3", "-m", "training", "import", str(staging.model_path)]
    assert command[command.index("--preprocessing") + 1] == "tf"
    assert command[command.index("--progress-file") + 1] == str(staging.progress_path)
    assert command[command.index("--history") + 1] == str(staging.history_path)
    with pytest.raises(UploadRefused, match="Unknown preprocessing 'bgr'"):
        import_command(staging, "nb", "bgr", tmp_path)


def test_progress_is_read_from_the_commands_file(tmp_path):
    path = tmp_path / "progress.json"
    assert read_progress(path).fraction == 0.0 and "Starting" in read_progress(path).text
    path.write_text(json.dumps({"stage": "evaluating", "done": 5000, "total": 10000}))
    progress = read_progress(path)
    assert progress.fraction == pytest.approx(0.525) and "5,000 of 10,000" in progress.text
    path.write_text(json.dumps({"stage": "done", "done": 10000, "total": 10000}))
    assert read_progress(path).fraction == 1.0
    path.write_text('{"stage": "evalu')  # never written by the atomic writer, but a reader must survive it
    assert read_progress(path).fraction == 0.0


def test_progress_file_writer_and_reader_agree(tmp_path):
    from training.importer import report_progress

    report_progress(tmp_path / "p.json", "evaluating", 256, 1024)
    assert read_progress(tmp_path / "p.json").fraction == pytest.approx(0.10 + 0.85 * 0.25)
    with pytest.raises(ValueError, match="unknown progress stage"):
        report_progress(tmp_path / "p.json", "thinking")


@pytest.mark.parametrize(("returncode", "output", "expected"), [
    (1, "Evaluating...\nerror: notes.keras is neither a Keras .keras archive nor an HDF5 .h5 file.\n",
     "notes.keras is neither a Keras .keras archive nor an HDF5 .h5 file."),
    (2, "usage: python -m training import ...\npython -m training import: error: argument --preprocessing: invalid choice\n",
     "argument --preprocessing: invalid choice"),
    (130, "", "cancelled before it finished; nothing was added"),
    (-9, "", "stopped by signal 9"),
    (1, "Traceback (most recent call last):\n  ...\nMemoryError: out\n", "failed unexpectedly (exit status 1: MemoryError: out)"),
])
def test_refusal_messages_come_from_the_command(returncode, output, expected):
    assert expected in refusal_message(returncode, output)


# The real command in a subprocess: slow (it starts TensorFlow), so a few cases only.

@pytest.fixture(scope="module")
def tiny_keras_file(tmp_path_factory):
    """A tiny trained model saved as .keras (it scales its pixels itself: preprocessing raw)."""
    path = tmp_path_factory.mktemp("upload") / "tiny model.keras"
    tiny_model().save(path)
    return path


@pytest.fixture
def cifar_env(tmp_path):
    folder = write_cifar_test_folder(tmp_path / "cifar", *synthetic_test_set())
    return {"CIFAR10_DIR": str(folder)}


def run_import(artifacts, name, content, run_id, environ, preprocessing="raw"):
    import os

    staging = stage_upload(artifacts, name, content)
    try:
        job = start_import(staging, run_id, preprocessing, artifacts, environ={**os.environ, **environ})
        outcome = job.outcome()
        progress = read_progress(staging.progress_path)
    finally:
        discard_staging(staging)
    return outcome, progress


def test_a_tiny_model_is_imported_through_the_command(tmp_path, tiny_keras_file, cifar_env):
    artifacts = tmp_path / "artifacts"
    outcome, progress = run_import(artifacts, tiny_keras_file.name, tiny_keras_file.read_bytes(), "uploaded", cifar_env)
    assert outcome.ok, outcome.message
    assert progress.fraction == 1.0
    record = read_run_record(artifacts / "runs" / "uploaded")
    assert record["source"] == "imported" and record["source_file"] == "tiny_model.keras"
    assert record["preprocessing"] == "raw" and record["data"]["test_images"] == len(synthetic_test_set()[1])
    assert [(info.run_id, info.status) for info in list_runs(artifacts)] == [("uploaded", "complete")]  # no history: still complete
    assert sorted(path.name for path in artifacts.iterdir()) == ["runs"]  # the upload's staging folder is gone


def test_a_text_file_is_refused_with_the_commands_sentence_and_leaves_nothing(tmp_path, cifar_env):
    artifacts = tmp_path / "artifacts"
    outcome, _ = run_import(artifacts, "notes.keras", b"just some notes, not a model\n", "notes", cifar_env)
    assert not outcome.ok
    assert "neither a Keras .keras archive nor an HDF5 .h5 file" in outcome.message
    assert list((artifacts / "runs").iterdir()) == [] and not (artifacts / "uploads").exists()
