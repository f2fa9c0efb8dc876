"""``LabCallback`` in a plain-Keras script: a live run while fit runs, then a complete one with the
script's own test accuracy; an interrupted fit leaves a failed run, never a half-written one.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from runstore import list_runs, read_history, read_predictions, read_run_record
from tests.byom_notebook import train
from tests.factories import synthetic_test_set, write_cifar_test_folder

keras = pytest.importorskip("keras")
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def cifar(tmp_path, monkeypatch):
    folder = write_cifar_test_folder(tmp_path / "cifar", *synthetic_test_set())
    monkeypatch.setenv("CIFAR10_DIR", str(folder))
    return folder


class Probe(keras.callbacks.Callback):
    """After LabCallback in the list: what the dashboard would read at the end of every epoch."""

    def __init__(self, folder: Path):
        super().__init__()
        self.folder = folder
        self.seen: list[tuple] = []

    def on_epoch_end(self, epoch, logs=None):
        history = read_history(self.folder)
        self.seen.append((read_run_record(self.folder)["status"], len(history), bool(history["learning_rate"].notna().all())))


def test_the_run_is_live_during_fit_then_complete_with_the_scripts_accuracy(cifar, tmp_path):
    from training import LabCallback

    artifacts = tmp_path / "artifacts"
    probe = Probe(artifacts / "runs" / "live-nb")
    lab = LabCallback("live-nb", preprocessing="unit", artifacts_dir=artifacts, config={"epochs": 2, "batch_size": 32}, progress=False)
    result = train(tmp_path / "out", str(cifar), epochs=2, extra_callbacks=[lab, probe])
    assert probe.seen == [("running", 1, True), ("running", 2, True)]
    folder = artifacts / "runs" / "live-nb"
    record = read_run_record(folder)
    assert record["status"] == "complete" and record["source"] == "callback"
    assert record["test_accuracy"] == pytest.approx(result["accuracy"], abs=1e-6)
    assert record["config"] == {"epochs": 2, "batch_size": 32} and record["preprocessing"] == "unit"
    assert (record["optimizer"], record["learning_rate"]) == ("adam", pytest.approx(0.05))
    # The saved model holds the weights fit ended with: the last epoch is the one the Curves star marks.
    assert record["epochs_run"] == 2 and record["best_epoch"] == 1 and record["best_epoch_rule"].startswith("last epoch")
    # Written by the trainer's own HistoryWriter, with EpochExtras' learning rate and clock.
    history = read_history(folder)
    assert {"learning_rate", "elapsed_seconds", "loss", "val_loss"} <= set(history.columns)
    assert history["epoch"].tolist() == [row["epoch"] for row in lab.history.rows] == [0, 1]
    assert record["train_seconds"] >= history["elapsed_seconds"].iloc[-1] > 0
    y_true, _ = read_predictions(folder)
    assert np.array_equal(y_true, synthetic_test_set()[1])
    [info] = list_runs(artifacts)
    assert info.status == "complete" and not info.problems


def test_interrupted_fit_leaves_a_failed_run_without_model(cifar, tmp_path):
    artifacts = tmp_path / "artifacts"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    finished = subprocess.run(
        [sys.executable, str(REPO / "tests" / "byom_notebook.py"), str(tmp_path / "out"), str(artifacts), "cut-short",
         "--interrupt-after-epoch", "1"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )
    assert finished.returncode != 0 and "KeyboardInterrupt" in finished.stderr
    folder = artifacts / "runs" / "cut-short"
    record = read_run_record(folder)
    assert record["status"] == "failed" and record["error"].startswith("interrupted")
    assert "after 2 finished epoch(s)" in record["error"]
    assert len(read_history(folder)) == 2
    assert not (folder / "model.keras").exists() and not (folder / "predictions.npz").exists()
    assert [path.name for path in folder.iterdir() if path.name.startswith(".")] == []


def test_scaled_test_data_and_unknown_preprocessing_are_refused_up_front():
    from training import LabCallback

    images, labels = synthetic_test_set(20)
    with pytest.raises(ValueError, match="look scaled already"):
        LabCallback("x", preprocessing="unit", test_data=(images / 255.0, labels))
    with pytest.raises(ValueError, match="Unknown preprocessing"):
        LabCallback("x", preprocessing="zero_one")
    with pytest.raises(ValueError, match="Invalid run id"):
        LabCallback("../x", preprocessing="unit")


def test_importing_training_stays_cheap():
    code = "import sys, training; assert 'keras' not in sys.modules and 'tensorflow' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True, timeout=60)
