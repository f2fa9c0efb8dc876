"""A training process killed with SIGKILL mid-run continues from its last finished epoch with one history."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from runstore import read_history
from runstore.reader import inspect_run
from runstore.schema import validate_run_record

FIXTURES = Path(__file__).with_name("training_fixtures.py")
EPOCHS = 6


def _start(artifacts, run_id):
    return subprocess.Popen([sys.executable, str(FIXTURES), str(artifacts), run_id, str(EPOCHS)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _finished_epochs(history_file: Path) -> int:
    try:
        return max(0, len(history_file.read_text().splitlines()) - 1)
    except FileNotFoundError:
        return 0


@pytest.mark.slow
def test_sigkill_then_restart_continues_with_one_history(tmp_path):
    run_id = "killed"
    folder = tmp_path / "runs" / run_id
    process = _start(tmp_path, run_id)
    deadline = time.monotonic() + 240
    while _finished_epochs(folder / "history.csv") < 2:
        assert process.poll() is None, process.stderr.read().decode()[-2000:]
        assert time.monotonic() < deadline, "training never reached epoch 2"
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    process.stderr.close()

    # What a reader sees right after the kill: a valid record saying "running", a readable history.
    killed_record = validate_run_record(json.loads((folder / "run.json").read_text()))
    assert killed_record["status"] == "running"
    assert inspect_run(folder).status == "interrupted"
    epochs_before = read_history(folder)["epoch"].tolist()
    assert epochs_before == list(range(len(epochs_before))) and len(epochs_before) >= 2
    assert list((folder / "backup").glob("epoch-*/training_metadata.json"))  # training.backup's layout

    restarted = _start(tmp_path, run_id)
    _, errors = restarted.communicate(timeout=300)
    assert restarted.returncode == 0, errors.decode()[-2000:]

    record = validate_run_record(json.loads((folder / "run.json").read_text()))
    assert record["status"] == "complete"
    assert record["resumed_from_epoch"] >= 2
    history = read_history(folder)
    assert history["epoch"].tolist() == list(range(EPOCHS))
    assert history["elapsed_seconds"].is_monotonic_increasing
    # The epochs finished before the kill are kept as they were.
    before = history[history["epoch"] < record["resumed_from_epoch"]]
    assert len(before) == record["resumed_from_epoch"]
    assert record["epochs_run"] == EPOCHS and not (folder / "backup").exists()


def _history(folder: Path, rows: list[tuple[int, float, float]]) -> None:
    lines = ["epoch,elapsed_seconds,val_loss"] + [f"{epoch},{elapsed},{loss}" for epoch, elapsed, loss in rows]
    (folder / "history.csv").write_text("\n".join(lines) + "\n")


def test_a_resumed_attempt_keeps_the_first_start_the_early_stop_and_the_earlier_epochs(tmp_path):
    from runstore.writer import RunRecord
    from training.resumption import resume_from_earlier_attempt

    (tmp_path / "run.json").write_text(json.dumps({"started_at": "2026-01-01T10:00:00Z", "early_stop_epoch": 1}))
    _history(tmp_path, [(0, 10.0, 2.0), (1, 20.5, 1.5), (2, 31.0, 1.7)])
    record = RunRecord(tmp_path, {"run_id": "r"})
    resumption = resume_from_earlier_attempt(record, tmp_path, resume_epoch=2)
    assert (resumption.epoch, [row["epoch"] for row in resumption.history_rows]) == (2, [0, 1])
    assert resumption.elapsed_seconds == 20.5 and resumption.stopped_early
    assert record.fields["started_at"] == "2026-01-01T10:00:00Z" and record.fields["early_stop_epoch"] == 1


def test_a_fresh_start_carries_nothing_over(tmp_path):
    from runstore.writer import RunRecord
    from training.resumption import resume_from_earlier_attempt

    (tmp_path / "run.json").write_text(json.dumps({"started_at": "2026-01-01T10:00:00Z", "early_stop_epoch": 1}))
    _history(tmp_path, [(0, 10.0, 2.0)])
    record = RunRecord(tmp_path, {"run_id": "r"})
    resumption = resume_from_earlier_attempt(record, tmp_path, resume_epoch=None)
    assert (resumption.epoch, resumption.history_rows, resumption.elapsed_seconds, resumption.stopped_early) == (None, [], 0.0, False)
    assert record.fields["started_at"] != "2026-01-01T10:00:00Z" and record.fields["early_stop_epoch"] is None
