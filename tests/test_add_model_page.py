"""The dashboard side of bringing your own model, under AppTest: an imported run is listed on the
Overview like any other, and the Add a model page shows a refused file's sentence and leaves nothing.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.factories import synthetic_test_set, tiny_model, write_cifar_test_folder

APP = str(Path(__file__).resolve().parents[1] / "dashboard" / "app.py")
# The refusal test waits for a real `python -m training import` subprocess (it starts TensorFlow).
TIMEOUT = 180


@pytest.fixture
def empty_lab(tmp_path, monkeypatch):
    """An empty artifacts folder and a synthetic test set, as the dashboard's environment."""
    artifacts = tmp_path / "artifacts"
    cifar = write_cifar_test_folder(tmp_path / "cifar", *synthetic_test_set())
    monkeypatch.setenv("ARTIFACTS_DIR", str(artifacts))
    monkeypatch.setenv("CIFAR10_DIR", str(cifar))
    return artifacts, cifar


def open_page(page: str) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=TIMEOUT)
    app.run()
    app.switch_page(f"views/{page}.py")
    app.run()
    return app


def test_overview_lists_an_imported_run_with_its_accuracy(empty_lab, tmp_path):
    from runstore import read_run_record
    from training.importer import import_model

    artifacts, cifar = empty_lab
    model_file = tmp_path / "notebook.keras"
    tiny_model().save(model_file)
    import_model(model_file, "from-notebook", "raw", artifacts_dir=artifacts, data_dir=cifar, progress=False)
    accuracy = read_run_record(artifacts / "runs" / "from-notebook")["test_accuracy"]

    app = open_page("overview")
    assert not app.exception
    app.toggle(key="leaderboard_individual").set_value(True).run()  # the default is one row per group
    table = app.dataframe[0].value
    row = table[table["run"] == "from-notebook"].iloc[0]
    assert row["status"] == "complete"
    assert row["test accuracy"] == pytest.approx(accuracy)


def test_page_says_the_size_limit_before_upload(empty_lab):
    app = open_page("add_model")
    assert not app.exception
    assert app.title[0].value == "Add a model"
    assert "Files up to **200 MB**" in "\n".join(caption.value for caption in app.caption)
    picker = app.radio(key="add_model_preprocessing")
    assert [option.split(":")[0] for option in picker.options] == ["raw", "unit", "tf", "caffe", "torch"]
    assert picker.value == "raw"
    assert app.button(key="add_model_go").disabled


def test_a_file_over_the_limit_is_refused_before_anything_is_written(empty_lab, monkeypatch):
    # (A wrong extension never reaches the page: Streamlit's uploader refuses it by its type list.)
    artifacts, _ = empty_lab
    monkeypatch.setenv("MODEL_UPLOAD_MAX_MB", "1")
    app = open_page("add_model")
    assert "Files up to **1 MB**" in "\n".join(caption.value for caption in app.caption)
    app.file_uploader(key="add_model_file").upload("big.keras", b"\0" * (3 * 1024 * 1024 // 2))
    app.run()
    app.button(key="add_model_go").click()
    app.run()
    assert not app.exception
    assert "big.keras is 2 MB, over this server's limit of 1 MB" in app.error[0].value
    assert not artifacts.exists()  # nothing was staged, nothing written


def test_a_text_file_named_keras_gets_the_import_commands_refusal_and_leaves_nothing(empty_lab):
    artifacts, _ = empty_lab
    app = open_page("add_model")
    app.file_uploader(key="add_model_file").upload("notes.keras", b"just notes, not a model\n")
    app.run()
    assert app.text_input(key="add_model_name").value == "notes"  # proposed from the file name
    app.button(key="add_model_go").click()
    app.run()
    assert not app.exception
    [error] = app.error
    assert error.value.startswith("**notes.keras** was not added.")
    assert "neither a Keras .keras archive nor an HDF5 .h5 file" in error.value
    assert list((artifacts / "runs").iterdir()) == []          # no run, no hidden build folder
    assert not (artifacts / "uploads").exists()                  # the staged upload is gone
