"""Tiny synthetic CIFAR-10 stand-ins for the training tests (owned by the training helper).

``synthetic_cifar`` builds a small in-memory ``Cifar10`` whose classes are
learnable (the red channel encodes the label), so a couple of epochs show the
loss falling. Run as a script it trains one run on that data; the resume test
starts it as a real subprocess and kills it::

    python tests/training_fixtures.py ARTIFACTS_DIR RUN_ID EPOCHS
    python tests/training_fixtures.py ARTIFACTS_DIR RUN_ID EPOCHS SEEDS   # replicates RUN_ID-s<seed>, one after another

With SEEDS (a count) it trains that many replicates in turn, skipping the complete
ones, as ``python -m training run --seeds`` does: the twenty-kill test restarts it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from runstore.cifar import Cifar10, hash_arrays  # noqa: E402


def synthetic_images(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``count`` noisy 32x32 RGB images whose mean red level says the class (balanced labels)."""
    rng = np.random.default_rng(seed)
    labels = np.arange(count) % 10
    images = rng.integers(0, 256, size=(count, 32, 32, 3), dtype=np.uint8)
    images[..., 0] = np.clip(labels[:, None, None] * 25 + rng.integers(0, 10, size=(count, 32, 32)), 0, 255)
    return images, labels.astype(np.int64)


def synthetic_cifar(train_count: int = 120, test_count: int = 40, seed: int = 0) -> Cifar10:
    """A small ``Cifar10`` for tests: ``train_count`` training and ``test_count`` test images."""
    x_train, y_train = synthetic_images(train_count, seed)
    x_test, y_test = synthetic_images(test_count, seed + 1)
    return Cifar10(x_train, y_train, x_test, y_test, source="synthetic", sha256=hash_arrays(x_train, y_train, x_test, y_test))


def killable_run_config(artifacts_dir: str, run_id: str, epochs: int, seed: int = 0):
    """The config of the script's run (below), for tests that continue it in their own process."""
    from training.config import RunConfig

    return RunConfig.from_dict({
        "model": "simple_cnn", "blocks": 1, "epochs": epochs, "batch_size": 16, "validation_size": 40,
        "run_id": run_id, "artifacts_dir": str(artifacts_dir), "augment": False, "early_stopping_patience": 50,
        "seed": seed,
    })


def killable_run_data() -> Cifar10:
    """The data of the script's run."""
    return synthetic_cifar(train_count=400, test_count=40)


if __name__ == "__main__":
    from training.train import run_training

    artifacts_dir, run_id, epochs = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if len(sys.argv) == 4:
        run_training(killable_run_config(artifacts_dir, run_id, epochs), data=killable_run_data(), verbose=0)
    else:
        from runstore.status import STATUS_COMPLETE
        from training.run_state import planned_status

        for seed in range(int(sys.argv[4])):
            config = killable_run_config(artifacts_dir, f"{run_id}-s{seed}", epochs, seed=seed)
            if planned_status(config) != STATUS_COMPLETE:
                run_training(config, data=killable_run_data(), verbose=0)
