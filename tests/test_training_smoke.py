"""End-to-end training on tiny synthetic data: every artifact, the run.json schema, the feature cache."""

import errno
import json
import os
import re

import keras
import numpy as np
import pytest

import labkeras.layers  # noqa: F401
from runstore import read_history, read_predictions, read_validation_predictions
from runstore.schema import validate_run_record
from training.config import ConfigError, RunConfig
from training.train import TrainingError, run_training, split_for_run
from tests.training_fixtures import synthetic_cifar

EXPECTED_COLUMNS = ["epoch", "accuracy", "elapsed_seconds", "images_seen", "learning_rate", "loss", "val_accuracy", "val_loss"]


def _config(tmp_path, **overrides):
    values = {
        "model": "simple_cnn", "blocks": 1, "epochs": 2, "batch_size": 16, "validation_size": 40,
        "run_id": "smoke", "artifacts_dir": str(tmp_path), "seed": 0,
    }
    values.update(overrides)
    return RunConfig.from_dict(values)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    artifacts = tmp_path_factory.mktemp("artifacts")
    folder = run_training(_config(artifacts, epochs=3, augment=False), data=synthetic_cifar(), verbose=0)
    return artifacts, folder


def test_run_folder_holds_every_artifact(finished_run):
    _, folder = finished_run
    for name in ("run.json", "history.csv", "model.keras", "predictions.npz", "validation_predictions.npz",
                 "model_summary.txt"):
        assert (folder / name).is_file(), name
    assert list((folder / "tensorboard" / "train").glob("events.out.tfevents.*"))
    assert not (folder / "backup").exists()
    assert not [path.name for path in folder.iterdir() if path.name.startswith(".")]
    assert "scale_to_unit" in (folder / "model_summary.txt").read_text()


def test_run_record_is_complete_and_valid(finished_run):
    _, folder = finished_run
    record = validate_run_record(json.loads((folder / "run.json").read_text()))
    assert record["status"] == "complete" and record["error"] is None
    assert record["epochs_run"] == 3 and record["latest_epoch"] == 2
    assert record["config"]["blocks"] == 1 and record["weights"] == "none"
    assert record["data"] == {"source": "synthetic", "sha256": synthetic_cifar().sha256,
                              "train_images": 80, "validation_images": 40, "test_images": 40}
    assert 0 <= record["test_accuracy"] <= 1 and record["test_loss"] > 0
    assert record["params_trainable"] == record["params_total"] > 0
    assert record["input_size"] == 32 and record["description"]
    assert {"tensorflow", "keras", "numpy", "python"} <= set(record["versions"])
    history = read_history(folder)
    assert record["best_epoch"] == int(history.loc[history["val_loss"].idxmin(), "epoch"])


def test_history_has_every_column_and_one_row_per_epoch(finished_run):
    _, folder = finished_run
    header = (folder / "history.csv").read_text().splitlines()[0].split(",")
    assert header == EXPECTED_COLUMNS
    history = read_history(folder)
    assert history["epoch"].tolist() == [0, 1, 2]
    assert history["elapsed_seconds"].is_monotonic_increasing
    assert history["learning_rate"].tolist() == pytest.approx([0.001] * 3)
    assert history["loss"].iloc[-1] < history["loss"].iloc[0]


def test_saved_model_reproduces_the_saved_predictions(finished_run):
    _, folder = finished_run
    y_true, probs = read_predictions(folder)
    assert probs.shape == (40, 10) and probs.dtype == np.float32
    np.testing.assert_array_equal(y_true, synthetic_cifar().y_test)
    model = keras.saving.load_model(folder / "model.keras", safe_mode=True)
    again = model.predict(synthetic_cifar().x_test.astype("float32"), verbose=0)
    np.testing.assert_allclose(again, probs, rtol=1e-4, atol=1e-5)
    record = json.loads((folder / "run.json").read_text())
    assert record["test_accuracy"] == pytest.approx(float(np.mean(probs.argmax(1) == y_true)))


def test_validation_predictions_are_the_models_answers_on_the_validation_images(finished_run):
    # What the reading side fits calibration on: the run's validation images, never its test images.
    artifacts, folder = finished_run
    y_val, probs = read_validation_predictions(folder)
    split = split_for_run(_config(artifacts, epochs=3, augment=False), synthetic_cifar())
    np.testing.assert_array_equal(y_val, split.y_val)
    model = keras.saving.load_model(folder / "model.keras", safe_mode=True)
    np.testing.assert_allclose(model.predict(split.x_val.astype("float32"), verbose=0), probs, rtol=1e-4, atol=1e-5)
    assert not np.array_equal(split.x_val, synthetic_cifar().x_test[: len(split.x_val)])


def test_a_complete_run_is_never_overwritten(finished_run):
    artifacts, folder = finished_run
    before = (folder / "run.json").read_text()
    with pytest.raises(TrainingError, match="already complete.*another --run-id"):
        run_training(_config(artifacts, epochs=3), data=synthetic_cifar(), verbose=0)
    assert (folder / "run.json").read_text() == before


def test_a_crash_records_failed_with_the_reason(tmp_path, monkeypatch):
    def crash(*args, **kwargs):
        raise ValueError("the model could not be built: out of cheese")

    # A crash once the run folder exists (here in the build): the run is marked failed, with the reason.
    monkeypatch.setattr("training.train.build_for_run", crash)
    with pytest.raises(ValueError, match="out of cheese"):
        run_training(_config(tmp_path, run_id="crash"), data=synthetic_cifar(), verbose=0)
    record = validate_run_record(json.loads((tmp_path / "runs" / "crash" / "run.json").read_text()))
    assert record["status"] == "failed" and "out of cheese" in record["error"]


def test_a_split_too_large_for_the_data_stops_before_the_run_folder_exists(tmp_path):
    small = synthetic_cifar()
    with pytest.raises(ConfigError, match="validation_size 500 leaves fewer than 10 of the data set's"):
        run_training(_config(tmp_path, run_id="too-big", validation_size=500), data=small, verbose=0)
    assert not (tmp_path / "runs" / "too-big").exists()


@pytest.mark.parametrize(
    ("code", "expected"),
    [(errno.EACCES, "Permission denied writing .*model.keras.*--artifacts-dir"), (errno.ENOSPC, "disk is full.*resumes")],
)
def test_disk_full_and_permission_errors_get_clear_messages(tmp_path, monkeypatch, code, expected):
    def refuse(folder, model):
        raise OSError(code, os.strerror(code), str(folder / "model.keras"))

    # Simulated at the model write: root ignores file modes, and filling a real disk is not a unit test.
    monkeypatch.setattr("runstore.writer.save_model", refuse)
    with pytest.raises(TrainingError, match=expected):
        run_training(_config(tmp_path, run_id="oserror", epochs=1), data=synthetic_cifar(), verbose=0)
    record = validate_run_record(json.loads((tmp_path / "runs" / "oserror" / "run.json").read_text()))
    assert record["status"] == "failed" and re.search(expected, record["error"])


def test_onecycle_and_tta_run_end_to_end(tmp_path):
    folder = run_training(
        _config(tmp_path, run_id="onecycle", lr_schedule="onecycle", tta_flip=True, tta_translate=True, epochs=3, optimizer="sgd",
                learning_rate=0.05, label_smoothing=0.1),
        data=synthetic_cifar(), verbose=0,
    )
    history = read_history(folder)
    assert history["learning_rate"].nunique() == 3
    record = json.loads((folder / "run.json").read_text())
    assert record["evaluation"]["tta_flip"] is True and record["evaluation"]["tta_translate"] is True
    assert record["lr_drop_epochs"] == []


def test_translated_views_shift_one_pixel_each_way_with_reflected_edges():
    from training.evaluate import translated_views

    x = np.arange(2 * 4 * 5 * 3).reshape(2, 4, 5, 3)
    up_left, down_right = translated_views(x)
    assert up_left.shape == down_right.shape == x.shape
    np.testing.assert_array_equal(up_left[:, 1:, 1:], x[:, :-1, :-1])
    np.testing.assert_array_equal(down_right[:, :-1, :-1], x[:, 1:, 1:])
    np.testing.assert_array_equal(up_left[:, 0, 1:], x[:, 1, :-1])  # the edge row is the reflection of row 1


def test_translate_tta_gives_the_shifted_views_half_the_weight():
    """The weights come out of the result itself: a model that answers "class k" for view k exposes them."""
    from training.evaluate import predict_probabilities, translated_views

    x = np.random.default_rng(1).integers(0, 256, size=(4, 6, 6, 3)).astype("float32")
    views = [x, *translated_views(x)]

    def which_view(images):  # one-hot on the index of the view these images are
        index = next(k for k, view in enumerate(views) if np.array_equal(images, view))
        return np.tile(np.eye(3)[index], (len(images), 1))

    plain, up_left, down_right = predict_probabilities(which_view, x, translate=True)[0]
    assert plain + up_left + down_right == pytest.approx(1)
    assert up_left == pytest.approx(down_right)  # the two shifts count alike
    assert plain == pytest.approx(up_left + down_right)  # and together as much as the image as it is


def test_a_time_budget_ends_training_early_with_the_cycle_annealed(tmp_path):
    # Early stopping off (patience beyond the epochs): on a fast machine it ended the synthetic run
    # after 17 epochs in 4.7 s, before the budget this test is about.
    config = _config(tmp_path, run_id="budget", lr_schedule="onecycle", epochs=500, optimizer="sgd", learning_rate=0.05,
                     lookahead=True, time_budget_seconds=6.0, early_stopping_patience=1000)
    folder = run_training(config, data=synthetic_cifar(), verbose=0)
    record = json.loads((folder / "run.json").read_text())
    history = read_history(folder)
    assert record["status"] == "complete" and record["config"]["time_budget_seconds"] == 6.0
    assert 1 < record["epochs_run"] < 500 and record["train_seconds"] >= 6.0
    # The cycle follows the clock: the last batches ran near its end (peak / 100), far below the peak.
    assert history["learning_rate"].iloc[-1] < 0.05 / 20 < history["learning_rate"].max()
    assert (folder / "predictions.npz").is_file()


def test_mirrored_strategy_trains(tmp_path):
    folder = run_training(_config(tmp_path, run_id="mirrored", strategy="mirrored", epochs=1), data=synthetic_cifar(), verbose=0)
    record = json.loads((folder / "run.json").read_text())
    assert record["status"] == "complete" and record["config"]["strategy"] == "mirrored"
    assert read_history(folder)["epoch"].tolist() == [0]


def test_evaluate_command_recomputes_the_same_predictions(finished_run, tmp_path):
    import shutil

    from tests.factories import write_cifar_batch
    from training.evaluate import EvaluationError, evaluate_run

    _, folder = finished_run
    copy = tmp_path / "runs" / folder.name
    shutil.copytree(folder, copy)
    data_dir = tmp_path / "cifar"
    data_dir.mkdir()
    write_cifar_batch(data_dir / "test_batch", synthetic_cifar().x_test, synthetic_cifar().y_test)
    saved = read_predictions(copy)[1]
    (copy / "predictions.npz").unlink()
    record = evaluate_run(str(copy), data_dir=str(data_dir), verbose=0)
    np.testing.assert_allclose(read_predictions(copy)[1], saved, rtol=1e-4, atol=1e-5)
    assert record["status"] == "complete" and record["evaluation"]["re_evaluated"] is True
    validate_run_record(record)

    # A model file that differs from the one recorded is refused, never loaded.
    with (copy / "model.keras").open("ab") as handle:
        handle.write(b"tampered")
    with pytest.raises(EvaluationError, match="does not match the SHA-256"):
        evaluate_run(str(copy), data_dir=str(data_dir), verbose=0)


def test_split_data_keeps_the_test_set_whole_and_apart():
    from training.data import DataSplit
    from training.train import split_for_run

    data = synthetic_cifar()
    split = split_for_run(_config("/tmp/unused", train_limit=50, test_limit=30), data)
    assert isinstance(split, DataSplit)
    assert split.counts() == {"train_images": 50, "validation_images": 40, "test_images": 30}
    np.testing.assert_array_equal(split.x_test, data.x_test[:30])


@pytest.mark.parametrize(("schedule", "lookahead"), [("plateau", False), ("onecycle", True)])
def test_callbacks_come_in_the_order_their_docstring_gives(tmp_path, schedule, lookahead):
    from training import callbacks as lab
    from runstore.writer import RunRecord
    from training.resumption import Resumption
    from training.train import EpochSize, make_callbacks

    config = _config(tmp_path, lr_schedule=schedule, lookahead=lookahead, optimizer="sgd")
    callbacks = make_callbacks(config, tmp_path, RunRecord(tmp_path, {}), Resumption(None, [], 0.0, False), EpochSize(5, 80, False))
    kinds = [type(callback) for callback in callbacks.ordered]
    expected = [
        lab.EpochExtras, lab.TrainingBudget,
        lab.ResumableReduceLROnPlateau if schedule == "plateau" else lab.OneCycleByStep,
        lab.ResumableEarlyStopping, lab.BestWeightsCheckpoint, lab.EpochBackup,
        *([lab.Lookahead] if lookahead else []),
        lab.TensorBoardScalars, lab.HistoryWriter, lab.Heartbeat,
    ]
    assert kinds == expected
    assert callbacks.track_lr_drops is (schedule == "plateau")


def test_evaluation_does_not_depend_on_training():
    import subprocess
    import sys

    code = "import sys, training.evaluate; print(sorted(m for m in ('training.train', 'tensorflow') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
