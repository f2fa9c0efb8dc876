"""One gate for labels and probabilities: every public function in ``analysis`` that takes them calls it.

Bad input is refused with a ``ValueError`` that says what is wrong and what to
do, instead of being silently misread (NumPy reads label -1 as the last class
and argmax of a NaN row as class 0).
"""

from __future__ import annotations

import numpy as np

NUM_CLASSES = 10
# float32 softmax outputs of 10 classes sum to 1 within about 1e-6; 1e-3 also
# accepts probabilities saved with a few decimals, and still catches logits.
SUM_TOLERANCE = 1e-3


def check_labels(y_true, name: str = "y_true", num_classes: int = NUM_CLASSES) -> np.ndarray:
    """``y_true`` as int64 of shape (N,), or a ValueError for another shape, dtype or a label outside 0-9."""
    labels = np.asarray(y_true)
    if labels.ndim == 2 and labels.shape[1] == 1:
        raise ValueError(f"{name} has shape {labels.shape}: pass one label per image as a flat array "
                         f"(for example y.ravel()).")
    if labels.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of class indices, got shape {labels.shape}.")
    if labels.size and not (np.issubdtype(labels.dtype, np.integer) or labels.dtype == bool):
        if not np.issubdtype(labels.dtype, np.floating) or not np.all(np.isfinite(labels)) \
                or not np.all(labels == np.round(labels)):
            raise ValueError(f"{name} must hold whole-number class indices 0-{num_classes - 1}, got dtype {labels.dtype}.")
    labels = labels.astype(np.int64)
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        bad = labels[(labels < 0) | (labels >= num_classes)]
        raise ValueError(f"{name} holds labels outside 0-{num_classes - 1} (for example {int(bad[0])}); "
                         "CIFAR-10 has classes 0-9.")
    return labels


def check_probabilities(probs, name: str = "probs", num_classes: int = NUM_CLASSES, rows: int | None = None) -> np.ndarray:
    """``probs`` as float64 (N, classes): finite, in [0, 1], each row summing to 1; else a ValueError.

    ``rows`` is the expected number of images (the length of the labels), when known.
    """
    array = np.asarray(probs)
    if array.ndim != 2 or array.shape[1] != num_classes:
        raise ValueError(f"{name} must have shape (images, {num_classes}): one probability per class, got {array.shape}.")
    if not np.issubdtype(array.dtype, np.number) or np.issubdtype(array.dtype, np.complexfloating):
        raise ValueError(f"{name} must hold numbers, got dtype {array.dtype}.")
    array = array.astype(np.float64)
    if rows is not None and array.shape[0] != rows:
        raise ValueError(f"{name} has {array.shape[0]} rows for {rows} labels: predictions and labels must cover "
                         "the same test images.")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values: the model's predictions are broken; "
                         "re-evaluate the run.")
    if array.size and (array.min() < 0 or array.max() > 1):
        raise ValueError(f"{name} must hold probabilities between 0 and 1 (softmax outputs), not logits.")
    sums = array.sum(axis=1)
    off = np.flatnonzero(np.abs(sums - 1) > SUM_TOLERANCE)
    if off.size:
        raise ValueError(f"{name} rows must each sum to 1 (softmax outputs); row {int(off[0])} sums to "
                         f"{sums[off[0]]:.4f}.")
    return array


def check_predictions(y_true, probs, probs_name: str = "probs", num_classes: int = NUM_CLASSES) -> tuple[np.ndarray, np.ndarray]:
    """Labels and probabilities of the same images, both checked (see the two functions above)."""
    labels = check_labels(y_true, num_classes=num_classes)
    return labels, check_probabilities(probs, probs_name, num_classes=num_classes, rows=labels.shape[0])
