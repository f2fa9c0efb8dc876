"""Is model B really better than model A on the same test images?

Every function here takes the saved test-set predictions (no retraining) and
returns plain numbers, dataclasses or DataFrames; nothing imports Streamlit.

Usage::

    from analysis.stats import accuracy_interval, difference_interval, mcnemar_test, significance_sentence
    correct_a = probs_a.argmax(1) == y_true
    correct_b = probs_b.argmax(1) == y_true
    interval_a = accuracy_interval(correct_a)           # 95% bootstrap interval
    difference = difference_interval(correct_a, correct_b)  # B - A, paired on the same images
    test = mcnemar_test(correct_a, correct_b)
    print(significance_sentence("A", "B", interval_a, accuracy_interval(correct_b), difference, test))

Bootstrap. Resampling n test images with replacement and counting how many a
model got right is exactly a draw from Binomial(n, accuracy); for a pair of
models, each image falls in one of four cells (both right, only A, only B,
both wrong) and the resampled cell counts are Multinomial(n, cell shares).
Drawing those counts directly gives the same distribution as resampling image
indices, at a tiny fraction of the memory (10,000 images x 10,000 resamples
would otherwise be 800 MB of indices).

Small samples. Below ``EXACT_INTERVAL_BELOW`` test images the percentile
bootstrap is too narrow (it covers the true accuracy only about 64% of the
time at 20 images and 95% accuracy), so ``accuracy_interval`` returns the
exact Clopper-Pearson interval there, which covers at least 95% by
construction (docs/statistics.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

from analysis.validation import check_labels, check_probabilities

# Below this many discordant images (exactly one model right) McNemar's chi-square
# approximation is poor, so the exact binomial test is used instead.
EXACT_TEST_BELOW = 25
DEFAULT_RESAMPLES = 10_000
DEFAULT_CONFIDENCE = 0.95
DEFAULT_SIGNIFICANCE_LEVEL = 0.05
# Fewer test images than this get the exact (Clopper-Pearson) accuracy interval.
EXACT_INTERVAL_BELOW = 1000


@dataclass(frozen=True)
class Interval:
    """A point estimate with its bootstrap confidence interval (all as fractions, not percent)."""

    estimate: float
    lower: float
    upper: float
    confidence: float
    method: str = "bootstrap"  # how the ends were found: bootstrap, exact (Clopper-Pearson), t (seeds and images)

    def contains(self, value: float) -> bool:
        """Whether ``value`` lies inside the interval (ends included)."""
        return self.lower <= value <= self.upper

    @property
    def width(self) -> float:
        """Upper minus lower end."""
        return self.upper - self.lower


@dataclass(frozen=True)
class McNemarResult:
    """McNemar's test on the 2x2 table of (A right / wrong) x (B right / wrong)."""

    both_right: int
    only_a_right: int
    only_b_right: int
    both_wrong: int
    statistic: float | None  # chi-square statistic; None for the exact test
    p_value: float
    method: str  # "exact binomial" or "chi-square with continuity correction"

    @property
    def discordant(self) -> int:
        """Images where exactly one of the two models was right."""
        return self.only_a_right + self.only_b_right

    @property
    def table(self) -> np.ndarray:
        """The 2x2 table: rows A right / wrong, columns B right / wrong."""
        return np.array([[self.both_right, self.only_a_right], [self.only_b_right, self.both_wrong]])


def _as_correct(correct, name: str) -> np.ndarray:
    """Validate a 1-D array of right/wrong flags and return it as bool."""
    array = np.asarray(correct)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array of right/wrong flags, got shape {array.shape}")
    if array.dtype != bool:
        if not np.all(np.isin(array, (0, 1))):
            raise ValueError(f"{name} must hold only True/False (or 1/0) values")
        array = array.astype(bool)
    return array


def _check_bootstrap_arguments(confidence: float, resamples: int) -> None:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1 (e.g. 0.95), got {confidence}")
    if resamples < 100:
        raise ValueError(f"resamples must be at least 100 for a stable interval, got {resamples}")


def _percentile_interval(estimate: float, samples: np.ndarray, confidence: float) -> Interval:
    tail = (1 - confidence) / 2 * 100
    lower, upper = np.percentile(samples, [tail, 100 - tail])
    return Interval(float(estimate), float(lower), float(upper), confidence)


def exact_interval(successes: int, count: int, confidence: float = DEFAULT_CONFIDENCE) -> Interval:
    """Clopper-Pearson interval of a share ``successes / count``: never narrower than it should be.

    The ends are Beta quantiles (the inverted exact binomial test), so the
    interval covers the true share at least ``confidence`` of the time for
    every sample size; it is the interval for small test sets.
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1 (e.g. 0.95), got {confidence}")
    if count < 1 or not 0 <= successes <= count:
        raise ValueError(f"need 0 <= successes <= count and count >= 1, got {successes} of {count}")
    tail = (1 - confidence) / 2
    lower = 0.0 if successes == 0 else float(scipy_stats.beta.ppf(tail, successes, count - successes + 1))
    upper = 1.0 if successes == count else float(scipy_stats.beta.ppf(1 - tail, successes + 1, count - successes))
    return Interval(successes / count, lower, upper, confidence, method="exact")


def accuracy_interval(
    correct,
    confidence: float = DEFAULT_CONFIDENCE,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    exact_below: int = EXACT_INTERVAL_BELOW,
) -> Interval:
    """Accuracy of one model with a 95% interval over test images.

    ``correct`` holds one True/False per test image (prediction == label).
    With fewer than ``exact_below`` images the interval is exact
    (Clopper-Pearson), otherwise a percentile bootstrap (module docstring).
    """
    correct = _as_correct(correct, "correct")
    _check_bootstrap_arguments(confidence, resamples)
    count = correct.size
    if count < exact_below:
        return exact_interval(int(correct.sum()), count, confidence)
    accuracy = correct.mean()
    rng = np.random.default_rng(seed)
    # Exactly the distribution of "resample images, count the right ones" (module docstring).
    samples = rng.binomial(count, accuracy, size=resamples) / count
    return _percentile_interval(accuracy, samples, confidence)


def _paired_cells(correct_a: np.ndarray, correct_b: np.ndarray) -> tuple[int, int, int, int]:
    both_right = int(np.sum(correct_a & correct_b))
    only_a_right = int(np.sum(correct_a & ~correct_b))
    only_b_right = int(np.sum(~correct_a & correct_b))
    both_wrong = int(np.sum(~correct_a & ~correct_b))
    return both_right, only_a_right, only_b_right, both_wrong


def _paired_arrays(correct_a, correct_b) -> tuple[np.ndarray, np.ndarray]:
    correct_a = _as_correct(correct_a, "correct_a")
    correct_b = _as_correct(correct_b, "correct_b")
    if correct_a.shape != correct_b.shape:
        raise ValueError(
            f"Both models must be scored on the same test images: got {correct_a.size} and {correct_b.size} images"
        )
    return correct_a, correct_b


def difference_interval(
    correct_a,
    correct_b,
    confidence: float = DEFAULT_CONFIDENCE,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> Interval:
    """Accuracy of B minus accuracy of A, with a paired bootstrap interval.

    Paired: each resample draws the same test images for both models, so the
    interval reflects only how the two differ, not how hard the draw was.
    """
    correct_a, correct_b = _paired_arrays(correct_a, correct_b)
    _check_bootstrap_arguments(confidence, resamples)
    count = correct_a.size
    cells = np.array(_paired_cells(correct_a, correct_b), dtype=float)
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(count, cells / count, size=resamples)
    # Column 1 is "only A right", column 2 "only B right"; concordant cells cancel out.
    samples = (counts[:, 2] - counts[:, 1]) / count
    estimate = (cells[2] - cells[1]) / count
    return _percentile_interval(estimate, samples, confidence)


def mcnemar_test(correct_a, correct_b, exact_below: int = EXACT_TEST_BELOW) -> McNemarResult:
    """McNemar's test of equal accuracy on the same images (two-sided).

    With fewer than ``exact_below`` discordant images the exact binomial test
    is used (p = two-sided Binomial(discordant, 1/2) tail); otherwise the
    chi-square statistic with continuity correction, (|b - c| - 1)^2 / (b + c),
    on one degree of freedom.
    """
    correct_a, correct_b = _paired_arrays(correct_a, correct_b)
    both_right, only_a, only_b, both_wrong = _paired_cells(correct_a, correct_b)
    return mcnemar_from_counts(both_right, only_a, only_b, both_wrong, exact_below=exact_below)


def mcnemar_from_counts(
    both_right: int, only_a_right: int, only_b_right: int, both_wrong: int, exact_below: int = EXACT_TEST_BELOW
) -> McNemarResult:
    """McNemar's test from the four cells of the 2x2 table (see ``mcnemar_test``)."""
    cells = (both_right, only_a_right, only_b_right, both_wrong)
    if any(int(value) != value or value < 0 for value in cells):
        raise ValueError(f"table cells must be non-negative whole numbers, got {cells}")
    discordant = only_a_right + only_b_right
    if discordant == 0:
        # The models never disagree on who is right: no evidence of any difference.
        return McNemarResult(*map(int, cells), statistic=None, p_value=1.0, method="exact binomial")
    if discordant < exact_below:
        tail = scipy_stats.binom.cdf(min(only_a_right, only_b_right), discordant, 0.5)
        p_value = min(1.0, 2 * tail)
        return McNemarResult(*map(int, cells), statistic=None, p_value=float(p_value), method="exact binomial")
    statistic = (abs(only_a_right - only_b_right) - 1) ** 2 / discordant
    p_value = scipy_stats.chi2.sf(statistic, df=1)
    return McNemarResult(
        *map(int, cells),
        statistic=float(statistic),
        p_value=float(p_value),
        method="chi-square with continuity correction",
    )


def format_p_value(p_value: float) -> str:
    """``p = 0.031`` style text; very small values as ``p < 0.0001``."""
    if p_value < 1e-4:
        return "p < 0.0001"
    if p_value < 0.01:
        return f"p = {p_value:.4f}"
    return f"p = {p_value:.3f}"


def _percent(value: float) -> str:
    return f"{value * 100:.1f}%"


def _points(value: float) -> str:
    return f"{value * 100:+.1f}"


def significance_sentence(
    name_a: str,
    name_b: str,
    accuracy_a: Interval,
    accuracy_b: Interval,
    difference: Interval,
    test: McNemarResult,
    significance_level: float = DEFAULT_SIGNIFICANCE_LEVEL,
) -> str:
    """The comparison in plain words: both accuracies, the gap with its interval, and what p means."""
    level = f"{round(accuracy_a.confidence * 100)}%"
    lines = [
        f"{name_b} got {_percent(accuracy_b.estimate)} of the test images right "
        f"({level} interval {_percent(accuracy_b.lower)} to {_percent(accuracy_b.upper)}); "
        f"{name_a} got {_percent(accuracy_a.estimate)} ({_percent(accuracy_a.lower)} to {_percent(accuracy_a.upper)}).",
        f"Difference {name_b} − {name_a}: {_points(difference.estimate)} percentage points "
        f"({level} interval {_points(difference.lower)} to {_points(difference.upper)}).",
    ]
    if test.discordant == 0:
        lines.append("The two models are right and wrong on exactly the same images, so there is no difference to test.")
        return " ".join(lines)
    lines.append(
        f"On the {test.discordant:,} images where exactly one of them was right, {name_b} was right on "
        f"{test.only_b_right:,} and {name_a} on {test.only_a_right:,}."
    )
    chance = (
        f"If both models were equally accurate, a split at least this lopsided would happen by chance "
        f"with probability {format_p_value(test.p_value)} (McNemar's test, {test.method})."
    )
    lines.append(chance)
    if test.p_value < significance_level:
        better, worse = (name_b, name_a) if test.only_b_right > test.only_a_right else (name_a, name_b)
        lines.append(
            f"So {better} is better than {worse} on this test set, and the gap is unlikely to be luck "
            f"(significant at the {significance_level:g} level)."
        )
    else:
        lines.append(
            f"So the test set does not show that either model is better: the gap could well be luck "
            f"(not significant at the {significance_level:g} level)."
        )
    return " ".join(lines)


def _precision_recall_f1(y_true: np.ndarray, y_pred: np.ndarray, class_count: int) -> tuple[np.ndarray, ...]:
    """Per-class precision, recall and F1; 0 where a class is never predicted or never present."""
    true_positive = np.bincount(y_true[y_true == y_pred], minlength=class_count).astype(float)
    predicted = np.bincount(y_pred, minlength=class_count).astype(float)
    actual = np.bincount(y_true, minlength=class_count).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted > 0, true_positive / predicted, 0.0)
        recall = np.where(actual > 0, true_positive / actual, 0.0)
        total = precision + recall
        f1 = np.where(total > 0, 2 * precision * recall / total, 0.0)
    return precision, recall, f1


def per_class_comparison(y_true, predicted_a, predicted_b, class_names) -> pd.DataFrame:
    """Per-class precision, recall and F1 of A and B side by side, with B − A deltas.

    Columns: ``class``, then for each metric ``<metric>_a``, ``<metric>_b``,
    ``<metric>_delta``; one row per class in ``class_names`` order.
    """
    class_count = len(class_names)
    y_true = check_labels(y_true, "y_true", class_count)
    predicted_a = check_labels(predicted_a, "predicted_a", class_count)
    predicted_b = check_labels(predicted_b, "predicted_b", class_count)
    if not (y_true.shape == predicted_a.shape == predicted_b.shape):
        raise ValueError(
            "y_true, predicted_a and predicted_b must be of equal length, got "
            f"{y_true.shape}, {predicted_a.shape}, {predicted_b.shape}"
        )
    metrics_a = _precision_recall_f1(y_true, predicted_a, class_count)
    metrics_b = _precision_recall_f1(y_true, predicted_b, class_count)
    frame = pd.DataFrame({"class": list(class_names)})
    for metric, values_a, values_b in zip(("precision", "recall", "f1"), metrics_a, metrics_b):
        frame[f"{metric}_a"] = values_a
        frame[f"{metric}_b"] = values_b
        frame[f"{metric}_delta"] = values_b - values_a
    return frame


@dataclass(frozen=True)
class Comparison:
    """Everything the Compare page and the report say about one pair of runs."""

    name_a: str
    name_b: str
    accuracy_a: Interval
    accuracy_b: Interval
    difference: Interval
    test: McNemarResult
    sentence: str


def compare_runs(
    name_a: str,
    name_b: str,
    y_true,
    probs_a,
    probs_b,
    confidence: float = DEFAULT_CONFIDENCE,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> Comparison:
    """Bootstrap intervals, McNemar's test and the plain-words sentence for runs A and B."""
    y_true = check_labels(y_true)
    probs_a, probs_b = np.asarray(probs_a), np.asarray(probs_b)
    if probs_a.shape[:1] != probs_b.shape[:1] or probs_a.shape[:1] != y_true.shape:
        raise ValueError(
            f"{name_a} and {name_b} were not scored on the same test images "
            f"({probs_a.shape[:1]} and {probs_b.shape[:1]} predictions for {y_true.shape[0]} labels)."
        )
    probs_a = check_probabilities(probs_a, f"the predictions of {name_a}", rows=y_true.shape[0])
    probs_b = check_probabilities(probs_b, f"the predictions of {name_b}", rows=y_true.shape[0])
    correct_a = probs_a.argmax(axis=1) == y_true
    correct_b = probs_b.argmax(axis=1) == y_true
    accuracy_a = accuracy_interval(correct_a, confidence, resamples, seed)
    accuracy_b = accuracy_interval(correct_b, confidence, resamples, seed + 1)
    difference = difference_interval(correct_a, correct_b, confidence, resamples, seed + 2)
    test = mcnemar_test(correct_a, correct_b)
    sentence = significance_sentence(name_a, name_b, accuracy_a, accuracy_b, difference, test)
    return Comparison(name_a, name_b, accuracy_a, accuracy_b, difference, test, sentence)
