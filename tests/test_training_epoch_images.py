"""Shorter epochs: ``epoch_images`` gives a short run more evaluation points, and history counts images seen."""

from __future__ import annotations

import pytest

from runstore import read_history
from tests.training_fixtures import synthetic_cifar
from training.config import RunConfig
from training.train import run_training


@pytest.mark.slow
def test_epoch_images_gives_one_history_row_per_evaluation_with_images_seen(tmp_path):
    config = RunConfig.from_dict({
        "model": "simple_cnn", "blocks": 1, "epochs": 5, "epoch_images": 48, "batch_size": 16, "validation_size": 40,
        "augment": False, "run_id": "short-epochs", "artifacts_dir": str(tmp_path), "early_stopping_patience": 50,
    })
    folder = run_training(config, data=synthetic_cifar(train_count=200, test_count=40), verbose=0)
    history = read_history(folder)
    # 5 evaluation points out of 160 training images: the data repeats under the shorter epochs.
    assert list(history["epoch"]) == [0, 1, 2, 3, 4]
    assert list(history["images_seen"]) == [48, 96, 144, 192, 240]
    assert history["val_accuracy"].notna().all()


@pytest.mark.slow
def test_without_epoch_images_an_epoch_is_one_pass_and_counts_each_image_once(tmp_path):
    config = RunConfig.from_dict({
        "model": "simple_cnn", "blocks": 1, "epochs": 2, "batch_size": 16, "validation_size": 40,
        "augment": False, "run_id": "full-epochs", "artifacts_dir": str(tmp_path),
    })
    folder = run_training(config, data=synthetic_cifar(train_count=200, test_count=40), verbose=0)
    # 160 training images (200 less 40 for validation), the last batch of each pass only 0 short of 16.
    assert list(read_history(folder)["images_seen"]) == [160, 320]
