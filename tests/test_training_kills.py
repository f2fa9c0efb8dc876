"""Killed at random, twenty times: three replicates trained by a real trainer process, SIGKILLed and restarted.

A reader lists the runs folder in a loop meanwhile, as the dashboard does. At
the end every run is complete; every history has each evaluation point once,
in order, with images seen and elapsed time running on; every model loads and
reproduces its stored predictions; the reader never crashed and never listed a
run as complete before its model and predictions were whole (the model's
SHA-256 matches run.json's, the predictions read).

The kill moments are drawn with a fixed seed between the trainer's start-up and
a few seconds into training, so they land in TensorFlow's start, in epochs, in
backups, history rows, run.json writes and the final save. Each restart is the
same command, as a user would type it again.
"""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import labkeras.layers  # noqa: F401  (the lab's layers, to load model.keras)
from runstore import list_runs, read_history, read_predictions, read_run_record
from tests.training_fixtures import killable_run_data

pytestmark = pytest.mark.slow

FIXTURES = Path(__file__).with_name("training_fixtures.py")
KILLS = 20
SEEDS = 3
EPOCHS = 60  # about 20 s of training a run here: the kills keep landing mid-way through all twenty restarts


class ListingReader(threading.Thread):
    """Lists the runs folder every 0.2 s; records any crash, and any complete run whose files are not whole."""

    def __init__(self, artifacts: Path):
        super().__init__(daemon=True)
        self.artifacts = artifacts
        self.stop = threading.Event()
        self.errors: list[str] = []
        self.listings = 0

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                for info in list_runs(self.artifacts):
                    if info.status == "complete":
                        self.check_whole(info)
                self.listings += 1
            except Exception as error:  # the test fails on any of these
                self.errors.append(f"{type(error).__name__}: {error}")
            self.stop.wait(0.2)

    def check_whole(self, info) -> None:
        model = (info.path / "model.keras").read_bytes()
        if hashlib.sha256(model).hexdigest() != info.record["model_sha256"]:
            self.errors.append(f"{info.run_id} listed complete with a model.keras that is not the one run.json names")
        read_predictions(info.path)


def trainer(artifacts: Path, log) -> subprocess.Popen:
    """The replicates' trainer, in its own session so a kill takes it whole."""
    return subprocess.Popen([sys.executable, str(FIXTURES), str(artifacts), "kill", str(EPOCHS), str(SEEDS)],
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})


def test_twenty_random_kills_leave_every_run_complete_and_whole(tmp_path):
    artifacts = tmp_path / "artifacts"
    reader = ListingReader(artifacts)
    reader.start()
    moments = random.Random(27)
    killed = 0
    with open(tmp_path / "trainer.log", "ab") as log:
        for _ in range(KILLS):
            process = trainer(artifacts, log)
            time.sleep(moments.uniform(3.0, 12.0))  # TensorFlow's start takes about 3 s
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                killed += 1
            process.wait(timeout=60)
        final = trainer(artifacts, log)
        assert final.wait(timeout=900) == 0, (tmp_path / "trainer.log").read_text()[-3000:]
    reader.stop.set()
    reader.join(timeout=30)

    assert killed >= KILLS // 2  # most restarts were killed mid-way, not after finishing
    assert reader.errors == []
    assert reader.listings > 50

    import keras

    data = killable_run_data()
    runs = {info.run_id: info for info in list_runs(artifacts)}
    assert sorted(runs) == [f"kill-s{seed}" for seed in range(SEEDS)]
    for run_id, info in runs.items():
        record = read_run_record(info.path)
        assert record["status"] == "complete", (run_id, record.get("error"))
        history = read_history(info.path)
        assert history["epoch"].tolist() == list(range(record["epochs_run"])), run_id
        assert np.all(np.diff(history["images_seen"]) > 0), run_id
        assert np.all(np.diff(history["elapsed_seconds"]) >= 0), run_id
        model = keras.saving.load_model(info.path / "model.keras", safe_mode=True)
        y_true, probs = read_predictions(info.path)
        np.testing.assert_array_equal(y_true, data.y_test)
        np.testing.assert_allclose(model.predict(data.x_test.astype("float32"), verbose=0), probs, atol=1e-5)
