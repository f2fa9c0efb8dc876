"""Images most runs get wrong, likely label errors and A/B disagreements on hand-made sets."""

import numpy as np
import pytest

from analysis.failures import disagreements, filter_disagreements, hardest_images, likely_label_errors


def one_hot(labels, confidence=0.9, classes=10):
    """Probabilities that put ``confidence`` on each label and share the rest."""
    probs = np.full((len(labels), classes), (1 - confidence) / (classes - 1))
    probs[np.arange(len(labels)), labels] = confidence
    return probs


Y_TRUE = np.array([0, 1, 2, 0])
RUNS = {
    # Image 0: everyone right. Image 1: everyone says 2 (confidently). Image 2: one run wrong.
    # Image 3: two runs say 1, but run "c" only weakly.
    "a": one_hot([0, 2, 2, 1]),
    "b": one_hot([0, 2, 0, 1]),
    "c": np.vstack([one_hot([0, 2, 2])[:], [[0.3, 0.5, 0.2] + [0.0] * 7]]),
}


def test_hardest_images_ranks_by_wrong_count():
    frame = hardest_images(Y_TRUE, RUNS)
    assert frame["index"].tolist() == [1, 3, 2]
    assert frame["wrong_count"].tolist() == [3, 3, 1]
    assert frame.loc[0, "common_prediction"] == 2
    assert frame.loc[0, "wrong_share"] == 1.0
    assert hardest_images(Y_TRUE, RUNS, min_wrong_share=0.5)["index"].tolist() == [1, 3]


def test_likely_label_errors_need_confident_agreement_on_another_label():
    frame = likely_label_errors(Y_TRUE, RUNS, min_agreement=0.5, min_confidence=0.8)
    # Image 1: all three confidently say 2. Image 3: only two runs confident -> 2 > 1.5 still a majority.
    assert frame["index"].tolist() == [1, 3]
    assert frame["suggested_label"].tolist() == [2, 1]
    assert frame["agreeing_runs"].tolist() == [3, 2]
    assert frame.loc[0, "mean_confidence"] == pytest.approx(0.9)
    strict = likely_label_errors(Y_TRUE, RUNS, min_agreement=0.7, min_confidence=0.8)
    assert strict["index"].tolist() == [1]
    assert likely_label_errors(Y_TRUE, RUNS, min_confidence=0.95).empty


def test_failures_reject_mismatched_runs():
    with pytest.raises(ValueError, match="same test images"):
        hardest_images(Y_TRUE, {"a": one_hot([0, 1])})
    with pytest.raises(ValueError, match="at least one run"):
        likely_label_errors(Y_TRUE, {})
    with pytest.raises(ValueError, match="min_agreement"):
        likely_label_errors(Y_TRUE, RUNS, min_agreement=1.5)


def test_disagreements_and_filters():
    y_true = np.array([0, 1, 2, 0, 1])
    probs_a = one_hot([0, 1, 0, 0, 0], confidence=0.6)
    probs_b = one_hot([1, 1, 2, 0, 2], confidence=0.8)
    frame = disagreements(y_true, probs_a, probs_b)
    assert sorted(frame["index"].tolist()) == [0, 2, 4]
    by_index = frame.set_index("index")
    assert by_index.loc[0, "who_was_right"] == "A"
    assert by_index.loc[2, "who_was_right"] == "B"
    assert by_index.loc[4, "who_was_right"] == "neither"
    assert by_index.loc[2, "confidence_b"] == pytest.approx(0.8)
    assert filter_disagreements(frame, who_was_right="B")["index"].tolist() == [2]
    assert filter_disagreements(frame, true_label=1)["index"].tolist() == [4]
    assert len(filter_disagreements(frame)) == 3
    with pytest.raises(ValueError, match="who_was_right"):
        filter_disagreements(frame, who_was_right="C")
