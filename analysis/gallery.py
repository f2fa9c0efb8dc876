"""Which test images a gallery shows, in what order, one page at a time."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.validation import check_predictions


def misclassified_frame(
    y_true: np.ndarray,
    probs: np.ndarray,
    class_names,
    true_classes=None,
    predicted_classes=None,
) -> pd.DataFrame:
    """Every wrongly predicted test image, most confidently wrong first.

    Columns: ``index`` (row in the test set), ``true``, ``predicted`` (class names),
    ``confidence`` (probability of the predicted class) and ``true_probability``.
    ``true_classes``/``predicted_classes`` (lists of class indices, None = all)
    filter the rows. Ties in confidence keep test-set order.
    """
    y_true, probs = check_predictions(y_true, probs, num_classes=len(class_names))
    predicted = probs.argmax(axis=1)
    keep = predicted != y_true
    if true_classes:
        keep &= np.isin(y_true, list(true_classes))
    if predicted_classes:
        keep &= np.isin(predicted, list(predicted_classes))
    index = np.flatnonzero(keep)
    confidence = probs[index, predicted[index]]
    order = np.argsort(-confidence, kind="stable")
    index = index[order]
    names = np.asarray(class_names)
    return pd.DataFrame(
        {
            "index": index,
            "true": names[y_true[index]],
            "predicted": names[predicted[index]],
            "confidence": probs[index, predicted[index]].astype(np.float64),
            "true_probability": probs[index, y_true[index]].astype(np.float64),
        }
    )


@dataclass(frozen=True)
class Page:
    """One page of a gallery: rows ``start``..``stop`` (exclusive) of ``total``."""

    number: int
    count: int
    start: int
    stop: int
    total: int


def page_bounds(total: int, page_size: int, page: int) -> Page:
    """The slice of page ``page`` (1-based); a page past the end is clamped to the last one."""
    if page_size < 1:
        raise ValueError(f"page_size must be at least 1, got {page_size}")
    if total < 0:
        raise ValueError(f"total must not be negative, got {total}")
    count = max(1, math.ceil(total / page_size))
    number = min(max(1, int(page)), count)
    start = (number - 1) * page_size
    return Page(number=number, count=count, start=start, stop=min(total, start + page_size), total=total)
