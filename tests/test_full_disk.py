"""A full disk, for real: training, LabCallback and the dashboard on a small tmpfs that fills up.

The test mounts its own tmpfs (root only, as in CI; skipped with the reason
otherwise), writes one complete run there, then fills the disk to within a few
blocks and starts another. Checked: a message naming the folder, the space left
and the space the run needs; the run left failed with that reason and no
half-written file; the other run byte for byte as it was; after space is freed,
the same call finishes the run. And the dashboard still opens every page while
the disk is full.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from runstore import list_runs
from tests.training_fixtures import synthetic_cifar
from training.config import RunConfig

pytestmark = pytest.mark.slow

# simple_cnn with one block holds about 1.1M parameters: 56 MB for a trainer's run at its fullest.
DISK_MB = 96
LEFT_FREE = 64 * 1024  # a few blocks: enough for run.json, not for the first checkpoint


@pytest.fixture
def small_disk(tmp_path):
    """A tmpfs of DISK_MB mounted at tmp_path/disk for this test only."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={DISK_MB}m", "tmpfs", str(mount_point)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root and CAP_SYS_ADMIN, as in CI): {result.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def fill(disk: Path, leave: int) -> Path:
    """Write a filler file so that about ``leave`` bytes stay free on ``disk``; return it (delete it to free the space)."""
    filler = disk / "filler"
    with open(filler, "wb") as handle:
        handle.write(b"\0" * max(0, shutil.disk_usage(disk).free - leave))
    return filler


def digests(folder: Path) -> dict[str, str]:
    return {str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(folder.rglob("*")) if path.is_file()}


def leftovers(folder: Path) -> list[str]:
    """Half-written files a failed write could have left (every writer uses a .partial name until its rename)."""
    return [str(path.relative_to(folder)) for path in folder.rglob("*") if ".partial" in path.name]


def trainer_config(disk: Path, run_id: str) -> RunConfig:
    return RunConfig.from_dict({"model": "simple_cnn", "blocks": 1, "epochs": 3, "run_id": run_id,
                                "artifacts_dir": str(disk), "validation_size": 20, "batch_size": 16,
                                "early_stopping_patience": 10})


# h5py reports, from a destructor, that it could not flush the half-written checkpoint it closes: expected here.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_training_run_on_a_full_disk_fails_clearly_and_finishes_once_space_is_freed(small_disk):
    from training.train import TrainingError, run_training

    data = synthetic_cifar()
    run_training(trainer_config(small_disk, "other"), data=data, verbose=0)
    other_before = digests(small_disk / "runs" / "other")
    filler = fill(small_disk, LEFT_FREE)

    with pytest.raises(TrainingError) as raised:
        run_training(trainer_config(small_disk, "full"), data=data, verbose=0)
    message = str(raised.value)
    folder = small_disk / "runs" / "full"
    assert f"The disk is full (no space left while writing {folder}" in message
    assert "MB free there; this run needs about" in message and "run the same command again" in message

    record = json.loads((folder / "run.json").read_text())
    assert record["status"] == "failed" and record["error"] == message
    assert leftovers(folder) == []
    listed = {info.run_id: info.status for info in list_runs(small_disk)}
    assert listed == {"other": "complete", "full": "failed"}
    assert digests(small_disk / "runs" / "other") == other_before

    filler.unlink()
    run_training(trainer_config(small_disk, "full"), data=data, verbose=0)
    record = json.loads((folder / "run.json").read_text())
    assert record["status"] == "complete"
    history = (folder / "history.csv").read_text().splitlines()
    assert [line.split(",")[0] for line in history[1:]] == ["0", "1", "2"]  # each epoch once, in order
    assert leftovers(folder) == []


def test_a_lab_callback_run_on_a_full_disk_fails_clearly_and_the_script_runs_again(small_disk, capsys):
    import keras

    from training.lab_callback import LabCallback

    keras.utils.set_random_seed(0)
    data = synthetic_cifar()

    def fit(run_id: str):
        inputs = keras.Input((32, 32, 3))
        features = keras.layers.Conv2D(16, 3, activation="relu")(keras.layers.Rescaling(1 / 255)(inputs))
        outputs = keras.layers.Dense(10, activation="softmax")(keras.layers.Flatten()(features))
        model = keras.Model(inputs, outputs, name="notebook_cnn")  # 230k parameters: a 2.8 MB model.keras
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        callback = LabCallback(run_id, preprocessing="raw", artifacts_dir=small_disk,
                               test_data=(data.x_test, data.y_test), progress=False)
        model.fit(data.x_train, data.y_train, epochs=2, batch_size=32, verbose=0, callbacks=[callback])

    fit("other")
    other_before = digests(small_disk / "runs" / "other")
    filler = fill(small_disk, 256 * 1024)  # room for the history and run.json, not for the model
    with pytest.raises(OSError):
        fit("full")
    folder = small_disk / "runs" / "full"
    record = json.loads((folder / "run.json").read_text())
    assert record["status"] == "failed"
    assert record["error"].startswith(f"The disk is full (no space left while writing {folder}")
    assert "then run your script again: the run starts over" in record["error"]
    assert record["error"] in capsys.readouterr().err
    assert not (folder / "model.keras").exists() and leftovers(folder) == []
    assert digests(small_disk / "runs" / "other") == other_before

    filler.unlink()
    fit("full")
    assert json.loads((folder / "run.json").read_text())["status"] == "complete"


def test_the_dashboard_opens_every_page_while_the_disk_is_full(small_disk, monkeypatch):
    from tests.app_pages import point_dashboard_at, run_page
    from tests.factories import make_demo_artifacts, synthetic_test_set, write_cifar_test_folder

    cifar = write_cifar_test_folder(small_disk / "cifar", *synthetic_test_set())
    artifacts = make_demo_artifacts(small_disk / "artifacts")
    fill(small_disk, 0)
    assert shutil.disk_usage(small_disk).free < 64 * 1024
    point_dashboard_at(monkeypatch, artifacts, cifar)
    monkeypatch.setenv("DASHBOARD_WARMUP", "0")
    runs = [info.run_id for info in list_runs(artifacts) if info.status == "complete"]
    for page in ("overview", "curves", "confusion", "misclassified", "classify", "data", "compare", "failures",
                 "report", "add_model"):
        app = run_page(None if page == "overview" else page, runs=runs, run=runs[0])
        assert not app.exception, f"{page}: {app.exception}"
    assert np.all([info.status != "broken" for info in list_runs(artifacts)  # reading wrote nothing that broke a run
                   if info.run_id in runs])


def test_an_import_on_a_full_disk_is_refused_clearly_and_keeps_nothing(small_disk, tmp_path):
    from tests.byom_notebook import train
    from tests.factories import synthetic_test_set, write_cifar_test_folder
    from training.importer import ImportRefused, import_model

    cifar = write_cifar_test_folder(tmp_path / "cifar", *synthetic_test_set())
    notebook = train(tmp_path / "notebook", str(cifar))  # the user's files live off the full disk
    import_model(notebook["keras"], "other", "unit", artifacts_dir=small_disk, data_dir=cifar, progress=False)
    other_before = digests(small_disk / "runs" / "other")
    filler = fill(small_disk, 0)  # the notebook's model is a few KB: no room at all
    with pytest.raises(ImportRefused) as raised:
        import_model(notebook["keras"], "full", "unit", artifacts_dir=small_disk, data_dir=cifar, progress=False)
    message = str(raised.value)
    assert message.startswith("The disk is full (no space left while writing")
    assert "MB free there; this run needs about" in message and "then import again: nothing of this import was kept." in message
    assert sorted(path.name for path in (small_disk / "runs").iterdir()) == ["other"]  # no hidden build folder left
    assert digests(small_disk / "runs" / "other") == other_before

    filler.unlink()
    folder = import_model(notebook["keras"], "full", "unit", artifacts_dir=small_disk, data_dir=cifar, progress=False)
    assert json.loads((folder / "run.json").read_text())["status"] == "complete"
