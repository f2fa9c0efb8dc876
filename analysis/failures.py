"""Where models fail together: images most runs get wrong, and likely label errors.

All runs must have been scored on the same test images (same ``y_true``).

Usage::

    from analysis.failures import hardest_images, likely_label_errors
    probs_by_run = {"simple_cnn": probs_1, "fast_cnn": probs_2, ...}
    hard = hardest_images(y_true, probs_by_run)         # most runs wrong first
    suspects = likely_label_errors(y_true, probs_by_run)  # runs agree confidently on another label

A "likely label error" is a test image where a clear majority of the runs
predict the same class, each with high confidence, and that class is not the
given label. CIFAR-10's test set is known to hold a few dozen such images
(Northcutt et al., "Pervasive Label Errors in Test Sets", 2021); they are
worth looking at before blaming the models.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from analysis.validation import check_labels, check_probabilities

DEFAULT_MIN_AGREEMENT = 0.5
DEFAULT_MIN_CONFIDENCE = 0.8


def _stack(y_true, probs_by_run: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Validate and stack the runs' probabilities into (runs, images, classes)."""
    if not probs_by_run:
        raise ValueError("Choose at least one run: there are no predictions to look at.")
    y_true = check_labels(y_true)
    arrays = [check_probabilities(probs, f"the predictions of run {name!r}", rows=y_true.shape[0])
              for name, probs in probs_by_run.items()]
    return y_true, np.stack(arrays)


def hardest_images(y_true, probs_by_run: Mapping[str, np.ndarray], min_wrong_share: float = 0.0) -> pd.DataFrame:
    """Test images sorted by how many runs got them wrong (then by low true-class probability).

    Columns: ``index`` (position in the test set), ``true_label``, ``wrong_count``,
    ``run_count``, ``wrong_share``, ``common_prediction`` (the most frequent
    predicted label across runs), ``mean_true_probability``. Only images that at
    least one run got wrong and with ``wrong_share >= min_wrong_share`` are kept.
    """
    y_true, stacked = _stack(y_true, probs_by_run)
    run_count, image_count, class_count = stacked.shape
    predicted = stacked.argmax(axis=2)  # (runs, images)
    wrong_count = (predicted != y_true[None, :]).sum(axis=0)
    votes = np.zeros((image_count, class_count), dtype=int)
    for run_predictions in predicted:
        votes[np.arange(image_count), run_predictions] += 1
    true_probability = stacked[:, np.arange(image_count), y_true].mean(axis=0)
    frame = pd.DataFrame(
        {
            "index": np.arange(image_count),
            "true_label": y_true,
            "wrong_count": wrong_count,
            "run_count": run_count,
            "wrong_share": wrong_count / run_count,
            "common_prediction": votes.argmax(axis=1),
            "mean_true_probability": true_probability,
        }
    )
    frame = frame[(frame["wrong_count"] > 0) & (frame["wrong_share"] >= min_wrong_share)]
    return frame.sort_values(
        ["wrong_count", "mean_true_probability", "index"], ascending=[False, True, True]
    ).reset_index(drop=True)


def likely_label_errors(
    y_true,
    probs_by_run: Mapping[str, np.ndarray],
    min_agreement: float = DEFAULT_MIN_AGREEMENT,
    min_confidence: float = DEFAULT_MIN_CONFIDENCE,
) -> pd.DataFrame:
    """Images where more than ``min_agreement`` of the runs confidently agree on a label other than the given one.

    A run counts towards the agreement only when its top class is that label
    and its probability is at least ``min_confidence``. Columns: ``index``,
    ``given_label``, ``suggested_label``, ``agreeing_runs``, ``run_count``,
    ``mean_confidence`` (over the agreeing runs), sorted most convincing first.
    """
    if not 0 <= min_agreement < 1:
        raise ValueError(f"min_agreement must be a share between 0 and 1 (e.g. 0.5), got {min_agreement}")
    if not 0 <= min_confidence <= 1:
        raise ValueError(f"min_confidence must be between 0 and 1, got {min_confidence}")
    y_true, stacked = _stack(y_true, probs_by_run)
    run_count, image_count, class_count = stacked.shape
    predicted = stacked.argmax(axis=2)
    confidence = stacked.max(axis=2)
    confident = confidence >= min_confidence
    agreeing = np.zeros((image_count, class_count), dtype=int)
    confidence_sum = np.zeros((image_count, class_count))
    images = np.arange(image_count)
    for run_index in range(run_count):
        keep = confident[run_index]
        np.add.at(agreeing, (images[keep], predicted[run_index, keep]), 1)
        np.add.at(confidence_sum, (images[keep], predicted[run_index, keep]), confidence[run_index, keep])
    # The given label never counts as a suggestion.
    agreeing[images, y_true] = 0
    suggested = agreeing.argmax(axis=1)
    agreeing_runs = agreeing[images, suggested]
    selected = agreeing_runs > min_agreement * run_count
    mean_confidence = np.divide(
        confidence_sum[images, suggested], agreeing_runs, out=np.zeros(image_count), where=agreeing_runs > 0
    )
    frame = pd.DataFrame(
        {
            "index": images[selected],
            "given_label": y_true[selected],
            "suggested_label": suggested[selected],
            "agreeing_runs": agreeing_runs[selected],
            "run_count": run_count,
            "mean_confidence": mean_confidence[selected],
        }
    )
    return frame.sort_values(
        ["agreeing_runs", "mean_confidence", "index"], ascending=[False, False, True]
    ).reset_index(drop=True)


def disagreements(y_true, probs_a, probs_b) -> pd.DataFrame:
    """Test images where runs A and B predict different classes.

    Columns: ``index``, ``true_label``, ``predicted_a``, ``confidence_a``,
    ``predicted_b``, ``confidence_b``, ``who_was_right`` (``A``, ``B`` or
    ``neither``), sorted by the larger of the two confidences, highest first.
    """
    y_true = check_labels(y_true)
    probs_a = check_probabilities(probs_a, "probs_a", rows=y_true.shape[0])
    probs_b = check_probabilities(probs_b, "probs_b", rows=y_true.shape[0])
    predicted_a = probs_a.argmax(axis=1)
    predicted_b = probs_b.argmax(axis=1)
    differ = np.flatnonzero(predicted_a != predicted_b)
    who = np.full(differ.size, "neither", dtype=object)
    who[predicted_a[differ] == y_true[differ]] = "A"
    who[predicted_b[differ] == y_true[differ]] = "B"
    frame = pd.DataFrame(
        {
            "index": differ,
            "true_label": y_true[differ],
            "predicted_a": predicted_a[differ],
            "confidence_a": probs_a[differ, predicted_a[differ]].astype(float),
            "predicted_b": predicted_b[differ],
            "confidence_b": probs_b[differ, predicted_b[differ]].astype(float),
            "who_was_right": who,
        }
    )
    order = np.argsort(-np.maximum(frame["confidence_a"], frame["confidence_b"]).to_numpy(), kind="stable")
    return frame.iloc[order].reset_index(drop=True)


def filter_disagreements(frame: pd.DataFrame, true_label: int | None = None, who_was_right: str | None = None) -> pd.DataFrame:
    """Keep rows of ``disagreements`` with the given true class and/or winner (None keeps all)."""
    if who_was_right is not None and who_was_right not in ("A", "B", "neither"):
        raise ValueError(f"who_was_right must be 'A', 'B', 'neither' or None, got {who_was_right!r}")
    keep = np.ones(len(frame), dtype=bool)
    if true_label is not None:
        keep &= frame["true_label"].to_numpy() == true_label
    if who_was_right is not None:
        keep &= frame["who_was_right"].to_numpy() == who_was_right
    return frame[keep].reset_index(drop=True)
