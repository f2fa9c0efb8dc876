"""Metrics against values computed by hand."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.metrics import (
    accuracy,
    cell_indices,
    confusion_matrix,
    most_confused_pairs,
    per_class_metrics,
    predicted_labels,
    row_percentages,
)

NAMES = ["a", "b", "c"]
# true:      a a a a b b b c c c
# predicted: a a b c b b a c c b
Y_TRUE = np.array([0, 0, 0, 0, 1, 1, 1, 2, 2, 2])
Y_PRED = np.array([0, 0, 1, 2, 1, 1, 0, 2, 2, 1])


def test_confusion_matrix_counts_true_rows_predicted_columns():
    expected = np.array([[2, 1, 1], [1, 2, 0], [0, 1, 2]])
    np.testing.assert_array_equal(confusion_matrix(Y_TRUE, Y_PRED, num_classes=3), expected)


def test_confusion_matrix_rejects_labels_out_of_range_and_mismatched_lengths():
    with pytest.raises(ValueError, match="outside"):
        confusion_matrix(np.array([0, 3]), np.array([0, 1]), num_classes=3)
    with pytest.raises(ValueError, match="differ in length"):
        confusion_matrix(np.array([0, 1]), np.array([0]), num_classes=3)


def test_accuracy_and_predicted_labels():
    assert accuracy(Y_TRUE, Y_PRED) == pytest.approx(0.6)
    assert accuracy(np.array([], dtype=int), np.array([], dtype=int)) == 0.0
    probs = np.pad(np.array([[0.1, 0.7, 0.2], [0.5, 0.2, 0.3]]), ((0, 0), (0, 7)))
    np.testing.assert_array_equal(predicted_labels(probs), [1, 0])


def test_row_percentages_sum_to_100_and_leave_empty_rows_at_zero():
    shares = row_percentages(np.array([[1, 3], [0, 0]]))
    np.testing.assert_allclose(shares, [[25.0, 75.0], [0.0, 0.0]])


def test_per_class_metrics_match_hand_computation():
    table = per_class_metrics(confusion_matrix(Y_TRUE, Y_PRED, 3), NAMES)
    # class a: TP 2, predicted 3 (2 + 1 from b), actual 4 -> P 2/3, R 1/2, F1 4/7
    # class b: TP 2, predicted 4, actual 3 -> P 1/2, R 2/3, F1 4/7
    # class c: TP 2, predicted 3, actual 3 -> P 2/3, R 2/3, F1 2/3
    np.testing.assert_allclose(table["precision"], [2 / 3, 1 / 2, 2 / 3])
    np.testing.assert_allclose(table["recall"], [1 / 2, 2 / 3, 2 / 3])
    np.testing.assert_allclose(table["f1"], [4 / 7, 4 / 7, 2 / 3])
    assert table["support"].tolist() == [4, 3, 3]
    assert table["class"].tolist() == NAMES


def test_per_class_metrics_of_a_class_never_predicted_is_zero_not_nan():
    table = per_class_metrics(np.array([[1, 0], [1, 0]]), ["x", "y"])
    assert table.loc[1, "precision"] == 0.0 and table.loc[1, "f1"] == 0.0
    assert not table.isna().any().any()


def test_most_confused_pairs_are_ranked_and_directional():
    matrix = np.array([[50, 7, 1], [3, 40, 0], [7, 0, 60]])
    pairs = most_confused_pairs(matrix, NAMES, top=3)
    # 7 (a->b) and 7 (c->a) tie: matrix order keeps a->b first.
    assert list(zip(pairs["true class"], pairs["predicted as"], pairs["images"])) == [
        ("a", "b", 7), ("c", "a", 7), ("b", "a", 3),
    ]
    assert pairs.loc[0, "share_of_true_class"] == pytest.approx(100 * 7 / 58)


def test_most_confused_pairs_leave_out_empty_cells():
    pairs = most_confused_pairs(np.array([[5, 0], [1, 5]]), ["x", "y"], top=10)
    assert len(pairs) == 1 and pairs.loc[0, "true class"] == "y"


def test_cell_indices_returns_test_set_rows():
    np.testing.assert_array_equal(cell_indices(Y_TRUE, Y_PRED, 0, 2), [3])
    np.testing.assert_array_equal(cell_indices(Y_TRUE, Y_PRED, 1, 1), [4, 5])
