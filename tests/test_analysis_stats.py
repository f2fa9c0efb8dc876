"""Statistics of the Compare page against hand-computed and scipy values."""

import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from analysis.stats import (
    accuracy_interval,
    compare_runs,
    difference_interval,
    format_p_value,
    mcnemar_from_counts,
    mcnemar_test,
    per_class_comparison,
    significance_sentence,
)


def flags_from_cells(both_right, only_a, only_b, both_wrong):
    """Right/wrong flags for A and B that produce exactly this 2x2 table."""
    correct_a = [True] * both_right + [True] * only_a + [False] * only_b + [False] * both_wrong
    correct_b = [True] * both_right + [False] * only_a + [True] * only_b + [False] * both_wrong
    return np.array(correct_a), np.array(correct_b)


def test_mcnemar_small_table_uses_exact_binomial():
    correct_a, correct_b = flags_from_cells(50, 3, 12, 35)
    result = mcnemar_test(correct_a, correct_b)
    assert result.method == "exact binomial"
    assert (result.only_a_right, result.only_b_right, result.discordant) == (3, 12, 15)
    # By hand: 2 * P(X <= 3), X ~ Binomial(15, 1/2) = 2 * (1 + 15 + 105 + 455) / 2**15.
    assert result.p_value == pytest.approx(2 * 576 / 32768)
    assert result.p_value == pytest.approx(scipy_stats.binomtest(3, 15, 0.5).pvalue)
    assert result.table.tolist() == [[50, 3], [12, 35]]


def test_mcnemar_large_table_uses_corrected_chi_square():
    result = mcnemar_from_counts(900, 20, 40, 40)
    assert result.method == "chi-square with continuity correction"
    assert result.statistic == pytest.approx((abs(20 - 40) - 1) ** 2 / 60)
    # Chi-square with one degree of freedom: survival function is erfc(sqrt(x / 2)).
    assert result.p_value == pytest.approx(math.erfc(math.sqrt(result.statistic / 2)))
    assert 0.01 < result.p_value < 0.02


def test_mcnemar_switches_method_at_twenty_five_discordant_images():
    assert mcnemar_from_counts(0, 12, 12, 0).method == "exact binomial"
    assert mcnemar_from_counts(0, 12, 13, 0).method.startswith("chi-square")


def test_mcnemar_without_disagreement_has_p_one():
    correct = np.array([True, False, True])
    result = mcnemar_test(correct, correct)
    assert result.p_value == 1.0 and result.discordant == 0


def test_mcnemar_rejects_different_lengths_and_bad_cells():
    with pytest.raises(ValueError, match="same test images"):
        mcnemar_test(np.ones(3, bool), np.ones(4, bool))
    with pytest.raises(ValueError, match="non-negative"):
        mcnemar_from_counts(1, -1, 2, 3)


def test_accuracy_interval_covers_true_accuracy_with_nominal_rate_and_width():
    rng = np.random.default_rng(7)
    true_accuracy, count, trials = 0.8, 2000, 200
    covered, widths = 0, []
    for trial in range(trials):
        correct = rng.random(count) < true_accuracy
        interval = accuracy_interval(correct, resamples=2000, seed=trial)
        covered += interval.contains(true_accuracy)
        widths.append(interval.width)
        assert interval.lower <= interval.estimate <= interval.upper
    assert 0.90 <= covered / trials <= 0.99
    normal_width = 2 * 1.96 * math.sqrt(true_accuracy * (1 - true_accuracy) / count)
    assert np.mean(widths) == pytest.approx(normal_width, rel=0.1)


def test_accuracy_interval_is_deterministic_for_a_seed():
    correct = np.arange(100) % 3 != 0
    assert accuracy_interval(correct, seed=3) == accuracy_interval(correct, seed=3)


def test_difference_interval_matches_resampling_image_indices():
    correct_a, correct_b = flags_from_cells(300, 40, 70, 90)
    interval = difference_interval(correct_a, correct_b, resamples=4000, seed=1)
    assert interval.estimate == pytest.approx((70 - 40) / 500)
    # The brute-force paired bootstrap: resample the same image indices for both models.
    rng = np.random.default_rng(2)
    indices = rng.integers(0, 500, size=(4000, 500))
    brute = correct_b[indices].mean(axis=1) - correct_a[indices].mean(axis=1)
    assert interval.lower == pytest.approx(np.percentile(brute, 2.5), abs=0.006)
    assert interval.upper == pytest.approx(np.percentile(brute, 97.5), abs=0.006)
    assert interval.lower > 0


def test_difference_interval_straddles_zero_for_equal_models():
    correct_a, correct_b = flags_from_cells(300, 50, 50, 100)
    interval = difference_interval(correct_a, correct_b, seed=0)
    assert interval.estimate == 0
    assert interval.lower < 0 < interval.upper


def test_bootstrap_rejects_bad_arguments():
    with pytest.raises(ValueError, match="confidence"):
        accuracy_interval([True, False], confidence=95)
    with pytest.raises(ValueError, match="True/False"):
        accuracy_interval([0, 2, 1])
    with pytest.raises(ValueError, match="non-empty"):
        accuracy_interval([])


def test_significance_sentence_says_who_is_better_when_significant():
    correct_a, correct_b = flags_from_cells(800, 20, 60, 120)
    sentence = significance_sentence(
        "small",
        "big",
        accuracy_interval(correct_a),
        accuracy_interval(correct_b),
        difference_interval(correct_a, correct_b),
        mcnemar_test(correct_a, correct_b),
    )
    assert "big got 86.0%" in sentence
    assert "small got 82.0%" in sentence
    assert "+4.0 percentage points" in sentence
    assert "big was right on 60 and small on 20" in sentence
    assert "So big is better than small" in sentence
    assert "p < 0.0001" in sentence


def test_significance_sentence_says_not_shown_when_not_significant():
    comparison = compare_runs(
        "A",
        "B",
        np.zeros(6, int),
        np.eye(10)[[0, 0, 1, 0, 1, 0]],
        np.eye(10)[[0, 1, 0, 0, 0, 1]],
    )
    assert comparison.test.method == "exact binomial"
    assert "does not show that either model is better" in comparison.sentence


def test_format_p_value():
    assert format_p_value(0.5) == "p = 0.500"
    assert format_p_value(0.0042) == "p = 0.0042"
    assert format_p_value(1e-9) == "p < 0.0001"


def test_per_class_comparison_hand_case():
    y_true = np.array([0, 0, 1, 1, 2])
    predicted_a = np.array([0, 1, 1, 1, 0])
    predicted_b = np.array([0, 0, 1, 2, 2])
    frame = per_class_comparison(y_true, predicted_a, predicted_b, ["x", "y", "z"])
    assert frame["class"].tolist() == ["x", "y", "z"]
    # A: class 0 predicted twice, right once -> precision 0.5; recall 1/2.
    assert frame.loc[0, "precision_a"] == pytest.approx(0.5)
    assert frame.loc[0, "recall_a"] == pytest.approx(0.5)
    assert frame.loc[0, "precision_b"] == pytest.approx(1.0)
    assert frame.loc[0, "recall_b"] == pytest.approx(1.0)
    assert frame.loc[0, "f1_delta"] == pytest.approx(1.0 - 0.5)
    # Class 2 is never predicted by A: precision and F1 are 0, not NaN.
    assert frame.loc[2, "precision_a"] == 0 and frame.loc[2, "f1_a"] == 0
    assert frame.loc[2, "f1_b"] == pytest.approx(2 * 0.5 * 1 / 1.5)


def test_per_class_comparison_rejects_out_of_range_labels():
    with pytest.raises(ValueError, match="outside"):
        per_class_comparison([0, 3], [0, 1], [0, 1], ["a", "b"])
