"""Tiny artifacts and test-image folders for the analysis and comparison tests.

``write_run_folder`` writes a complete, valid run folder whose predictions
reach a chosen accuracy on a shared seeded label set, through ``runstore``'s
own writers.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from runstore import atomic_write_bytes, run_dir
from runstore.writer import RunRecord, write_history_rows, write_predictions
from runstore.layout import HISTORY_FILE, MODEL_FILE

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
    write_history_rows(folder / HISTORY_FILE, [
        {"epoch": 0, "accuracy": 0.30, "elapsed_seconds": 1.0, "learning_rate": 0.001, "loss": 2.0, "val_accuracy": 0.35, "val_loss": 1.9},
        {"epoch": 1, "accuracy": 0.45, "elapsed_seconds": 2.0, "learning_rate": 0.0005, "loss": 1.5, "val_accuracy": 0.42, "val_loss": 1.6},
        {"epoch": 2, "accuracy": 0.55, "elapsed_seconds": 3.0, "learning_rate": 0.0005, "loss": 1.2,
         "val_accuracy": round(measured, 3), "val_loss": 1.4},
    ])
    atomic_write_bytes(folder / MODEL_FILE, placeholder)
    write_predictions(folder, y_true, probs)
    RunRecord(folder, run_record(run_id, measured, **overrides)).update()
    return folder


def read_suite_findings(artifacts_dir) -> tuple[list, list[str]]:
    """The caller side of ``analysis.findings.suite_findings``, as the dashboard and the CLI read it:
    every recorded suite answered from the folder's runs, and the suite files that could not be read."""
    from analysis.findings import runs_asked_about, suite_findings
    from analysis.trajectory import curve_reader
    from runstore import list_runs, read_history, read_predictions
    from runstore.images_seen import read_images_seen
    from runstore.suite_record import read_suite_records

    runs = list_runs(artifacts_dir)
    records, problems = read_suite_records(artifacts_dir)
    return suite_findings(records, runs, lambda info: read_predictions(info.path),
                          read_images_seen(runs_asked_about(records, runs)),
                          curve_reader(lambda info: read_history(info.path))), problems


def read_report_runs(artifacts_dir) -> list:
    """Every run in ``artifacts_dir`` as the report builder takes it: record, history and predictions."""
    from analysis.report import ReportRun
    from runstore import list_runs, read_history, read_predictions

    runs = []
    for info in list_runs(artifacts_dir):
        y_true, probs = read_predictions(info.path)
        runs.append(ReportRun(info=info, history=read_history(info.path), y_true=y_true, probs=probs))
    return runs
