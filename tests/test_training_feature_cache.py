"""Transfer models train on cached frozen-base features; a second run reuses the cache with identical results."""

import json

import keras
import numpy as np
import pytest

import labkeras.layers  # noqa: F401
from runstore import read_history, read_predictions
from training.config import RunConfig
from training.feature_cache import cache_key
from training.train import run_training
from tests.training_fixtures import synthetic_cifar

# Builds VGG16 twice and trains it: a few minutes on a busy 2-core machine.
pytestmark = pytest.mark.slow


def _run(artifacts, run_id):
    config = RunConfig.from_dict({
        "model": "vgg16_transfer", "weights": "none", "epochs": 2, "batch_size": 16, "validation_size": 40,
        "run_id": run_id, "artifacts_dir": str(artifacts), "tta_flip": True,
    })
    return run_training(config, data=synthetic_cifar(), verbose=0)


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    artifacts = tmp_path_factory.mktemp("artifacts")
    first = _run(artifacts, "cache-first")
    files_after_first = {path.name: path.stat().st_mtime_ns for path in (artifacts / "cache" / "features").glob("*.npy")}
    second = _run(artifacts, "cache-second")
    return artifacts, first, second, files_after_first


def test_first_run_computes_and_second_run_reuses(two_runs):
    artifacts, first, second, files_after_first = two_runs
    first_report = json.loads((first / "run.json").read_text())["feature_cache"]
    second_report = json.loads((second / "run.json").read_text())["feature_cache"]
    # train plain + mirrored, validation plain (for val_loss) + mirrored (its stored predictions use the
    # test's flip TTA), test plain + mirrored
    # The validation images' plain features, computed for training, serve its stored predictions again.
    assert len(first_report["computed"]) == 6 and len(first_report["reused"]) == 1
    assert first_report["reused"][0] in first_report["computed"]
    assert second_report["computed"] == [] and set(second_report["reused"]) == set(first_report["computed"])
    files_now = {path.name: path.stat().st_mtime_ns for path in (artifacts / "cache" / "features").glob("*.npy")}
    assert files_now == files_after_first  # reused, not rewritten


def test_reused_cache_gives_identical_results(two_runs):
    _, first, second, _ = two_runs
    np.testing.assert_array_equal(read_predictions(first)[1], read_predictions(second)[1])
    columns = ["loss", "accuracy", "val_loss", "val_accuracy"]
    np.testing.assert_allclose(read_history(first)[columns].to_numpy(), read_history(second)[columns].to_numpy())


def test_saved_model_is_complete_and_matches_cached_evaluation(two_runs):
    _, first, _, _ = two_runs
    model = keras.saving.load_model(first / "model.keras", safe_mode=True)
    assert model.input_shape == (None, 32, 32, 3)
    x_test = synthetic_cifar().x_test.astype("float32")
    flip_averaged = (model.predict(x_test, verbose=0) + model.predict(x_test[:, :, ::-1], verbose=0)) / 2
    np.testing.assert_allclose(flip_averaged, read_predictions(first)[1], rtol=1e-4, atol=1e-5)


def test_cache_key_changes_with_every_part():
    base = ("images", "vgg16_transfer", "weights", 32, "plain")
    keys = {cache_key(*base)}
    for index, other in enumerate(("images2", "resnet50v2_transfer", "weights2", 224, "mirrored")):
        changed = list(base)
        changed[index] = other
        keys.add(cache_key(*changed))
    assert len(keys) == 6
