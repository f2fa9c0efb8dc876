"""Accuracy intervals on small test sets: exact (Clopper-Pearson) below 1,000 images, checked by simulation."""

import numpy as np
import pytest
from scipy import stats as scipy_stats

from analysis.stats import EXACT_INTERVAL_BELOW, accuracy_interval, exact_interval

SIMULATIONS = 20_000


def simulated_coverage(count: int, accuracy: float, exact_below: int, seed: int = 0) -> float:
    """Share of simulated test sets whose interval holds the true accuracy.

    An interval depends on the test set only through how many images were right,
    so it is computed once per distinct count and looked up for every simulation.
    """
    rng = np.random.default_rng(seed)
    right_counts = rng.binomial(count, accuracy, size=SIMULATIONS)
    covers = {}
    for right in np.unique(right_counts):
        correct = np.arange(count) < right
        covers[right] = accuracy_interval(correct, resamples=2000, seed=int(right), exact_below=exact_below).contains(accuracy)
    return float(np.mean([covers[right] for right in right_counts]))


@pytest.mark.parametrize("count, accuracy", [(20, 0.95), (50, 0.9), (200, 0.15), (200, 0.95), (500, 0.7)])
def test_small_test_sets_get_an_interval_covering_at_least_95_percent(count, accuracy):
    assert count < EXACT_INTERVAL_BELOW
    coverage = simulated_coverage(count, accuracy, exact_below=EXACT_INTERVAL_BELOW)
    # Clopper-Pearson never covers less than 95%; 0.3 points of room for simulation noise.
    assert 0.947 <= coverage <= 0.995


def test_the_percentile_bootstrap_it_replaces_covers_far_too_little_at_20_images():
    # The measured failure behind the switch (issue 11): about 64% instead of 95%.
    assert simulated_coverage(20, 0.95, exact_below=0) < 0.75


def test_exact_interval_matches_beta_quantiles_by_hand():
    interval = exact_interval(19, 20)
    assert interval.method == "exact"
    assert interval.estimate == pytest.approx(0.95)
    assert interval.lower == pytest.approx(scipy_stats.beta.ppf(0.025, 19, 2))
    assert interval.upper == pytest.approx(scipy_stats.beta.ppf(0.975, 20, 1))
    # All right or all wrong: the interval reaches the end it cannot go past.
    assert exact_interval(20, 20).upper == 1.0 and exact_interval(0, 20).lower == 0.0


def test_accuracy_interval_uses_the_exact_interval_only_below_the_threshold():
    assert accuracy_interval(np.arange(999) % 4 != 0).method == "exact"
    assert accuracy_interval(np.arange(1000) % 4 != 0).method == "bootstrap"


def test_exact_interval_refuses_impossible_counts():
    with pytest.raises(ValueError, match="successes"):
        exact_interval(21, 20)
    with pytest.raises(ValueError, match="confidence"):
        exact_interval(1, 2, confidence=95)
