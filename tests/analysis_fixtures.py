"""Tiny artifacts and test-image folders for the analysis and comparison tests.

``write_run_folder`` writes a complete, valid run folder whose predictions
reach a chosen accuracy on a shared seeded label set; ``write_fake_cifar_test_batch``
writes a small ``test_batch`` in the official format so pages that show test
images work without real CIFAR-10.
"""

from __future__ import annotations

import hashlib
import pickle
from pathlib import Path

import numpy as np
import pytest

from runstore import atomic_write_json, atomic_write_text, run_dir

IMAGE_COUNT = 120
CLASS_COUNT = 10


def fixture_labels(count: int = IMAGE_COUNT) -> np.ndarray:
    """The shared, seeded labels of the fake test set (every class present)."""
    return np.arange(count, dtype=np.int64) % CLASS_COUNT


def synthetic_probs(y_true: np.ndarray, accuracy: float, seed: int) -> np.ndarray:
    """Probabilities whose argmax is right on about ``accuracy`` of the images, with varied confidence."""
    rng = np.random.default_rng(seed)
    count = y_true.size
    right = rng.random(count) < accuracy
    wrong_label = (y_true + rng.integers(1, CLASS_COUNT, count)) % CLASS_COUNT
    predicted = np.where(right, y_true, wrong_label)
    logits = rng.normal(0, 1, (count, CLASS_COUNT))
    logits[np.arange(count), predicted] += rng.uniform(1.0, 6.0, count)
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    return (probs / probs.sum(axis=1, keepdims=True)).astype(np.float32)


def run_record(run_id: str, accuracy: float, **overrides) -> dict:
    """A valid complete run.json payload."""
    record = {
        "schema_version": 1,
        "run_id": run_id,
        "status": "complete",
        "error": None,
        "model": "simple_cnn",
        "description": "test model",
        "input_size": 32,
        "optimizer": "adam",
        "learning_rate": 0.001,
        "config": {"model": "simple_cnn"},
        "weights": "none",
        "data": {"source": "synthetic", "sha256": "0" * 64},
        "epochs_run": 3,
        "best_epoch": 2,
        "lr_drop_epochs": [1],
        "early_stop_epoch": None,
        "test_accuracy": accuracy,
        "test_loss": 1.2,
        "params_total": 1000,
        "params_trainable": 900,
        "train_seconds": 1.5,
        "wall_seconds": 2.0,
        "versions": {},
        "git_commit": None,
        "started_at": "2026-11-23T10:00:00+00:00",
        "updated_at": "2026-11-23T10:01:00+00:00",
        "finished_at": "2026-11-23T10:01:00+00:00",
        "model_sha256": "f" * 64,
        "model_bytes": 2_000_000,
    }
    record.update(overrides)
    return record


def write_run_folder(
    artifacts: Path, run_id: str, accuracy: float, seed: int = 0, count: int = IMAGE_COUNT, **overrides
) -> Path:
    """A complete run folder (run.json, history.csv, placeholder model, predictions) under ``artifacts``."""
    folder = run_dir(artifacts, run_id)
    y_true = fixture_labels(count)
    probs = synthetic_probs(y_true, accuracy, seed)
    measured = float((probs.argmax(axis=1) == y_true).mean())
    placeholder = b"PK placeholder: not a real model"
    # Size and hash must match the file, or the reader lists the run as broken.
    overrides = {"model_bytes": len(placeholder), "model_sha256": hashlib.sha256(placeholder).hexdigest(), **overrides}
    atomic_write_json(folder / "run.json", run_record(run_id, measured, **overrides))
    atomic_write_text(
        folder / "history.csv",
        "epoch,accuracy,elapsed_seconds,learning_rate,loss,val_accuracy,val_loss\n"
        "0,0.30,1.0,0.001,2.0,0.35,1.9\n"
        "1,0.45,2.0,0.0005,1.5,0.42,1.6\n"
        f"2,0.55,3.0,0.0005,1.2,{measured:.3f},1.4\n",
    )
    (folder / "model.keras").write_bytes(placeholder)
    np.savez(folder / "predictions.npz", y_true=y_true, probs=probs)
    return folder


def write_fake_cifar_test_batch(folder: Path, count: int = IMAGE_COUNT) -> Path:
    """A ``cifar-10-batches-py``-like folder with only a ``test_batch`` of ``count`` seeded images."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(123)
    images = rng.integers(0, 256, size=(count, 3072), dtype=np.uint8)
    batch = {b"data": images, b"labels": fixture_labels(count).tolist()}
    (folder / "test_batch").write_bytes(pickle.dumps(batch))
    return folder


APP = str(Path(__file__).resolve().parents[1] / "dashboard" / "app.py")
APP_TIMEOUT = 120


def run_page(page: str, **session):
    """Run the app on ``dashboard/views/<page>.py`` under AppTest with ``session`` values preset."""
    from streamlit.testing.v1 import AppTest

    app = AppTest.from_file(APP, default_timeout=APP_TIMEOUT)
    for key, value in session.items():
        app.session_state[key] = value
    app.run()
    app.switch_page(f"views/{page}.py")
    app.run()
    return app


def all_text(app) -> str:
    """Every text element of an AppTest run, joined, for assertions on what the user reads."""
    kinds = ("markdown", "caption", "info", "warning", "error", "success", "title", "subheader")
    return "\n".join(str(element.value) for kind in kinds for element in getattr(app, kind))
