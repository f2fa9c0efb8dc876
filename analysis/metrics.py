"""Classification metrics from saved test-set predictions (NumPy in, NumPy or pandas out).

Usage::

    from analysis.metrics import confusion_matrix, per_class_metrics, most_confused_pairs
    matrix = confusion_matrix(y_true, probs.argmax(axis=1))
    table = per_class_metrics(matrix, CLASS_NAMES)
    pairs = most_confused_pairs(matrix, CLASS_NAMES, top=10)

Rows of every confusion matrix are the true class, columns the predicted class.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis.validation import NUM_CLASSES, check_labels, check_probabilities


def _as_labels(values: np.ndarray, name: str, num_classes: int = NUM_CLASSES) -> np.ndarray:
    return check_labels(values, name, num_classes)


def predicted_labels(probs: np.ndarray) -> np.ndarray:
    """The most probable class of every row of ``probs`` (N, classes)."""
    probs = check_probabilities(probs)
    return probs.argmax(axis=1).astype(np.int64)


def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Share of predictions equal to the true label (0.0 for no images)."""
    y_true = _as_labels(y_true, "y_true")
    y_pred = _as_labels(y_pred, "y_pred")
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true and y_pred differ in length: {y_true.shape[0]} vs {y_pred.shape[0]}")
    if y_true.size == 0:
        return 0.0
    return float(np.mean(y_true == y_pred))


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int = 10) -> np.ndarray:
    """Counts of (true class, predicted class) pairs as an int64 (classes, classes) matrix."""
    if num_classes < 1:
        raise ValueError(f"num_classes must be at least 1, got {num_classes}")
    y_true = _as_labels(y_true, "y_true", num_classes)
    y_pred = _as_labels(y_pred, "y_pred", num_classes)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true and y_pred differ in length: {y_true.shape[0]} vs {y_pred.shape[0]}")
    # One bincount over a flattened (true, predicted) index is much faster than a Python loop.
    flat = y_true * num_classes + y_pred
    return np.bincount(flat, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def row_percentages(matrix: np.ndarray) -> np.ndarray:
    """Each row of ``matrix`` as percentages of its total (rows with no images stay 0)."""
    matrix = np.asarray(matrix, dtype=np.float64)
    totals = matrix.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = np.where(totals > 0, matrix / np.where(totals == 0, 1, totals) * 100.0, 0.0)
    return shares


def per_class_metrics(matrix: np.ndarray, class_names: Sequence[str]) -> pd.DataFrame:
    """Precision, recall, F1 and support of every class, from a confusion matrix.

    A class never predicted has precision 0, a class with no images recall 0
    (scikit-learn's ``zero_division=0`` convention), so the table never holds NaN.
    """
    matrix = np.asarray(matrix, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"matrix must be square, got shape {matrix.shape}")
    if len(class_names) != matrix.shape[0]:
        raise ValueError(f"{len(class_names)} class names given for a {matrix.shape[0]}-class matrix")
    correct = np.diag(matrix)
    predicted = matrix.sum(axis=0)
    actual = matrix.sum(axis=1)
    precision = np.divide(correct, predicted, out=np.zeros_like(correct), where=predicted > 0)
    recall = np.divide(correct, actual, out=np.zeros_like(correct), where=actual > 0)
    both = precision + recall
    f1 = np.divide(2 * precision * recall, both, out=np.zeros_like(correct), where=both > 0)
    return pd.DataFrame(
        {
            "class": list(class_names),
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "support": actual.astype(np.int64),
        }
    )


def most_confused_pairs(matrix: np.ndarray, class_names: Sequence[str], top: int = 10) -> pd.DataFrame:
    """The off-diagonal cells with the most images, largest first.

    Pairs are ordered (true class -> predicted class), because "cats called dogs"
    and "dogs called cats" are different mistakes with different images. Ties
    keep the matrix order so the ranking is deterministic. Cells with no images
    are left out. ``share_of_true_class`` is the percentage of that true class.
    """
    matrix = np.asarray(matrix)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"matrix must be square, got shape {matrix.shape}")
    if len(class_names) != matrix.shape[0]:
        raise ValueError(f"{len(class_names)} class names given for a {matrix.shape[0]}-class matrix")
    if top < 1:
        raise ValueError(f"top must be at least 1, got {top}")
    size = matrix.shape[0]
    true_index, predicted_index = np.where(~np.eye(size, dtype=bool))
    counts = matrix[true_index, predicted_index]
    order = np.argsort(-counts, kind="stable")
    order = order[counts[order] > 0][:top]
    totals = matrix.sum(axis=1)
    rows = []
    for position in order:
        true_class, predicted_class = int(true_index[position]), int(predicted_index[position])
        count = int(counts[position])
        rows.append(
            {
                "true_index": true_class,
                "predicted_index": predicted_class,
                "true class": class_names[true_class],
                "predicted as": class_names[predicted_class],
                "images": count,
                "share_of_true_class": 100.0 * count / totals[true_class] if totals[true_class] else 0.0,
            }
        )
    columns = ["true_index", "predicted_index", "true class", "predicted as", "images", "share_of_true_class"]
    return pd.DataFrame(rows, columns=columns)


def cell_indices(y_true: np.ndarray, y_pred: np.ndarray, true_class: int, predicted_class: int) -> np.ndarray:
    """Row indices (test-set order) of the images of ``true_class`` predicted as ``predicted_class``."""
    y_true = _as_labels(y_true, "y_true")
    y_pred = _as_labels(y_pred, "y_pred")
    return np.flatnonzero((y_true == true_class) & (y_pred == predicted_class))
