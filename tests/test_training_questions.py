"""Suite questions are refused unless their groups differ in exactly the named factor at an equal budget."""

from __future__ import annotations

import pytest

from training.questions import QuestionError, validate_questions

BASE = {"model": "simple_cnn", "blocks": 1, "optimizer": "adam", "learning_rate": 0.001, "epochs": 4,
        "train_limit": 2000, "test_limit": None, "time_budget_seconds": None, "seed": 0, "run_id": "x"}
GROUPS = {
    "b1": BASE,
    "b3": {**BASE, "blocks": 3, "run_id": "y", "seed": 5},
    "b3-more-data": {**BASE, "blocks": 3, "train_limit": 5000},
    "sgd": {**BASE, "optimizer": "sgd", "learning_rate": 0.01},
    "fast": {**BASE, "model": "fast_cnn", "blocks": None, "optimizer": "sgd", "time_budget_seconds": 60},
    "simple-60s": {**BASE, "blocks": 3, "time_budget_seconds": 60},
}


def test_a_question_whose_groups_differ_only_in_its_factor_passes():
    [checked] = validate_questions("demo", [{"title": "Depth?", "factor": "blocks", "groups": ["b1", "b3"]}], GROUPS)
    assert "train_limit" in checked["equal"] and "blocks" not in checked["equal"]


def test_a_recipe_question_needs_only_its_budget_equal():
    [checked] = validate_questions("demo", [{"title": "Fast recipe?", "factor": "recipe", "groups": ["fast", "simple-60s"]}], GROUPS)
    assert checked["equal"] == ["time_budget_seconds", "test_limit"]
    with pytest.raises(QuestionError, match=r"time_budget_seconds \(fast=60, b1=None\)"):
        validate_questions("demo", [{"title": "Unequal", "factor": "recipe", "groups": ["fast", "b1"]}], GROUPS)


@pytest.mark.parametrize("question, says", [
    ({"title": "Depth?", "factor": "blocks", "groups": ["b1", "b3-more-data"]}, r"also differ in train_limit \(b1=2000, b3-more-data=5000\)"),
    ({"title": "Opt?", "factor": "optimizer", "groups": ["b1", "sgd"]}, r"learning_rate \(b1=0.001, sgd=0.01\)"),
    ({"title": "Depth?", "factor": "blocks", "groups": ["b1", "nope"]}, "nope that the suite does not define"),
    ({"title": "Depth?", "factor": "blocks", "groups": ["b1"]}, "at least two"),
    ({"title": "Depth?", "factor": "colour", "groups": ["b1", "b3"]}, "'factor' must be a config setting"),
    ({"title": "Same?", "factor": "blocks", "groups": ["b3", "b3-more-data"]}, "each have a different blocks"),
    ({"factor": "blocks", "groups": ["b1", "b3"]}, "needs a 'title'"),
    ({"title": "Depth?", "factor": "blocks", "groups": ["b1", "b3"], "colour": 1}, "unknown key"),
    ({"title": "Depth?", "factor": "blocks", "groups": ["b1", "b3"], "requires": "gpu"}, "'requires' may only be imagenet"),
])
def test_a_broken_question_is_refused_naming_what_is_wrong(question, says):
    with pytest.raises(QuestionError, match=says):
        validate_questions("demo", [question], GROUPS)


def test_a_factor_may_be_settings_that_vary_together():
    question = {"title": "Optimizer?", "factor": ["optimizer", "learning_rate"], "groups": ["b1", "sgd"]}
    [checked] = validate_questions("demo", [question], GROUPS)
    assert "optimizer" not in checked["equal"] and "learning_rate" not in checked["equal"] and "train_limit" in checked["equal"]
    with pytest.raises(QuestionError, match="also differ in train_limit"):
        validate_questions("demo", [{**question, "groups": ["sgd", "b3-more-data"], "factor": ["optimizer", "learning_rate", "blocks"]}], GROUPS)
