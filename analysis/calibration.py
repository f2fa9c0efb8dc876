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


# Temperatures searched: from much sharper (0.05) to much flatter (20) than the model's own.
TEMPERATURE_BOUNDS = (0.05, 20.0)
# log(0) is -inf; a float32 softmax rounds tiny probabilities to 0, so they are floored first.
PROBABILITY_FLOOR = 1e-12


def apply_temperature(probs, temperature: float) -> np.ndarray:
    """``probs`` rescaled as ``softmax(log(probs) / temperature)``: the temperature-scaled model.

    Dividing the logits by ``temperature`` is the same as dividing the log
    probabilities (they differ by a per-image constant), so the saved
    probabilities suffice. ``temperature`` > 1 softens, < 1 sharpens; the
    ranking of the classes never changes, so neither does any answer.
    """
    if not np.isfinite(temperature) or temperature <= 0:
        raise ValueError(f"temperature must be a positive number, got {temperature!r}")
    probs = np.asarray(probs, dtype=np.float64)
    scaled = np.log(np.clip(probs, PROBABILITY_FLOOR, 1.0)) / temperature
    scaled -= scaled.max(axis=-1, keepdims=True)
    exponentials = np.exp(scaled)
    return exponentials / exponentials.sum(axis=-1, keepdims=True)


def negative_log_likelihood(y_true, probs) -> float:
    """Mean ``-log p(true class)``, probabilities floored at ``PROBABILITY_FLOOR``."""
    picked = np.asarray(probs, dtype=np.float64)[np.arange(len(y_true)), np.asarray(y_true)]
    return float(-np.mean(np.log(np.clip(picked, PROBABILITY_FLOOR, 1.0))))


def fit_temperature(y_true, probs) -> float:
    """The temperature that minimises the negative log-likelihood of ``probs`` (Guo et al. 2017).

    Fit it on held-out images the model did not train on (the run's validation
    images), then measure its effect on the test images, which it never saw.
    """
    from scipy.optimize import minimize_scalar  # scipy only when fitting

    y_true, probs = check_predictions(y_true, probs)
    if len(y_true) == 0:
        raise ValueError("fitting a temperature needs at least one image")
    low, high = np.log(TEMPERATURE_BOUNDS)
    # In log-temperature: the likelihood is smoother there, and the bounds are symmetric around 1.
    result = minimize_scalar(lambda log_t: negative_log_likelihood(y_true, apply_temperature(probs, float(np.exp(log_t)))),
                             bounds=(low, high), method="bounded", options={"xatol": 1e-4})
    return float(np.exp(result.x))
