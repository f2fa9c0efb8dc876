"""Epoch backups (issue 27): whole or absent, and a rerun resumes from the newest whole one or starts over, saying which.

The first tests build backups with ``training.backup`` on a two-layer model and
check them; the slow ones train the killable run of ``training_fixtures.py`` in
a subprocess, kill it during a backup (at a fixed point, then at random points),
damage what it left, and train it to the end.
"""

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import keras
import numpy as np
import pytest

import labkeras.layers  # noqa: F401  (the lab's layers, to load model.keras)
from runstore import read_history
from runstore.writer import write_history_rows
from runstore.schema import validate_run_record
from training import backup
from training.train import run_training
from tests.training_fixtures import killable_run_config, killable_run_data

FIXTURES = Path(__file__).with_name("training_fixtures.py")
EPOCHS = 6
STEPS_PER_EPOCH = 23  # 400 synthetic images less 40 for validation, in batches of 16


# ----------------------------------------------------------------------------- backups of a two-layer model


def _model(seed: int = 0):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3), keras.layers.Dense(2)])
    model.compile(keras.optimizers.Adam(0.01), "mse")
    return model


def _trained(steps: int = 2, seed: int = 0):
    model = _model(seed)
    model.fit(np.ones((4 * steps, 4)), np.ones((4 * steps, 2)), epochs=1, batch_size=4, verbose=0)
    return model


def _empty(path: Path) -> None:
    path.write_bytes(b"")


def _truncated(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _garbage(path: Path) -> None:
    path.write_bytes(bytes(range(256)) * (path.stat().st_size // 256 + 1))


DAMAGE = {"empty": _empty, "truncated": _truncated, "garbage": _garbage}


def _history(folder: Path, epochs: int) -> None:
    write_history_rows(folder / "history.csv", [{"epoch": epoch, "val_loss": 1.0} for epoch in range(epochs)])


def _backups(folder: Path, epochs: list[int], keep: int = 5) -> None:
    model = _trained()
    for epoch in epochs:
        backup.write_epoch_backup(model, folder / "backup", epoch, keep=keep)
    _history(folder, max(epochs))


def test_a_whole_weights_file_passes_the_check(tmp_path):
    path = tmp_path / "x.weights.h5"
    _trained().save_weights(path)
    assert backup.weights_problem(path) is None
    assert backup.weights_problem(path, expected_bytes=path.stat().st_size) is None


@pytest.mark.parametrize("damage", DAMAGE)
def test_a_damaged_weights_file_fails_the_check_with_a_reason(tmp_path, damage):
    path = tmp_path / "x.weights.h5"
    _trained().save_weights(path)
    DAMAGE[damage](path)
    problem = backup.weights_problem(path)
    assert problem and problem.startswith("x.weights.h5 ")
    assert ("empty" in problem) if damage == "empty" else ("not a readable weights file" in problem)


def test_a_weights_file_without_optimizer_state_or_of_another_size_fails_the_check(tmp_path):
    path = tmp_path / "x.weights.h5"
    with h5py.File(path, "w") as handle:
        handle.create_dataset("layers/dense/vars/0", data=np.ones(3))
    assert backup.weights_problem(path) == "x.weights.h5 has no optimizer group"
    _trained().save_weights(path)
    size = path.stat().st_size
    assert backup.weights_problem(path, expected_bytes=size + 1) == f"x.weights.h5 has {size} bytes, {size + 1} were written"


def test_the_weights_file_estimate_covers_the_file_keras_writes(tmp_path):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(512), keras.layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    model.fit(np.ones((8, 64)), np.ones((8, 2)), epochs=1, batch_size=4, verbose=0)
    model.save_weights(tmp_path / "x.weights.h5")
    written = (tmp_path / "x.weights.h5").stat().st_size
    arrays = 3 * (64 * 512 + 512 + 512 * 2 + 2) * 4  # the weights and Adam's two moments, float32
    assert written >= arrays  # the file holds the optimizer's slots: the estimate must count them
    assert written <= backup.weights_file_bytes(model) <= written + backup.HDF5_OVERHEAD_BYTES


@pytest.mark.parametrize("write", ["checkpoint", "epoch backup"])
def test_a_weights_write_that_cannot_fit_is_refused_before_hdf5_starts(tmp_path, monkeypatch, write):
    # When h5py itself runs out of space, HDF5 crashes the process at exit: the lab refuses first.
    monkeypatch.setattr(backup, "free_bytes", lambda folder: 1000)
    model = _trained()
    with pytest.raises(OSError) as raised:
        if write == "checkpoint":
            backup.atomic_save_weights(model, tmp_path / "best.weights.h5")
        else:
            backup.write_epoch_backup(model, tmp_path / "backup", 1)
    assert raised.value.errno == errno.ENOSPC
    assert [path.name for path in tmp_path.rglob("*") if path.is_file()] == []


def test_each_backup_is_a_whole_folder_and_only_the_newest_two_stay(tmp_path):
    model = _trained()
    for epoch in (1, 2, 3):
        backup.write_epoch_backup(model, tmp_path / "backup", epoch)
    assert sorted(child.name for child in (tmp_path / "backup").iterdir()) == ["epoch-2", "epoch-3"]
    metadata = json.loads((tmp_path / "backup" / "epoch-3" / "training_metadata.json").read_text())
    assert metadata == {"epoch": 3, "weights_bytes": (tmp_path / "backup" / "epoch-3" / "weights.weights.h5").stat().st_size}


def test_the_newest_whole_backup_is_chosen(tmp_path):
    _backups(tmp_path, [2, 3])
    check = backup.latest_whole_backup(tmp_path)
    assert (check.epoch, check.backup.name) == (3, "epoch-3")
    assert check.note == "resuming from epoch 3 (backup epoch-3 is whole)"


@pytest.mark.parametrize("damage", DAMAGE)
def test_a_torn_newest_backup_falls_back_to_the_one_before(tmp_path, damage):
    _backups(tmp_path, [2, 3])
    DAMAGE[damage](tmp_path / "backup" / "epoch-3" / "weights.weights.h5")
    check = backup.latest_whole_backup(tmp_path)
    assert check.epoch == 2
    assert check.note.startswith("backup epoch-3 is torn (weights.weights.h5 ")
    assert check.note.endswith("; resuming from epoch 2")


def test_unreadable_metadata_makes_a_backup_torn(tmp_path):
    _backups(tmp_path, [2, 3])
    (tmp_path / "backup" / "epoch-3" / "training_metadata.json").write_text('{"epo')
    check = backup.latest_whole_backup(tmp_path)
    assert check.epoch == 2 and "backup epoch-3 is torn (training_metadata.json is unreadable" in check.note


def test_a_backup_ahead_of_the_history_is_skipped(tmp_path):
    # Killed after the backup of epoch 3 was renamed in, before history.csv got epoch 2's row.
    _backups(tmp_path, [2, 3])
    _history(tmp_path, 2)
    check = backup.latest_whole_backup(tmp_path)
    assert check.epoch == 2
    assert check.note == "backup epoch-3 is ahead of history.csv, which ends after 2 epochs; resuming from epoch 2"


def test_with_every_backup_torn_the_check_says_start_over(tmp_path):
    _backups(tmp_path, [2, 3])
    for epoch in (2, 3):
        _empty(tmp_path / "backup" / f"epoch-{epoch}" / "weights.weights.h5")
    check = backup.latest_whole_backup(tmp_path)
    assert check.backup is None and check.epoch is None
    assert check.note == ("backup epoch-3 is torn (weights.weights.h5 is empty); "
                          "backup epoch-2 is torn (weights.weights.h5 is empty); no whole backup; starting over")


def test_no_backup_at_all_is_a_fresh_start_without_a_note(tmp_path):
    assert backup.latest_whole_backup(tmp_path) == backup.BackupCheck(None, None)
    assert not backup.has_backup(tmp_path)


def _legacy(folder: Path, epoch: int, whole: bool) -> None:
    """What Keras' BackupAndRestore left: latest.weights.h5 and training_metadata.json in backup/."""
    (folder / "backup").mkdir(parents=True)
    weights = folder / "backup" / "latest.weights.h5"
    _trained().save_weights(weights)
    if not whole:
        _empty(weights)
    (folder / "backup" / "training_metadata.json").write_text(json.dumps({"epoch": epoch, "batch": 0}))
    _history(folder, epoch)


def test_a_whole_old_layout_backup_is_resumed_from(tmp_path):
    _legacy(tmp_path, 3, whole=True)
    check = backup.latest_whole_backup(tmp_path)
    assert (check.epoch, check.backup.name) == (3, "latest.weights.h5") and backup.has_backup(tmp_path)
    assert backup.backup_of_epoch(tmp_path / "backup", 3) == check.backup


def test_the_torn_old_layout_backup_of_issue_27_means_start_over(tmp_path):
    _legacy(tmp_path, 3, whole=False)
    check = backup.latest_whole_backup(tmp_path)
    assert check.backup is None
    assert check.note == "backup latest.weights.h5 is torn (latest.weights.h5 is empty); no whole backup; starting over"


def test_a_new_backup_replaces_the_old_layout(tmp_path):
    _legacy(tmp_path, 3, whole=True)
    backup.write_epoch_backup(_trained(), tmp_path / "backup", 4)
    assert sorted(child.name for child in (tmp_path / "backup").iterdir()) == ["epoch-4"]


def test_restoring_brings_back_the_weights_and_the_optimizer_state(tmp_path):
    trained = _trained(steps=3, seed=0)
    backup.write_epoch_backup(trained, tmp_path / "backup", 1)
    fresh = _model(seed=1)
    assert not fresh.optimizer.built
    backup.restore_backup(fresh, backup.backup_of_epoch(tmp_path / "backup", 1))
    assert int(fresh.optimizer.iterations.numpy()) == 3
    for restored, saved in zip(fresh.weights + fresh.optimizer.variables, trained.weights + trained.optimizer.variables):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(restored), keras.ops.convert_to_numpy(saved))


def test_training_begins_by_removing_what_a_killed_attempt_left(tmp_path):
    _backups(tmp_path, [2, 3])
    (tmp_path / "backup" / ".partial-99999").mkdir()
    (tmp_path / "backup" / ".partial-99999" / "weights.weights.h5").write_bytes(b"half")
    backup.remove_leftovers(tmp_path / "backup", backup.backup_of_epoch(tmp_path / "backup", 2))
    assert sorted(child.name for child in (tmp_path / "backup").iterdir()) == ["epoch-2"]


def test_best_weights_are_written_without_a_temporary_file_left(tmp_path):
    path = tmp_path / "backup" / "best.weights.h5"
    backup.atomic_save_weights(_trained(), path)
    assert [child.name for child in path.parent.iterdir()] == ["best.weights.h5"]
    assert backup.weights_problem(path) is None


# ----------------------------------------------------------------------------- real runs, killed during a backup


def _start(artifacts: Path, run_id: str, crash_at: str | None = None) -> subprocess.Popen:
    environment = {key: value for key, value in os.environ.items() if key != backup.CRASH_ENV}
    if crash_at:
        environment[backup.CRASH_ENV] = crash_at
    return subprocess.Popen([sys.executable, str(FIXTURES), str(artifacts), run_id, str(EPOCHS)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=environment)


@pytest.fixture(scope="module")
def killed_mid_backup(tmp_path_factory):
    """The run folder of a trainer that killed itself after writing epoch 4's weights, before renaming them in."""
    artifacts = tmp_path_factory.mktemp("killed")
    process = _start(artifacts, "killed", crash_at="weights-written:4")
    _, errors = process.communicate(timeout=300)
    assert process.returncode == -signal.SIGKILL, errors.decode()[-2000:]
    return artifacts / "runs" / "killed"


def _continue(killed: Path, tmp_path: Path, change=None) -> tuple[dict, Path]:
    """Copy the killed run's folder, ``change`` it, and train it to the end in this process; return its record and folder."""
    folder = tmp_path / "runs" / killed.name
    shutil.copytree(killed, folder)
    if change is not None:
        change(folder / "backup")
    run_training(killable_run_config(tmp_path, killed.name, EPOCHS), data=killable_run_data(), verbose=0)
    record = validate_run_record(json.loads((folder / "run.json").read_text()))
    assert record["status"] == "complete" and record["epochs_run"] == EPOCHS
    assert read_history(folder)["epoch"].tolist() == list(range(EPOCHS))  # every epoch once, in order
    assert not (folder / "backup").exists()
    return record, folder


@pytest.mark.slow
def test_a_kill_between_the_weights_and_the_rename_leaves_the_previous_backups_whole(killed_mid_backup):
    names = sorted(child.name for child in (killed_mid_backup / "backup").iterdir())
    assert names[0].startswith(".partial-") and names[1:] == ["best.weights.h5", "epoch-2", "epoch-3"]
    assert backup.latest_whole_backup(killed_mid_backup).epoch == 3


@pytest.mark.slow
def test_the_rerun_resumes_with_the_optimizer_state_and_records_the_note(killed_mid_backup, tmp_path):
    before = read_history(killed_mid_backup)
    record, folder = _continue(killed_mid_backup, tmp_path)
    assert record["resumed_from_epoch"] == 3
    assert record["resume_note"] == "resuming from epoch 3 (backup epoch-3 is whole)"
    after = read_history(folder)
    assert after[after["epoch"] < 3].reset_index(drop=True).equals(before)  # the epochs before the kill, as they were
    # model.keras holds the best epoch's optimizer too: its step count runs on from the restored one.
    assert record["best_epoch"] >= 3
    model = keras.saving.load_model(folder / "model.keras")
    assert int(model.optimizer.iterations.numpy()) == (record["best_epoch"] + 1) * STEPS_PER_EPOCH


@pytest.mark.slow
@pytest.mark.parametrize("damage", DAMAGE)
def test_a_torn_latest_backup_resumes_from_the_one_before(killed_mid_backup, tmp_path, damage):
    record, _ = _continue(killed_mid_backup, tmp_path, lambda folder: DAMAGE[damage](folder / "epoch-3" / "weights.weights.h5"))
    assert record["resumed_from_epoch"] == 2
    assert record["resume_note"].startswith("backup epoch-3 is torn (weights.weights.h5 ")
    assert record["resume_note"].endswith("; resuming from epoch 2")


@pytest.mark.slow
def test_with_every_backup_torn_the_rerun_starts_over(killed_mid_backup, tmp_path):
    def tear_both(folder: Path) -> None:
        for epoch in (2, 3):
            _truncated(folder / f"epoch-{epoch}" / "weights.weights.h5")

    record, _ = _continue(killed_mid_backup, tmp_path, tear_both)
    assert record["resumed_from_epoch"] is None
    assert record["resume_note"].endswith("; no whole backup; starting over")


@pytest.mark.slow
def test_a_kill_after_the_rename_before_the_history_row_resumes_without_a_gap(tmp_path):
    process = _start(tmp_path, "ahead", crash_at="published:4")
    _, errors = process.communicate(timeout=300)
    assert process.returncode == -signal.SIGKILL, errors.decode()[-2000:]
    killed = tmp_path / "runs" / "ahead"
    assert (killed / "backup" / "epoch-4").is_dir() and read_history(killed)["epoch"].tolist() == [0, 1, 2]
    record, _ = _continue(killed, tmp_path / "rerun")
    assert record["resumed_from_epoch"] == 3
    assert record["resume_note"] == "backup epoch-4 is ahead of history.csv, which ends after 3 epochs; resuming from epoch 3"


def _as_old_layout(whole: bool):
    """Turn a backup folder into what Keras' BackupAndRestore left of epoch 3 (torn: the 0-byte weights of issue 27)."""
    def change(folder: Path) -> None:
        weights = folder / "latest.weights.h5"
        shutil.copyfile(folder / "epoch-3" / "weights.weights.h5", weights)
        if not whole:
            _empty(weights)
        (folder / "training_metadata.json").write_text(json.dumps({"epoch": 3, "batch": 0}))
        for name in ("epoch-2", "epoch-3"):
            shutil.rmtree(folder / name)
    return change


@pytest.mark.slow
def test_the_torn_old_layout_backup_of_issue_27_no_longer_fails_the_rerun(killed_mid_backup, tmp_path):
    record, _ = _continue(killed_mid_backup, tmp_path, _as_old_layout(whole=False))
    assert record["resumed_from_epoch"] is None
    assert record["resume_note"] == ("backup latest.weights.h5 is torn (latest.weights.h5 is empty); "
                                     "no whole backup; starting over")


@pytest.mark.slow
def test_a_whole_old_layout_backup_is_resumed_from_by_a_real_run(killed_mid_backup, tmp_path):
    record, _ = _continue(killed_mid_backup, tmp_path, _as_old_layout(whole=True))
    assert record["resumed_from_epoch"] == 3
    assert record["resume_note"] == "resuming from epoch 3 (backup latest.weights.h5 is whole)"


def _finished_epochs(folder: Path) -> int:
    try:
        return max(0, len((folder / "history.csv").read_text().splitlines()) - 1)
    except FileNotFoundError:
        return 0


def _writing_a_backup(folder: Path) -> bool:
    try:
        return any(entry.name.startswith(".partial-") for entry in os.scandir(folder / "backup"))
    except FileNotFoundError:
        return False


@pytest.mark.slow
def test_killed_while_writing_backups_again_and_again_the_run_still_finishes(tmp_path):
    """SIGKILL from outside as soon as a backup is being written (or an epoch later), three times, then let it finish."""
    folder = tmp_path / "runs" / "again"
    kills = 0
    for _ in range(3):
        process = _start(tmp_path, "again")
        epochs_at_start = _finished_epochs(folder)
        deadline = time.monotonic() + 240
        while not _writing_a_backup(folder) and _finished_epochs(folder) <= epochs_at_start:
            if process.poll() is not None:
                break
            assert time.monotonic() < deadline, "the trainer never wrote a backup"
            time.sleep(0.001)
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            kills += 1
        process.communicate(timeout=60)
        # Whatever the kill left, the check decides without raising: a whole backup, or start over.
        check = backup.latest_whole_backup(folder)
        assert check.backup is None or backup.weights_problem(check.backup.weights) is None
    assert kills >= 2
    process = _start(tmp_path, "again")
    _, errors = process.communicate(timeout=300)
    assert process.returncode == 0, errors.decode()[-2000:]
    record = validate_run_record(json.loads((folder / "run.json").read_text()))
    assert record["status"] == "complete" and record["epochs_run"] == EPOCHS
    assert read_history(folder)["epoch"].tolist() == list(range(EPOCHS))
    assert not (folder / "backup").exists()
