"""Matching saved predictions to test images, and aligning runs on the test images they share.

(Cache keys for run folders live in ``runstore.signature``.)

No Streamlit here: the dashboard wraps these in its caches, tests call them directly.
"""

from __future__ import annotations

import numpy as np


def images_match_predictions(test_labels: np.ndarray | None, y_true: np.ndarray) -> bool:
    """Whether the predictions were made on the loaded test set (same labels, same order, possibly a prefix)."""
    # Predictions cover the first N test images (N < 10,000 for runs trained with test_limit).
    return (
        test_labels is not None
        and len(y_true) <= len(test_labels)
        and bool(np.array_equal(test_labels[: len(y_true)], y_true))
    )


class DifferentTestImages(ValueError):
    """Runs whose predictions are not on the same test images, even on a shared prefix."""


def align_on_common_test_images(
    loaded: dict[str, tuple[np.ndarray, np.ndarray]],
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Trim every run's ``(y_true, probs)`` to the test images all of them were scored on.

    A run's predictions cover the first N test images in test-set order (a run
    trained with ``test_limit`` has fewer rows), so runs are comparable image by
    image on the shortest run's prefix. Returns ``(y_true, probs_by_run)``;
    raises ``DifferentTestImages`` naming two runs whose labels disagree there.
    """
    if not loaded:
        raise ValueError("align_on_common_test_images needs at least one run")
    count = min(len(y_true) for y_true, _ in loaded.values())
    (reference_id, (reference, _)), *others = loaded.items()
    for run_id, (labels, _) in others:
        if not np.array_equal(labels[:count], reference[:count]):
            raise DifferentTestImages(
                f"Runs {reference_id} and {run_id} were not evaluated on the same test images, so they cannot "
                "be compared image by image. Pick runs evaluated on the same data."
            )
    return reference[:count].copy(), {run_id: probs[:count] for run_id, (_, probs) in loaded.items()}
