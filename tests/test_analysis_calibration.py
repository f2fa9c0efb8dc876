"""Reliability bins, ECE and confidence histograms on hand cases and synthetic predictions."""

import numpy as np
import pytest

from analysis.calibration import (
    calibration_summary,
    confidence_and_correct,
    confidence_histogram,
    expected_calibration_error,
    reliability_bins,
)


def test_reliability_bins_hand_case():
    confidence = np.array([0.15, 0.25, 0.85, 0.95])
    correct = np.array([True, False, True, True])
    bins = reliability_bins(confidence, correct, bin_count=2)
    assert bins["lower"].tolist() == [0.0, 0.5]
    assert bins["count"].tolist() == [2, 2]
    assert bins["mean_confidence"].tolist() == pytest.approx([0.2, 0.9])
    assert bins["accuracy"].tolist() == pytest.approx([0.5, 1.0])
    assert bins["gap"].tolist() == pytest.approx([0.3, 0.1])
    # ECE = 0.5 * |0.5 - 0.2| + 0.5 * |1.0 - 0.9| = 0.2
    assert expected_calibration_error(confidence, correct, bin_count=2) == pytest.approx(0.2)


def test_empty_bins_have_nan_averages_and_do_not_count_in_ece():
    bins = reliability_bins([0.95, 1.0], [True, False], bin_count=10)
    assert bins["count"].tolist() == [0] * 9 + [2]  # 1.0 lands in the last bin
    assert bins["accuracy"].isna().sum() == 9
    assert expected_calibration_error([0.95, 1.0], [True, False], bin_count=10) == pytest.approx(0.475)


def test_perfectly_calibrated_predictions_have_ece_near_zero():
    rng = np.random.default_rng(0)
    confidence = rng.uniform(0.1, 1.0, size=200_000)
    correct = rng.random(confidence.size) < confidence
    assert expected_calibration_error(confidence, correct) < 0.01


def test_over_confident_predictions_have_large_ece():
    rng = np.random.default_rng(1)
    confidence = np.full(10_000, 0.99)
    correct = rng.random(confidence.size) < 0.5
    ece = expected_calibration_error(confidence, correct)
    assert ece == pytest.approx(0.99 - correct.mean())
    assert ece > 0.45


def test_confidence_histogram_splits_right_and_wrong():
    histogram = confidence_histogram([0.1, 0.12, 0.6, 0.9, 0.95], [False, True, False, True, True], bin_count=4)
    assert histogram["correct"].tolist() == [1, 0, 0, 2]
    assert histogram["wrong"].tolist() == [1, 0, 1, 0]


def test_confidence_and_correct_and_summary():
    # Ten classes, as CIFAR-10's predictions have; only the first two get probability.
    probs = np.pad(np.array([[0.7, 0.3], [0.4, 0.6], [0.9, 0.1]]), ((0, 0), (0, 8)))
    y_true = np.array([0, 0, 1])
    confidence, correct = confidence_and_correct(y_true, probs)
    assert confidence.tolist() == pytest.approx([0.7, 0.6, 0.9])
    assert correct.tolist() == [True, False, False]
    summary = calibration_summary(y_true, probs)
    assert summary["accuracy"] == pytest.approx(1 / 3)
    assert summary["mean_confidence_when_wrong"] == pytest.approx(0.75)


def test_bad_inputs_raise_value_error():
    with pytest.raises(ValueError, match="between 0 and 1"):
        reliability_bins([1.5], [True])
    with pytest.raises(ValueError, match="equal length"):
        reliability_bins([0.5, 0.6], [True])
    with pytest.raises(ValueError, match="empty"):
        expected_calibration_error([], [])
    with pytest.raises(ValueError, match="bin_count"):
        reliability_bins([0.5], [True], bin_count=0)
