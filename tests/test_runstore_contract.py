"""The run contract that moved into runstore: history format, status, rules, preprocessing, record, file modes.

Pure functions on literals and tiny temp folders; the layer and import checks
start a fresh interpreter so what they see is what a dashboard process sees.
"""

from __future__ import annotations

import json
import math
import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from runstore import atomic_write_json, read_history, read_history_rows
from runstore.writer import RunRecord, write_history_rows
from runstore.errors import BrokenRun
from runstore.preprocessing import PREPROCESSING_MODES, apply_preprocessing, run_preprocessing
from runstore.reader import list_runs, read_run_record
from runstore.rules import best_epoch, learning_rate_drops
from runstore.schema import READABLE_VERSIONS, SchemaError, validate_run_record
from runstore.signature import SIGNATURE_FILES, run_signature
from runstore.status import folder_status, run_status
from tests.factories import _dead_pid, make_run

REPO_ROOT = Path(__file__).resolve().parents[1]
FULL_ROW = {"accuracy": 0.5, "loss": 1.0, "val_accuracy": 0.4, "val_loss": 1.2}


# ----------------------------------------------------------------------------- history format


def test_history_written_once_reads_back_strictly_and_leniently(tmp_path):
    rows = [{"epoch": 0, **FULL_ROW, "learning_rate": 0.01}, {"epoch": 1, **FULL_ROW, "val_loss": math.nan}]
    write_history_rows(tmp_path / "history.csv", rows)
    text = (tmp_path / "history.csv").read_text()
    assert text.splitlines()[0] == "epoch,accuracy,learning_rate,loss,val_accuracy,val_loss"
    # The second row lacks learning_rate and its val_loss is NaN: both are NA, as Keras' CSVLogger writes them.
    assert text.splitlines()[2] == "1,0.5,NA,1.0,0.4,NA"
    frame = read_history(tmp_path)
    assert list(frame["epoch"]) == [0, 1] and math.isnan(frame.loc[1, "val_loss"])
    back = read_history_rows(tmp_path / "history.csv")
    assert back[0]["learning_rate"] == 0.01 and math.isnan(back[1]["learning_rate"])


def test_lenient_history_keeps_rows_before_a_torn_tail_that_the_strict_reader_refuses(tmp_path):
    write_history_rows(tmp_path / "history.csv", [{"epoch": 0, **FULL_ROW}, {"epoch": 1, **FULL_ROW}])
    with (tmp_path / "history.csv").open("a") as handle:
        handle.write("2,0.6,0.9,0.")
    assert [row["epoch"] for row in read_history_rows(tmp_path / "history.csv")] == [0, 1]
    with pytest.raises(BrokenRun, match="history.csv"):
        read_history(tmp_path)


# ----------------------------------------------------------------------------- rules


def test_best_epoch_is_lowest_val_loss_else_highest_val_accuracy():
    rows = [{"epoch": 0, "val_loss": 1.0, "val_accuracy": 0.9}, {"epoch": 1, "val_loss": 0.5, "val_accuracy": 0.1}]
    assert best_epoch(rows) == 1
    no_loss = [{"epoch": 0, "val_loss": math.nan, "val_accuracy": 0.2}, {"epoch": 1, "val_accuracy": 0.7},
               {"epoch": 2, "val_accuracy": 0.7}]
    assert best_epoch(no_loss) == 1  # the first of equal accuracies, as the lowest loss takes the first of equals
    assert best_epoch([{"epoch": 0, "loss": 1.0}]) is None and best_epoch([]) is None


def test_learning_rate_drops_ignore_missing_rates_and_float_noise():
    rows = [{"epoch": 0, "learning_rate": 0.1}, {"epoch": 1, "learning_rate": 0.1 * (1 - 1e-9)},
            {"epoch": 2, "learning_rate": math.nan}, {"epoch": 3, "learning_rate": 0.01}, {"epoch": 4, "learning_rate": 0.001}]
    assert learning_rate_drops(rows) == [4]


# ----------------------------------------------------------------------------- status


def record_with(**fields) -> dict:
    return {"status": "running", "pid": os.getpid(), "host": socket.gethostname(), **fields}


def test_run_status_tells_live_killed_finished_and_new_runs_apart(tmp_path):
    assert run_status(record_with()) == "running"
    assert run_status(record_with(pid=_dead_pid())) == "interrupted"
    assert run_status(record_with(pid=_dead_pid(), host="another-host")) == "running"  # cannot tell: assume alive
    assert run_status(record_with(status="complete", pid=_dead_pid())) == "complete"
    assert run_status(record_with(status="failed")) == "failed"
    assert run_status(None) == "new"
    assert folder_status(tmp_path) == "new"
    (tmp_path / "run.json").write_text('{"status": "runn')  # torn mid-write
    assert folder_status(tmp_path) == "new"


def test_the_reader_and_the_writer_agree_on_an_interrupted_run(tmp_path):
    folder = make_run(tmp_path, "killed", status="interrupted", epochs=2)
    assert folder_status(folder) == "interrupted"
    assert list_runs(tmp_path)[0].status == "interrupted"


# ----------------------------------------------------------------------------- preprocessing


@pytest.mark.parametrize("mode", ["tf", "caffe", "torch"])
def test_preprocessing_matches_keras_imagenet_utils(mode):
    from keras.applications import imagenet_utils

    pixels = np.random.default_rng(0).uniform(0, 255, (2, 4, 4, 3)).astype(np.float32)
    expected = imagenet_utils.preprocess_input(pixels.copy(), mode=mode)
    np.testing.assert_allclose(apply_preprocessing(pixels, mode), expected, rtol=1e-5, atol=1e-4)


def test_raw_and_unit_preprocessing_and_unknown_modes():
    pixels = np.array([[[0, 128, 255]]], dtype=np.uint8)
    raw = apply_preprocessing(pixels, "raw")
    assert raw.dtype == np.float32 and raw.tolist() == [[[0.0, 128.0, 255.0]]]
    np.testing.assert_allclose(apply_preprocessing(pixels, "unit"), [[[0.0, 128 / 255, 1.0]]])
    with pytest.raises(ValueError, match="valid: raw, unit, tf, caffe, torch"):
        apply_preprocessing(pixels, "vgg16")
    assert set(PREPROCESSING_MODES) == {"raw", "unit", "tf", "caffe", "torch"}


def test_a_run_recorded_before_the_field_existed_reads_as_raw(tmp_path):
    folder = make_run(tmp_path, "old", status="failed", epochs=1)
    record = json.loads((folder / "run.json").read_text())
    assert record["preprocessing"] == "raw"  # new runs record it
    del record["preprocessing"]
    assert run_preprocessing(validate_run_record(record)) == "raw"
    with pytest.raises(SchemaError, match="preprocessing 'sideways'"):
        validate_run_record({**record, "preprocessing": "sideways"})
    assert READABLE_VERSIONS[-1] == record["schema_version"]


# ----------------------------------------------------------------------------- record and files


def test_run_record_loads_an_existing_run_and_rewrites_it_validly(tmp_path):
    folder = make_run(tmp_path, "done", epochs=2)
    before = read_run_record(folder)
    record = RunRecord.load(folder)
    record.update(test_accuracy=0.5, evaluation={"re_evaluated": True})
    after = read_run_record(folder)
    assert after["test_accuracy"] == 0.5 and after["evaluation"] == {"re_evaluated": True}
    assert {key: value for key, value in after.items() if key not in ("test_accuracy", "evaluation", "updated_at")} == {
        key: value for key, value in before.items() if key not in ("test_accuracy", "updated_at")}
    (folder / "run.json").write_text("{}")
    with pytest.raises(BrokenRun, match="schema_version"):
        RunRecord.load(folder)


def test_a_new_record_takes_provenance_from_the_writer(tmp_path):
    record = RunRecord(tmp_path, {"run_id": "x"}, provenance={"versions": {"keras": "9"}, "git_commit": "abc"})
    assert record.fields["versions"] == {"keras": "9"} and record.fields["git_commit"] == "abc"
    assert record.fields["status"] == "running" and record.fields["pid"] == os.getpid()


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_atomic_writes_honour_the_umask_like_open_does(tmp_path, umask, mode):
    previous = os.umask(umask)
    try:
        atomic_write_json(tmp_path / "run.json", {"a": 1})
        with open(tmp_path / "plain", "w"):
            pass
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "run.json").stat().st_mode) == mode
    assert stat.S_IMODE((tmp_path / "plain").stat().st_mode) == mode


def test_run_signature_changes_when_the_history_does(tmp_path):
    folder = make_run(tmp_path, "live", status="running", epochs=1)
    before = run_signature(folder)
    os.utime(folder / "history.csv", ns=(1, 1))
    assert run_signature(folder) != before and run_signature(tmp_path / "absent") == (-1,) * len(SIGNATURE_FILES)


# ----------------------------------------------------------------------------- one-way imports


def test_the_reading_side_never_imports_training():
    offenders = []
    for package in ("analysis", "serving", "dashboard", "runstore", "labkeras"):
        for path in sorted((REPO_ROOT / package).rglob("*.py")):
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
                if line.lstrip().startswith(("from training", "import training")):
                    offenders.append(f"{path.relative_to(REPO_ROOT)}:{number}: {line.strip()}")
    assert offenders == []


def test_runstore_imports_no_deep_learning_or_ui_library_and_readers_pull_in_no_training():
    code = (
        "import sys, runstore, runstore.cifar, runstore.writer\n"
        "heavy = sorted({name.split('.')[0] for name in sys.modules} & {'tensorflow', 'keras', 'streamlit', 'training'})\n"
        "import analysis.report, analysis.curves, serving.predict, serving.models\n"
        "print(heavy, 'training' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[] False"
