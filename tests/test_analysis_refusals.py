"""Every public analysis function that takes labels or probabilities refuses bad ones with a clear ValueError.

Before the shared validator, ``failures.py`` read label -1 as class 9 (NumPy's
negative indexing) and a NaN row as class 0 (argmax of NaN): wrong answers,
silently. Each case below is one way such input reaches the lab.
"""

import numpy as np
import pytest

from analysis.answers import answers_table
from analysis.calibration import calibration_summary, confidence_and_correct
from analysis.failures import disagreements, hardest_images, likely_label_errors
from analysis.gallery import misclassified_frame
from analysis.metrics import accuracy, confusion_matrix, predicted_labels
from analysis.stats import compare_runs, per_class_comparison

CLASSES = [f"class {index}" for index in range(10)]
GOOD_LABELS = np.array([0, 1, 2, 3])
GOOD_PROBS = np.eye(10)[[0, 1, 2, 4]] * 0.9 + 0.01


def _bad(labels=GOOD_LABELS, probs=GOOD_PROBS):
    return np.asarray(labels), np.asarray(probs, dtype=float)


NAN_PROBS = GOOD_PROBS.copy()
NAN_PROBS[1] = np.nan
UNNORMALISED = GOOD_PROBS.copy()
UNNORMALISED[2] *= 3  # logits-like scale: row sums to 3
BAD_INPUTS = {
    "label -1": (_bad(labels=[0, 1, -1, 3]), "outside 0-9"),
    "label 10": (_bad(labels=[0, 1, 10, 3]), "outside 0-9"),
    "(N, 1) labels": (_bad(labels=GOOD_LABELS[:, None]), "flat array"),
    "NaN probabilities": (_bad(probs=NAN_PROBS), "NaN"),
    "rows not summing to 1": (_bad(probs=UNNORMALISED / UNNORMALISED.max()), "sum to 1"),
    "nine columns": (_bad(probs=GOOD_PROBS[:, :9] / GOOD_PROBS[:, :9].sum(1, keepdims=True)), r"\(images, 10\)"),
}

# Each function called with (labels, probs); those taking predicted labels get argmax of the probabilities
# only when the probabilities are valid, so the label cases reach them too.
TAKES_PREDICTIONS = {
    "hardest_images": lambda y, p: hardest_images(y, {"a": p, "b": p}),
    "likely_label_errors": lambda y, p: likely_label_errors(y, {"a": p}),
    "disagreements": lambda y, p: disagreements(y, p, GOOD_PROBS),
    "confidence_and_correct": confidence_and_correct,
    "calibration_summary": calibration_summary,
    "misclassified_frame": lambda y, p: misclassified_frame(y, p, CLASSES),
    "compare_runs": lambda y, p: compare_runs("A", "B", y, p, GOOD_PROBS, resamples=200),
}
TAKES_LABELS = {
    "accuracy": lambda y: accuracy(y, GOOD_LABELS),
    "confusion_matrix": lambda y: confusion_matrix(y, GOOD_LABELS),
    "per_class_comparison": lambda y: per_class_comparison(y, GOOD_LABELS, GOOD_LABELS, CLASSES),
}
TAKES_PROBABILITIES = {
    "predicted_labels": predicted_labels,
    "answers_table": lambda p: answers_table({"run": p[1]}, CLASSES),
}


@pytest.mark.parametrize("function", TAKES_PREDICTIONS.values(), ids=TAKES_PREDICTIONS.keys())
@pytest.mark.parametrize("case", BAD_INPUTS.values(), ids=BAD_INPUTS.keys())
def test_functions_taking_predictions_refuse_bad_input(function, case):
    (labels, probs), message = case
    with pytest.raises(ValueError, match=message):
        function(labels, probs)


@pytest.mark.parametrize("function", TAKES_PREDICTIONS.values(), ids=TAKES_PREDICTIONS.keys())
def test_functions_taking_predictions_accept_good_input(function):
    # The refusals above come from the bad values, not from the fixture itself.
    function(GOOD_LABELS, GOOD_PROBS)


LABEL_CASES = {name: case for name, case in BAD_INPUTS.items() if "label" in name}
PROBABILITY_CASES = {name: case for name, case in BAD_INPUTS.items() if "label" not in name}


@pytest.mark.parametrize("function", TAKES_LABELS.values(), ids=TAKES_LABELS.keys())
@pytest.mark.parametrize("case", LABEL_CASES.values(), ids=LABEL_CASES.keys())
def test_functions_taking_labels_refuse_bad_labels(function, case):
    (labels, _), message = case
    with pytest.raises(ValueError, match=message):
        function(labels)


@pytest.mark.parametrize("function", TAKES_PROBABILITIES.values(), ids=TAKES_PROBABILITIES.keys())
@pytest.mark.parametrize("case", PROBABILITY_CASES.values(), ids=PROBABILITY_CASES.keys())
def test_functions_taking_probabilities_refuse_bad_probabilities(function, case):
    (_, probs), message = case
    with pytest.raises(ValueError, match=message):
        function(probs)


def test_failures_no_longer_reads_label_minus_one_as_class_nine():
    probs = np.eye(10)[[9, 9]] * 0.9 + 0.01
    with pytest.raises(ValueError, match="outside 0-9"):
        hardest_images(np.array([9, -1]), {"a": probs})
