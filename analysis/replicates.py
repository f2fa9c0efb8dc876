"""Is group B better than group A, counting both seed-to-seed variation and test-image sampling?

A group is a set of replicate runs (one config, several seeds). Each member's
predictions give one right/wrong flag per test image, so a group is a
(seeds, images) matrix of flags on the test images all members share.

Usage::

    from analysis.replicates import compare_groups
    result = compare_groups("simple_cnn-b1", {"b1-s0": (y, p), "b1-s1": (y, p)},
                            "simple_cnn-b3", {"b3-s0": (y, p), "b3-s1": (y, p), "b3-s2": (y, p)})
    result.difference          # Interval of mean accuracy B - A (fractions)
    result.accuracies_b        # per-seed test accuracies of B

Method (docs/statistics.md has the derivation and the coverage check). The
estimate is the difference of the groups' mean test accuracies. Its variance has
three parts, read from a crossed seeds x images random-effects model
``correct[s, i] = mu + seed_s + image_i + noise[s, i]``:

- seed-to-seed variation, ``var(per-seed accuracy) / n`` in each group
  (this sample variance also holds the per-seed share of the noise term);
- test-image sampling, ``var_i(d_i) / N`` with ``d_i`` the per-image
  difference of the groups' mean flags, less the noise part already counted
  above (estimated from the seeds x images residuals), floored at zero;
- the interval is estimate +- t * sqrt(total), with Welch-Satterthwaite
  degrees of freedom, because with 2-5 seeds the seed part is itself uncertain.

A two-level bootstrap (seeds, then images) was the obvious alternative, but with
three seeds it can only ever draw 10 distinct seed sets and its variance is
(n - 1) / n too small, so it covers well under 95%; the t interval's coverage is
checked by simulation in ``tests/test_analysis_replicates.py``.

With one run on a side the seed variation of that side is unknown: the interval
then covers test-image sampling only and says so (``seeds_counted`` False).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy import stats as scipy_stats

from analysis.loading import align_on_common_test_images
from analysis.stats import DEFAULT_CONFIDENCE, Interval, difference_interval
from analysis.validation import check_predictions


@dataclass(frozen=True)
class GroupDifference:
    """Difference of mean test accuracy, B - A, between two groups of replicate runs (fractions)."""

    name_a: str
    name_b: str
    accuracies_a: tuple[float, ...]  # per seed, on the shared test images
    accuracies_b: tuple[float, ...]
    images: int
    difference: Interval
    seeds_counted: bool  # False when a side has a single run: the interval covers test images only

    @property
    def runs_a(self) -> int:
        """Number of runs (seeds) in group A."""
        return len(self.accuracies_a)

    @property
    def runs_b(self) -> int:
        """Number of runs (seeds) in group B."""
        return len(self.accuracies_b)

    @property
    def mean_a(self) -> float:
        """Mean test accuracy of group A."""
        return float(np.mean(self.accuracies_a))

    @property
    def mean_b(self) -> float:
        """Mean test accuracy of group B."""
        return float(np.mean(self.accuracies_b))

    @property
    def sd_a(self) -> float | None:
        """Seed-to-seed sample standard deviation of A's accuracy (None for a single run)."""
        return float(np.std(self.accuracies_a, ddof=1)) if self.runs_a > 1 else None

    @property
    def sd_b(self) -> float | None:
        """Seed-to-seed sample standard deviation of B's accuracy (None for a single run)."""
        return float(np.std(self.accuracies_b, ddof=1)) if self.runs_b > 1 else None

    @property
    def detectable(self) -> bool:
        """Whether the interval excludes zero."""
        return not self.difference.contains(0.0)


def _interaction_variance(correct: np.ndarray, seed_means: np.ndarray, image_means: np.ndarray) -> np.ndarray:
    """Seeds x images residual variance of 0/1 flags (..., n, N), from sums of squares (no residual array)."""
    seeds, images = correct.shape[-2:]
    grand = seed_means.mean(axis=-1)
    # For 0/1 flags the total sum of squares is n N g (1 - g).
    total = seeds * images * grand * (1 - grand)
    between_seeds = images * ((seed_means - grand[..., None]) ** 2).sum(axis=-1)
    between_images = seeds * ((image_means - grand[..., None]) ** 2).sum(axis=-1)
    return (total - between_seeds - between_images) / ((seeds - 1) * (images - 1))


def seed_and_image_interval(correct_a, correct_b, confidence: float = DEFAULT_CONFIDENCE):
    """Estimate and ends of mean accuracy B - A for (..., n_a, N) and (..., n_b, N) flags, n >= 2 each.

    Works on any leading batch shape, so a simulation runs thousands of
    comparisons in one call. Returns ``(estimate, lower, upper)`` arrays.
    """
    correct_a = np.asarray(correct_a, dtype=np.float64)
    correct_b = np.asarray(correct_b, dtype=np.float64)
    seeds_a, images = correct_a.shape[-2:]
    seeds_b = correct_b.shape[-2]
    if seeds_a < 2 or seeds_b < 2 or correct_b.shape[-1] != images or images < 2:
        raise ValueError("seed_and_image_interval needs at least 2 runs per group on the same 2 or more test images")
    accuracy_a, accuracy_b = correct_a.mean(axis=-1), correct_b.mean(axis=-1)
    image_a, image_b = correct_a.mean(axis=-2), correct_b.mean(axis=-2)
    estimate = accuracy_b.mean(axis=-1) - accuracy_a.mean(axis=-1)
    seed_part_a = accuracy_a.var(axis=-1, ddof=1) / seeds_a
    seed_part_b = accuracy_b.var(axis=-1, ddof=1) / seeds_b
    per_image = (image_b - image_a).var(axis=-1, ddof=1)
    noise = (_interaction_variance(correct_a, accuracy_a, image_a) / seeds_a
             + _interaction_variance(correct_b, accuracy_b, image_b) / seeds_b)
    # The image-by-seed noise is already inside the per-seed accuracies' spread: count it once.
    image_part = np.maximum(per_image - noise, 0.0) / images
    total = seed_part_a + seed_part_b + image_part
    with np.errstate(divide="ignore", invalid="ignore"):
        freedom = total**2 / (seed_part_a**2 / (seeds_a - 1) + seed_part_b**2 / (seeds_b - 1)
                              + image_part**2 / (images - 1))
    # All parts zero (identical flags everywhere): no spread, a zero-width interval.
    freedom = np.where(np.isfinite(freedom), freedom, images - 1)
    half = scipy_stats.t.ppf(0.5 + confidence / 2, freedom) * np.sqrt(total)
    return estimate, estimate - half, estimate + half


def _images_only_interval(correct_a: np.ndarray, correct_b: np.ndarray, confidence: float) -> Interval:
    """Test-image sampling only: the paired bootstrap for two single runs, else a normal interval on d_i."""
    if len(correct_a) == 1 and len(correct_b) == 1:
        return difference_interval(correct_a[0], correct_b[0], confidence=confidence)
    per_image = correct_b.mean(axis=0) - correct_a.mean(axis=0)
    estimate = float(per_image.mean())
    half = float(scipy_stats.norm.ppf(0.5 + confidence / 2) * per_image.std(ddof=1) / np.sqrt(per_image.size))
    return Interval(estimate, estimate - half, estimate + half, confidence, method="normal (test images only)")


def group_difference(name_a: str, correct_a, name_b: str, correct_b, confidence: float = DEFAULT_CONFIDENCE) -> GroupDifference:
    """Compare two groups from their (seeds, images) right/wrong flags on the same test images."""
    correct_a = np.atleast_2d(np.asarray(correct_a, dtype=bool))
    correct_b = np.atleast_2d(np.asarray(correct_b, dtype=bool))
    if correct_a.ndim != 2 or correct_b.ndim != 2 or correct_a.shape[1] != correct_b.shape[1]:
        raise ValueError(f"Both groups must be scored on the same test images: got flags of shape "
                         f"{correct_a.shape} and {correct_b.shape} (runs, images).")
    if correct_a.shape[1] < 2:
        raise ValueError("Comparing groups needs at least 2 shared test images.")
    seeds_counted = len(correct_a) >= 2 and len(correct_b) >= 2
    if seeds_counted:
        estimate, lower, upper = seed_and_image_interval(correct_a, correct_b, confidence)
        difference = Interval(float(estimate), float(lower), float(upper), confidence, method="t (seeds and test images)")
    else:
        difference = _images_only_interval(correct_a, correct_b, confidence)
    return GroupDifference(
        name_a=name_a, name_b=name_b,
        accuracies_a=tuple(float(value) for value in correct_a.mean(axis=1)),
        accuracies_b=tuple(float(value) for value in correct_b.mean(axis=1)),
        images=int(correct_a.shape[1]), difference=difference, seeds_counted=seeds_counted,
    )


def compare_groups(
    name_a: str,
    runs_a: Mapping[str, tuple],
    name_b: str,
    runs_b: Mapping[str, tuple],
    confidence: float = DEFAULT_CONFIDENCE,
) -> GroupDifference:
    """Compare groups given as ``{run_id: (y_true, probs)}`` each, on the test-image prefix all runs share.

    Raises ``ValueError`` for bad predictions, an empty group, a run in both
    groups, or runs not evaluated on the same test images.
    """
    if not runs_a or not runs_b:
        raise ValueError("Each side of a comparison needs at least one run with predictions.")
    shared = set(runs_a) & set(runs_b)
    if shared:
        raise ValueError(f"Run(s) {', '.join(sorted(shared))} are on both sides: pick two different groups.")
    loaded = {run_id: check_predictions(*pair, probs_name=f"the predictions of run {run_id}")
              for run_id, pair in {**runs_a, **runs_b}.items()}
    y_true, probs_by_run = align_on_common_test_images(loaded)
    flags = {run_id: probs.argmax(axis=1) == y_true for run_id, probs in probs_by_run.items()}
    return group_difference(name_a, [flags[run_id] for run_id in runs_a],
                            name_b, [flags[run_id] for run_id in runs_b], confidence)
