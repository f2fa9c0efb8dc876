"""``python -m training import``: a notebook's .keras and .h5 become runs with the notebook's own accuracy;
every file that must not be imported is refused with nothing left behind.
"""

from __future__ import annotations

import hashlib
import json
import os

import numpy as np
import pytest

from runstore import list_runs, read_history, read_predictions, read_run_record
from tests.byom_notebook import make_model, train
from tests.factories import synthetic_test_set, write_cifar_test_folder
from training.history_import import HistoryRefused, read_external_history
from training.importer import ImportRefused, import_model

keras = pytest.importorskip("keras")


@pytest.fixture(scope="module")
def cifar(tmp_path_factory):
    """A synthetic CIFAR-10 test folder (200 images) the notebook and the importer both read."""
    return write_cifar_test_folder(tmp_path_factory.mktemp("cifar"), *synthetic_test_set())


@pytest.fixture(scope="module")
def notebook(tmp_path_factory, cifar):
    """The plain-Keras script's saved files and its own model.evaluate accuracy."""
    return train(tmp_path_factory.mktemp("notebook"), str(cifar))


@pytest.fixture(scope="module")
def logits_notebook(tmp_path_factory, cifar):
    return train(tmp_path_factory.mktemp("logits"), str(cifar), logits=True)


def left_in_runs(artifacts) -> list[str]:
    """Everything under runs/, hidden build folders included."""
    root = artifacts / "runs"
    return sorted(path.name for path in root.iterdir()) if root.exists() else []


@pytest.mark.parametrize("kind", ["keras", "h5"])
def test_import_records_the_notebooks_own_accuracy(notebook, cifar, tmp_path, kind):
    artifacts = tmp_path / "artifacts"
    folder = import_model(notebook[kind], f"nb-{kind}", "unit", history=notebook["log"], artifacts_dir=artifacts,
                          data_dir=cifar, config={"epochs": 2, "note": "from a notebook"}, progress=False)
    record = read_run_record(folder)
    assert record["test_accuracy"] == pytest.approx(notebook["accuracy"], abs=1e-6)
    assert record["status"] == "complete" and record["source"] == "imported"
    assert record["source_file"] == notebook[kind].name
    assert record["source_sha256"] == hashlib.sha256(notebook[kind].read_bytes()).hexdigest()
    assert (record["preprocessing"], record["input_size"], record["outputs"]) == ("unit", 32, "probabilities")
    assert record["config"] == {"epochs": 2, "note": "from a notebook"}
    assert record["params_total"] == make_model().count_params() and record["has_curves"]
    assert (record["optimizer"], record["learning_rate"]) == ("adam", pytest.approx(0.05))
    y_true, probs = read_predictions(folder)
    assert np.array_equal(y_true, synthetic_test_set()[1]) and probs.shape == (200, 10)
    logged = read_history(folder)
    assert logged["epoch"].tolist() == [0, 1] and logged["val_accuracy"].notna().all()
    [info] = list_runs(artifacts)
    assert info.status == "complete" and not info.problems
    assert left_in_runs(artifacts) == [f"nb-{kind}"]


def test_imported_model_loads_in_the_dashboard_and_answers_like_the_notebook(notebook, cifar, tmp_path):
    from serving.models import load_run_model
    from training.preprocessing import apply_preprocessing

    artifacts = tmp_path / "artifacts"
    import_model(notebook["keras"], "nb", "unit", artifacts_dir=artifacts, data_dir=cifar, progress=False)
    model = load_run_model(artifacts, "nb")
    images, _ = synthetic_test_set()
    _, stored = read_predictions(artifacts / "runs" / "nb")
    served = np.asarray(model(apply_preprocessing(images, "unit"), training=False))
    np.testing.assert_allclose(served, stored, atol=1e-5)


def test_logits_become_probabilities_and_the_saved_model_ends_in_softmax(logits_notebook, cifar, tmp_path):
    artifacts = tmp_path / "artifacts"
    folder = import_model(logits_notebook["keras"], "logits", "unit", artifacts_dir=artifacts, data_dir=cifar, progress=False)
    record = read_run_record(folder)
    assert record["outputs"] == "logits"
    assert record["test_accuracy"] == pytest.approx(logits_notebook["accuracy"], abs=1e-6)
    _, probs = read_predictions(folder)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    saved = keras.saving.load_model(folder / "model.keras", safe_mode=True, compile=False)
    assert saved.layers[-1].name == "probabilities_added_by_lab"


def test_without_history_the_run_says_it_has_no_curves(notebook, cifar, tmp_path):
    folder = import_model(notebook["h5"], "no-curves", "unit", artifacts_dir=tmp_path, data_dir=cifar, progress=False)
    record = read_run_record(folder)
    assert record["has_curves"] is False and record["epochs_run"] == 0
    assert (folder / "history.csv").read_text() == "epoch,accuracy,loss,val_accuracy,val_loss\n"


def test_a_run_without_curves_is_not_listed_as_broken(notebook, cifar, tmp_path):
    import_model(notebook["h5"], "no-curves", "unit", artifacts_dir=tmp_path, data_dir=cifar, progress=False)
    [info] = list_runs(tmp_path)
    assert not info.problems


# ---------------------------------------------------------------------------- refusals


def lambda_model():
    inputs = keras.Input((32, 32, 3))
    scaled = keras.layers.Lambda(lambda x: x / 255.0)(inputs)
    pooled = keras.layers.GlobalAveragePooling2D()(scaled)
    return keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(pooled))


@keras.saving.register_keras_serializable(package="notebook")
class Doubling(keras.layers.Layer):
    """A user's own layer: its code lives in the notebook, not in Keras."""

    def call(self, inputs):
        return inputs * 2.0


def custom_layer_model():
    inputs = keras.Input((32, 32, 3))
    pooled = keras.layers.GlobalAveragePooling2D()(Doubling()(inputs))
    return keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(pooled))


def five_class_model():
    return keras.Sequential([keras.Input((32, 32, 3)), keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(5, activation="softmax")])


def flat_input_model():
    return keras.Sequential([keras.Input((3072,)), keras.layers.Dense(10, activation="softmax")])


@pytest.mark.parametrize(("build", "suffix", "expected"), [
    (lambda_model, ".keras", "Lambda layer"),
    (lambda_model, ".h5", "Lambda layer"),
    (custom_layer_model, ".keras", "refers to code in the module"),
    (five_class_model, ".keras", "output shape (None, 5)"),
    (flat_input_model, ".h5", "not an image batch"),
])
def test_unsafe_or_unsuitable_models_are_refused_leaving_nothing(build, suffix, expected, cifar, tmp_path):
    path = tmp_path / f"model{suffix}"
    build().save(path)
    artifacts = tmp_path / "artifacts"
    with pytest.raises(ImportRefused, match=expected.replace("(", r"\(").replace(")", r"\)")):
        import_model(path, "refused", "unit", artifacts_dir=artifacts, data_dir=cifar, progress=False)
    assert left_in_runs(artifacts) == []


def test_a_lambda_is_never_called(cifar, tmp_path, monkeypatch):
    """The Lambda's function would write a marker file if anything ran it; the scan refuses first."""
    marker = tmp_path / "ran.txt"
    monkeypatch.setenv("BYOM_MARKER", str(marker))
    inputs = keras.Input((32, 32, 3))
    marked = keras.layers.Lambda(lambda x: (open(os.environ["BYOM_MARKER"], "w").close(), x)[1])(inputs)
    model = keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(keras.layers.GlobalAveragePooling2D()(marked)))
    model.save(tmp_path / "marked.h5")
    marker.unlink(missing_ok=True)  # building the model above called it once
    with pytest.raises(ImportRefused, match="Lambda"):
        import_model(tmp_path / "marked.h5", "marked", "raw", artifacts_dir=tmp_path / "a", data_dir=cifar, progress=False)
    assert not marker.exists()


def test_weights_only_truncated_and_foreign_files_are_refused(notebook, cifar, tmp_path):
    artifacts = tmp_path / "artifacts"
    weights = tmp_path / "only.weights.h5"
    keras.saving.load_model(notebook["keras"]).save_weights(weights)
    truncated_keras = tmp_path / "cut.keras"
    truncated_keras.write_bytes(notebook["keras"].read_bytes()[:4000])
    truncated_h5 = tmp_path / "cut.h5"
    truncated_h5.write_bytes(notebook["h5"].read_bytes()[:4000])
    text = tmp_path / "notes.keras"
    text.write_text("my model, trained on Tuesday")
    cases = [(weights, "holds only weights"), (truncated_keras, "damaged or cut short"),
             (truncated_h5, "damaged or cut short"), (text, "neither a Keras .keras archive nor an HDF5"),
             (tmp_path / "model.pt", "not a whole-model file"), (tmp_path / "missing.keras", "does not exist")]
    for path, expected in cases:
        with pytest.raises(ImportRefused, match=expected):
            import_model(path, "refused", "unit", artifacts_dir=artifacts, data_dir=cifar, progress=False)
    assert left_in_runs(artifacts) == []


def test_a_crash_during_evaluation_leaves_no_folder(cifar, tmp_path):
    broken = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(10)])
    broken.layers[-1].set_weights([np.full((3, 10), np.nan, np.float32), np.zeros(10, np.float32)])
    broken.save(tmp_path / "nan.keras")
    with pytest.raises(ValueError, match="NaN"):
        import_model(tmp_path / "nan.keras", "nan", "raw", artifacts_dir=tmp_path / "a", data_dir=cifar, progress=False)
    assert left_in_runs(tmp_path / "a") == []


def test_bad_history_name_or_preprocessing_is_refused_before_anything_is_written(notebook, cifar, tmp_path):
    artifacts = tmp_path / "artifacts"
    no_accuracy = tmp_path / "loss_only.csv"
    no_accuracy.write_text("epoch,loss\n0,1.5\n1,1.2\n")
    garbage = tmp_path / "garbage.csv"
    garbage.write_bytes(b"\x00\x01PK garbage\n")
    out_of_range = tmp_path / "percent.csv"
    out_of_range.write_text("epoch,accuracy,loss\n0,45.0,1.5\n")
    for history, expected in [(no_accuracy, "no accuracy values"), (garbage, "no 'epoch' column"),
                              (out_of_range, "accuracy lies between 0 and 1"), (tmp_path / "empty_dir", "does not exist")]:
        with pytest.raises(ImportRefused, match=expected):
            import_model(notebook["keras"], "h", "unit", history=history, artifacts_dir=artifacts, data_dir=cifar, progress=False)
    with pytest.raises(ImportRefused, match="Unknown preprocessing"):
        import_model(notebook["keras"], "h", "imagenet", artifacts_dir=artifacts, data_dir=cifar, progress=False)
    with pytest.raises(ImportRefused, match="Invalid run id"):
        import_model(notebook["keras"], "../escape", "unit", artifacts_dir=artifacts, data_dir=cifar, progress=False)
    assert left_in_runs(artifacts) == []


def test_an_existing_run_is_never_overwritten(notebook, cifar, tmp_path):
    folder = import_model(notebook["keras"], "taken", "unit", artifacts_dir=tmp_path, data_dir=cifar, progress=False)
    before = (folder / "run.json").read_bytes()
    with pytest.raises(ImportRefused, match="already exists"):
        import_model(notebook["h5"], "taken", "unit", artifacts_dir=tmp_path, data_dir=cifar, progress=False)
    assert (folder / "run.json").read_bytes() == before and left_in_runs(tmp_path) == ["taken"]


# ---------------------------------------------------------------------------- history sources and preprocessing


def test_tensorboard_logs_become_history_rows(tmp_path):
    """Event files in keras.callbacks.TensorBoard's layout (train/, validation/, epoch_<metric> scalars).

    Written with the lab's TensorBoardScalars, which uses that layout: Keras' own
    callback needs the tensorboard package, which the lab does not install.
    """
    from training.callbacks import TensorBoardScalars

    writer = TensorBoardScalars(tmp_path)
    writer.on_epoch_end(0, {"accuracy": 0.3, "loss": 1.9, "learning_rate": 0.01, "val_accuracy": 0.25, "val_loss": 2.0})
    writer.on_epoch_end(1, {"accuracy": 0.5, "loss": 1.4, "learning_rate": 0.001, "val_accuracy": 0.4, "val_loss": 1.6})
    writer.on_train_end()
    rows = read_external_history(tmp_path)
    assert [row["epoch"] for row in rows] == [0, 1]
    assert rows[1]["val_accuracy"] == pytest.approx(0.4) and rows[1]["learning_rate"] == pytest.approx(0.001)
    assert rows[0]["accuracy"] == pytest.approx(0.3) and rows[0]["val_loss"] == pytest.approx(2.0)


def test_a_folder_without_event_files_is_refused(tmp_path):
    with pytest.raises(HistoryRefused, match="no TensorBoard event files"):
        read_external_history(tmp_path)


@pytest.mark.parametrize("mode", ["tf", "caffe", "torch"])
def test_preprocessing_table_matches_keras_applications(mode):
    from keras.applications import imagenet_utils

    from training.preprocessing import apply_preprocessing

    images = np.random.default_rng(0).uniform(0, 255, size=(2, 4, 4, 3)).astype(np.float32)
    expected = imagenet_utils.preprocess_input(images.copy(), mode=mode)
    np.testing.assert_allclose(apply_preprocessing(images, mode), expected, rtol=1e-5, atol=1e-4)


def test_cli_imports_and_refuses(notebook, cifar, tmp_path, capsys):
    from training.cli import main

    config = json.dumps({"epochs": 2})
    assert main(["import", str(notebook["keras"]), "--name", "cli-run", "--preprocessing", "unit",
                 "--history", str(notebook["log"]), "--artifacts-dir", str(tmp_path), "--data-dir", str(cifar),
                 "--config", config]) == 0
    assert capsys.readouterr().out.strip().endswith("cli-run")
    assert main(["import", str(notebook["keras"]), "--name", "cli-run", "--preprocessing", "unit",
                 "--artifacts-dir", str(tmp_path), "--data-dir", str(cifar)]) == 1
    assert "already exists" in capsys.readouterr().err
