"""Group comparison: hand-computed variance parts, the coverage of its 95% interval, and its refusals."""

import numpy as np
import pytest
from scipy import stats as scipy_stats

from analysis.replicates import compare_groups, group_difference, seed_and_image_interval
from analysis.stats import difference_interval


def test_tiny_groups_match_the_hand_computed_interval():
    group_a = [[1, 1, 0, 0], [1, 0, 0, 0]]  # seeds right on 50% and 25%
    group_b = [[1, 1, 1, 0], [1, 1, 1, 1]]  # 75% and 100%
    result = group_difference("A", group_a, "B", group_b)
    # By hand: seed parts var([.5, .25]) / 2 = 0.015625 each; per-image differences [0, .5, 1, .5] have
    # variance 1/6; the seeds x images residual variance is 0.375 / 3 = 0.125 in each group, so the
    # image part is (1/6 - 0.125/2 - 0.125/2) / 4 = 1/96.
    seed_part, image_part = 0.015625, 1 / 96
    total = 2 * seed_part + image_part
    freedom = total**2 / (2 * seed_part**2 / 1 + image_part**2 / 3)
    half = scipy_stats.t.ppf(0.975, freedom) * np.sqrt(total)
    assert result.difference.estimate == pytest.approx(0.5)
    assert result.difference.lower == pytest.approx(0.5 - half)
    assert result.difference.upper == pytest.approx(0.5 + half)
    assert result.accuracies_a == (0.5, 0.25) and result.accuracies_b == (0.75, 1.0)
    assert result.sd_a == pytest.approx(np.std([0.5, 0.25], ddof=1))
    assert (result.runs_a, result.runs_b, result.images, result.seeds_counted) == (2, 2, 4, True)


def simulated_coverage(seeds_a, seeds_b, images, seed_sd, simulations, seed):
    """Share of simulated comparisons whose interval holds the true gap of mean accuracy (2 points).

    Each simulation draws a fresh test set (image difficulty shared by both groups, plus a
    per-group difficulty the models disagree on) and fresh seeds (a normal seed effect), then
    one Bernoulli flag per seed and image: the two sources of uncertainty the interval must cover.
    """
    rng = np.random.default_rng(seed)
    gap, covered = 0.02, 0
    for start in range(0, simulations, 500):
        count = min(500, simulations - start)
        shared = rng.choice([-0.2, 0.2], size=(count, 1, images))
        disagreement = rng.choice([-0.15, 0.15], size=(count, 1, images))
        chance_a = 0.6 + rng.normal(0, seed_sd, (count, seeds_a, 1)) + shared
        chance_b = 0.6 + gap + rng.normal(0, seed_sd, (count, seeds_b, 1)) + shared + disagreement
        _, lower, upper = seed_and_image_interval(rng.random((count, seeds_a, images)) < chance_a,
                                                  rng.random((count, seeds_b, images)) < chance_b)
        covered += int(np.sum((lower <= gap) & (gap <= upper)))
    return covered / simulations


@pytest.mark.parametrize("seeds_a, seeds_b, images, seed_sd", [
    (3, 3, 1000, 0.01),   # seed effect about as large as test sampling
    (3, 3, 1000, 0.0),    # no seed effect: the spread is test-image noise only
    (2, 2, 500, 0.02),    # two seeds each, seed effect dominant
])
def test_interval_covers_the_true_gap_95_percent_of_the_time(seeds_a, seeds_b, images, seed_sd):
    coverage = simulated_coverage(seeds_a, seeds_b, images, seed_sd, simulations=3000, seed=seeds_a * 100 + images)
    assert 0.93 <= coverage <= 0.97, coverage


def test_one_run_on_a_side_covers_test_images_only():
    rng = np.random.default_rng(0)
    single = rng.random((1, 300)) < 0.6
    group = rng.random((3, 300)) < 0.7
    result = group_difference("A", single, "B", group)
    assert not result.seeds_counted and result.sd_a is None
    assert result.difference.method.endswith("(test images only)")
    assert result.difference.estimate == pytest.approx(group.mean() - single.mean())
    # Two single runs: exactly the Compare page's paired bootstrap.
    pair = group_difference("A", single, "B", group[:1])
    assert pair.difference == difference_interval(single[0], group[0])


def probs_for(labels, right):
    probs = np.full((labels.size, 10), 0.1 / 9)
    predicted = np.where(right, labels, (labels + 1) % 10)
    probs[np.arange(labels.size), predicted] = 0.9
    return probs


def test_compare_groups_aligns_on_the_shared_test_image_prefix():
    labels = np.arange(40) % 10
    rng = np.random.default_rng(1)
    runs_a = {f"a{seed}": (labels, probs_for(labels, rng.random(40) < 0.5)) for seed in range(2)}
    # One run of B was evaluated on the first 30 test images only (a test limit).
    runs_b = {"b0": (labels[:30], probs_for(labels[:30], rng.random(30) < 0.8)),
              "b1": (labels, probs_for(labels, rng.random(40) < 0.8))}
    result = compare_groups("A", runs_a, "B", runs_b)
    assert result.images == 30
    expected_a = [float(np.mean(probs.argmax(1)[:30] == labels[:30])) for _, probs in runs_a.values()]
    assert result.accuracies_a == pytest.approx(expected_a)


def test_compare_groups_refuses_bad_input():
    labels = np.arange(20) % 10
    good = (labels, probs_for(labels, np.ones(20, bool)))
    with pytest.raises(ValueError, match="both sides"):
        compare_groups("A", {"r": good}, "B", {"r": good})
    with pytest.raises(ValueError, match="at least one run"):
        compare_groups("A", {}, "B", {"r": good})
    with pytest.raises(ValueError, match="outside 0-9"):
        compare_groups("A", {"a": (labels - 1, good[1])}, "B", {"b": good})
    with pytest.raises(ValueError, match="same test images"):
        group_difference("A", np.ones((2, 5), bool), "B", np.ones((2, 6), bool))
