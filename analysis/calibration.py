"""How far a model's confidence can be trusted: reliability bins, ECE, confidence histograms.

Confidence is the probability of the predicted class (the top softmax value).
A calibrated model is right on 80% of the images it is 80% sure about.

Usage::

    from analysis.calibration import confidence_and_correct, reliability_bins, expected_calibration_error
    confidence, correct = confidence_and_correct(y_true, probs)
    bins = reliability_bins(confidence, correct)            # one row per confidence bin
    ece = expected_calibration_error(confidence, correct)   # 0 = perfectly calibrated

Bins are equal-width and closed on the left, [lower, upper), except the last,
which also holds confidence 1.0.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.validation import check_predictions

DEFAULT_BIN_COUNT = 15
DEFAULT_HISTOGRAM_BIN_COUNT = 20


def confidence_and_correct(y_true, probs) -> tuple[np.ndarray, np.ndarray]:
    """Top-class probability and whether the top class is the label, per image."""
    y_true, probs = check_predictions(y_true, probs)
    return probs.max(axis=1), probs.argmax(axis=1) == y_true


def _validated(confidence, correct) -> tuple[np.ndarray, np.ndarray]:
    confidence = np.asarray(confidence, dtype=np.float64)
    correct = np.asarray(correct).astype(bool)
    if confidence.ndim != 1 or confidence.shape != correct.shape:
        raise ValueError(
            f"confidence and correct must be 1-D arrays of equal length, got {confidence.shape} and {correct.shape}"
        )
    if confidence.size == 0:
        raise ValueError("confidence is empty: there are no predictions to calibrate")
    if np.any(~np.isfinite(confidence)) or confidence.min() < 0 or confidence.max() > 1:
        raise ValueError("confidence values must lie between 0 and 1")
    return confidence, correct


def _bin_index(values: np.ndarray, bin_count: int) -> np.ndarray:
    if bin_count < 1:
        raise ValueError(f"bin_count must be at least 1, got {bin_count}")
    # floor(value * bins) puts value in [lower, upper); clip keeps 1.0 in the last bin.
    return np.clip(np.floor(values * bin_count).astype(int), 0, bin_count - 1)


def reliability_bins(confidence, correct, bin_count: int = DEFAULT_BIN_COUNT) -> pd.DataFrame:
    """One row per equal-width confidence bin.

    Columns: ``lower``, ``upper``, ``count``, ``mean_confidence``, ``accuracy``
    and ``gap`` (accuracy − mean confidence; negative means over-confident).
    Empty bins have count 0 and NaN averages.
    """
    confidence, correct = _validated(confidence, correct)
    index = _bin_index(confidence, bin_count)
    counts = np.bincount(index, minlength=bin_count)
    confidence_sums = np.bincount(index, weights=confidence, minlength=bin_count)
    correct_sums = np.bincount(index, weights=correct.astype(float), minlength=bin_count)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_confidence = np.where(counts > 0, confidence_sums / counts, np.nan)
        accuracy = np.where(counts > 0, correct_sums / counts, np.nan)
    edges = np.linspace(0.0, 1.0, bin_count + 1)
    return pd.DataFrame(
        {
            "lower": edges[:-1],
            "upper": edges[1:],
            "count": counts,
            "mean_confidence": mean_confidence,
            "accuracy": accuracy,
            "gap": accuracy - mean_confidence,
        }
    )


def expected_calibration_error(confidence, correct, bin_count: int = DEFAULT_BIN_COUNT) -> float:
    """ECE: the image-weighted mean of |accuracy − mean confidence| over the bins (0 is perfect)."""
    bins = reliability_bins(confidence, correct, bin_count)
    filled = bins[bins["count"] > 0]
    weights = filled["count"] / filled["count"].sum()
    return float(np.sum(weights * (filled["accuracy"] - filled["mean_confidence"]).abs()))


def confidence_histogram(confidence, correct, bin_count: int = DEFAULT_HISTOGRAM_BIN_COUNT) -> pd.DataFrame:
    """Counts of right and wrong predictions per confidence bin.

    Columns: ``lower``, ``upper``, ``correct``, ``wrong``. A well-behaved model
    keeps its wrong answers at low confidence.
    """
    confidence, correct = _validated(confidence, correct)
    index = _bin_index(confidence, bin_count)
    edges = np.linspace(0.0, 1.0, bin_count + 1)
    return pd.DataFrame(
        {
            "lower": edges[:-1],
            "upper": edges[1:],
            "correct": np.bincount(index[correct], minlength=bin_count),
            "wrong": np.bincount(index[~correct], minlength=bin_count),
        }
    )


def calibration_summary(y_true, probs, bin_count: int = DEFAULT_BIN_COUNT) -> dict:
    """ECE, mean confidence, accuracy and mean confidence on wrong answers, for a table."""
    confidence, correct = confidence_and_correct(y_true, probs)
    wrong = confidence[~correct]
    return {
        "ece": expected_calibration_error(confidence, correct, bin_count),
        "mean_confidence": float(confidence.mean()),
        "accuracy": float(correct.mean()),
        "mean_confidence_when_wrong": float(wrong.mean()) if wrong.size else float("nan"),
    }
