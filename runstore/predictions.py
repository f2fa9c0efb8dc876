"""``predictions.npz``: the test-set predictions of a finished run, read here only (``runstore.writer`` writes them).

Two arrays: ``y_true`` int64 (N,) with the labels of the first N test images
in test-set order, and ``probs`` float32 (N, 10) with the model's class
probabilities for them. ``validation_predictions.npz`` (schema 3, optional) holds
the same two arrays for the run's validation images.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np

from runstore.cifar import NUM_CLASSES
from runstore.errors import BrokenRun
from runstore.layout import PREDICTIONS_FILE, VALIDATION_PREDICTIONS_FILE


def read_predictions(path: str | os.PathLike, expected_count: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(y_true, probs)`` from ``predictions.npz`` in run folder ``path``.

    ``y_true`` is int64 of shape (N,), ``probs`` float32 of shape (N, 10).
    Raises ``BrokenRun`` when the file is missing, unreadable or of the wrong shape.
    """
    return _read_prediction_file(Path(path), PREDICTIONS_FILE, expected_count)


def read_validation_predictions(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray] | None:
    """``(y_true, probs)`` on the validation images from run folder ``path``; None when the run has none.

    Runs trained before schema 3, imported models and ``LabCallback`` runs have none.
    Raises ``BrokenRun`` when the file exists but is unreadable or of the wrong shape.
    """
    if not (Path(path) / VALIDATION_PREDICTIONS_FILE).exists():
        return None
    return _read_prediction_file(Path(path), VALIDATION_PREDICTIONS_FILE)


def _read_prediction_file(folder: Path, name: str,
                          expected_count: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The checked arrays of one predictions archive; its name stands in every message."""
    predictions_file = folder / name
    if not predictions_file.exists():
        raise BrokenRun(f"{name} is missing")
    try:
        # allow_pickle=False: a tampered file must not be able to run code.
        with np.load(predictions_file, allow_pickle=False) as archive:
            if "y_true" not in archive or "probs" not in archive:
                raise BrokenRun(f"{name} must hold arrays 'y_true' and 'probs'")
            y_true = np.asarray(archive["y_true"])
            probs = np.asarray(archive["probs"])
    except BrokenRun:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as error:
        # NumPy's own words for a non-archive mention allow_pickle, which would
        # mislead a user into loosening the one setting that keeps them safe.
        if "Object arrays" in str(error):
            raise BrokenRun(
                f"{name} cannot be read: it holds Python objects instead of numbers "
                "(refused, because loading them could run code)"
            ) from None
        if "pickle" in str(error):
            raise BrokenRun(f"{name} is not a valid .npz archive (truncated or overwritten?)") from None
        raise BrokenRun(f"{name} cannot be read: {error}") from None
    if probs.ndim != 2 or probs.shape[1] != NUM_CLASSES or y_true.shape != (probs.shape[0],):
        raise BrokenRun(
            f"{name} has the wrong shape: y_true {y_true.shape}, probs {probs.shape}; "
            f"expected (N,) and (N, {NUM_CLASSES})"
        )
    if expected_count is not None and probs.shape[0] != expected_count:
        raise BrokenRun(f"{name} has {probs.shape[0]} rows; run.json says {expected_count}")
    if not np.issubdtype(y_true.dtype, np.integer) or y_true.min(initial=0) < 0 or y_true.max(initial=0) >= NUM_CLASSES:
        raise BrokenRun(f"{name} y_true must hold integer labels 0-{NUM_CLASSES - 1}")
    if not np.all(np.isfinite(probs)):
        raise BrokenRun(f"{name} probs contain NaN or infinity")
    return y_true.astype(np.int64), probs.astype(np.float32)
