"""Broken inputs to training: each stops the command with a message naming the file or flag and the fix, before any
training starts, and writes nothing under ``runs/``.

A damaged CIFAR-10 folder (a truncated batch, a file in another format, labels
outside 0-9, a missing test batch), a suites file with a typo'd key or a wrong
type, and flags out of range. The data folders are synthetic but full-size
(the loader checks 10,000 images a batch), built once and copied by hard links.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from runstore.cifar import IMAGES_PER_BATCH, TEST_FILE, TRAIN_FILES
from tests.factories import write_cifar_batch
from training.cli import main
from training.config import ConfigError
from training.suites import get_suite

FIX = "Download the CIFAR-10 python version again"


@pytest.fixture(scope="module")
def good_folder(tmp_path_factory) -> Path:
    """A well-formed cifar-10-batches-py folder of random pixels (the test's control: it loads)."""
    folder = tmp_path_factory.mktemp("cifar-good")
    rng = np.random.default_rng(0)
    for name in (*TRAIN_FILES, TEST_FILE):
        images = rng.integers(0, 256, size=(IMAGES_PER_BATCH, 32, 32, 3), dtype=np.uint8)
        write_cifar_batch(folder / name, images, np.arange(IMAGES_PER_BATCH) % 10)
    return folder


def broken_copy(good: Path, into: Path, damage) -> Path:
    """``good`` linked file by file into ``into``, then ``damage(into)`` applied to the copy."""
    into.mkdir()
    for path in good.iterdir():
        os.link(path, into / path.name)
    damage(into)
    return into


def truncate(name: str):
    def damage(folder: Path) -> None:
        data = (folder / name).read_bytes()
        (folder / name).unlink()  # a new file: the hard link to the good one stays whole
        (folder / name).write_bytes(data[: len(data) // 2])
    return damage


def replace_with(name: str, content: bytes):
    def damage(folder: Path) -> None:
        (folder / name).unlink()
        (folder / name).write_bytes(content)
    return damage


def labels_outside(name: str):
    def damage(folder: Path) -> None:
        (folder / name).unlink()
        labels = np.arange(IMAGES_PER_BATCH) % 10
        labels[7] = 10
        write_cifar_batch(folder / name, np.zeros((IMAGES_PER_BATCH, 32, 32, 3), np.uint8), labels)
    return damage


def remove(name: str):
    return lambda folder: (folder / name).unlink()


def run_command(argv: list[str], capsys) -> tuple[int, str]:
    """``python -m training`` in this process: (exit status, stderr)."""
    try:
        status = main(argv)
    except SystemExit as exit:  # argparse's own errors
        status = exit.code
    return status, capsys.readouterr().err


def nothing_under_runs(artifacts: Path) -> bool:
    runs = artifacts / "runs"
    return not runs.exists() or not any(runs.iterdir())


def test_the_control_folder_loads(good_folder):
    from runstore.cifar import load_from_folder

    assert load_from_folder(good_folder).x_train.shape == (5 * IMAGES_PER_BATCH, 32, 32, 3)


@pytest.mark.parametrize(("damage", "file", "says"), [
    (truncate("data_batch_3"), "data_batch_3", "is corrupt"),
    (replace_with("data_batch_2", b"\x89PNG\r\n\x1a\n not a pickled batch"), "data_batch_2", "is corrupt"),
    (replace_with("data_batch_4", json.dumps({"data": [1, 2, 3]}).encode()), "data_batch_4", "is corrupt"),
    (labels_outside("data_batch_1"), "data_batch_1", "labels outside 0-9 (10)"),
    (remove(TEST_FILE), TEST_FILE, "missing"),
], ids=["truncated", "png", "json", "labels", "no-test-batch"])
@pytest.mark.parametrize("seeds", [None, "0,1"], ids=["one-run", "replicates"])
def test_a_damaged_data_folder_is_named_with_the_fix_and_nothing_is_written(good_folder, tmp_path, capsys, damage, file,
                                                                            says, seeds):
    folder = broken_copy(good_folder, tmp_path / "cifar", damage)
    artifacts = tmp_path / "artifacts"
    argv = ["run", "--model", "simple_cnn", "--epochs", "1", "--data-dir", str(folder), "--artifacts-dir", str(artifacts)]
    status, err = run_command(argv + (["--seeds", seeds] if seeds else []), capsys)
    assert status == 1
    assert str(folder / file) in err and says in err and FIX in err
    assert nothing_under_runs(artifacts)


@pytest.mark.parametrize(("flags", "message"), [
    (["--epochs", "0"], "epochs must be at least 1, got 0 (flag --epochs)"),
    (["--batch-size", "0"], "batch_size must be at least 1, got 0 (flag --batch-size)"),
    (["--train-limit", "5"], "train_limit must be at least 10 images (one per class), got 5 (flag --train-limit)"),
    (["--seeds", "0,1,1"], "repeat a seed; each replicate needs its own"),
    (["--seeds", "0,-1"], "--seeds"),
    (["--validation-size", "49995"], "validation_size 49,995 leaves fewer than 10 of the data set's 50,000 training images "
                                     "to train on; choose at most 49,990 (flag --validation-size)"),
])
def test_a_flag_out_of_range_names_the_flag_and_writes_nothing(good_folder, tmp_path, capsys, flags, message):
    artifacts = tmp_path / "artifacts"
    argv = ["run", "--model", "simple_cnn", "--data-dir", str(good_folder), "--artifacts-dir", str(artifacts), *flags]
    status, err = run_command(argv, capsys)
    assert status == 2
    assert message in err
    assert nothing_under_runs(artifacts)


def write_suites(tmp_path: Path, suite: dict) -> Path:
    path = tmp_path / "suites.json"
    path.write_text(json.dumps({"mine": suite}), encoding="utf-8")
    return path


@pytest.mark.parametrize(("suite", "says"), [
    ({"runs": [{"model": "simple_cnn", "epoch": 3}]}, "run 1 (?): Unknown config key(s) epoch. Valid keys:"),
    ({"runs": [{"model": "simple_cnn", "epochs": "three"}]}, "run 1 (?): Config key 'epochs' should be int or null, got 'three'"),
    ({"defualts": {}, "runs": []}, "unknown key(s) defualts; valid: description, stated_minutes, meant_for, defaults, runs, questions"),
    ({"runs": {"model": "simple_cnn"}}, "'runs' must be a JSON list, got dict"),
    ({"defaults": ["simple_cnn"], "runs": []}, "'defaults' must be a JSON object, got list"),
    ({"runs": ["simple_cnn"]}, "every entry of 'runs' must be a JSON object"),
])
def test_a_suites_file_with_a_typo_or_a_wrong_type_names_the_file_and_the_entry(tmp_path, suite, says):
    path = write_suites(tmp_path, suite)
    with pytest.raises(ConfigError) as raised:
        get_suite("mine", path=path, artifacts_dir=str(tmp_path / "artifacts"))
    assert str(raised.value).startswith(f"{path}: suite 'mine'")
    assert says in str(raised.value)
    assert not (tmp_path / "artifacts").exists()


def test_a_suite_on_a_damaged_folder_stops_before_its_first_run(good_folder, tmp_path, capsys):
    folder = broken_copy(good_folder, tmp_path / "cifar", truncate("data_batch_5"))
    artifacts = tmp_path / "artifacts"
    status, err = run_command(["suite", "demo", "--data-dir", str(folder), "--artifacts-dir", str(artifacts)], capsys)
    assert status == 1
    assert str(folder / "data_batch_5") in err and FIX in err
    assert not artifacts.exists() or nothing_under_runs(artifacts)
    shutil.rmtree(folder)
