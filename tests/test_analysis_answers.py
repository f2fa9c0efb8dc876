"""Consensus for Classify: groups vote by test accuracy; models at chance or far below the best left out and named."""

import numpy as np
import pytest

from analysis.answers import chance_check, consensus

CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def answer(index, confidence=0.8):
    row = np.full(10, (1 - confidence) / 9)
    row[index] = confidence
    return row


def record(run_id, accuracy, group=None, test_images=10_000):
    return {"run_id": run_id, "group": group, "test_accuracy": accuracy, "data": {"test_images": test_images}}


def test_groups_vote_by_accuracy_and_chance_or_weak_models_are_left_out():
    records = {
        "b3-s0": record("b3-s0", 0.70, "b3"), "b3-s1": record("b3-s1", 0.72, "b3"), "b3-s2": record("b3-s2", 0.71, "b3"),
        "fast": record("fast", 0.80),
        "vgg-a": record("vgg-a", 0.103), "vgg-b": record("vgg-b", 0.099), "resnet": record("resnet", 0.12, test_images=200),
    }
    # Three frog votes from chance-level models would outvote two cat votes if they counted.
    probs = {"b3-s0": answer(3), "b3-s1": answer(3, 0.6), "b3-s2": answer(6, 0.5), "fast": answer(3),
             "vgg-a": answer(6), "vgg-b": answer(6), "resnet": answer(6)}
    result = consensus(probs, records, CLASSES)
    assert result.answer == "cat" and result.agreeing == 2
    votes = result.votes.set_index("group")
    assert votes.index.tolist() == ["fast", "b3"]  # heaviest first
    assert votes.loc["b3", "runs"] == 3
    # Weights are accuracy above chance, shared out: 0.70 and 0.61 of 1.31.
    assert votes.loc["fast", "weight"] == pytest.approx(0.70 / 1.31)
    assert votes.loc["b3", "weight"] == pytest.approx(0.61 / 1.31)
    assert set(result.left_out) == {"vgg-a", "vgg-b", "resnet"}
    assert result.left_out["resnet"].startswith("at chance: test accuracy 12.0% (95% interval 7.8%")
    b3_mean = (answer(3) + answer(3, 0.6) + answer(6, 0.5)) / 3
    expected = (answer(3) * 0.70 + b3_mean * 0.61) / 1.31
    assert result.probability == pytest.approx(expected[3])
    assert result.sentence.startswith(f"cat ({expected[3]:.0%}): the weighted vote of 2 groups (4 models); "
                                      "2 of 2 answer cat on their own; 3 left out (vgg-a: at chance")


def test_a_strong_model_outvotes_several_weak_ones_that_disagree():
    # The demo's case: one group at 78% and five at 24-35%, all five saying frog.
    records = {"fast": record("fast", 0.78), **{f"weak{i}": record(f"weak{i}", 0.24 + 0.02 * i) for i in range(5)}}
    probs = {"fast": answer(3, 0.45), **{f"weak{i}": answer(6, 0.9) for i in range(5)}}
    result = consensus(probs, records, CLASSES)
    assert result.answer == "cat"
    assert result.votes["group"].tolist() == ["fast"]
    assert all("more than 15 points below the best group's 78.0%" in result.left_out[f"weak{i}"] for i in range(5))
    # Many left out: the sentence counts them by reason; each group's reason stays in left_out.
    assert result.sentence.endswith("; 5 groups left out (5 more than 15 points below the best group's 78.0%: "
                                    "see each model's answer).")
    # A group just within the margin votes, with its smaller weight: still outvoted when it disagrees.
    records["close"] = record("close", 0.64)
    probs["close"] = answer(6, 0.5)
    result = consensus(probs, records, CLASSES)
    assert result.answer == "cat" and set(result.votes["group"]) == {"fast", "close"}
    assert result.votes.set_index("group").loc["close", "weight"] == pytest.approx(0.54 / 1.22)


def test_group_vote_is_the_mean_of_its_members_probabilities():
    records = {"s0": record("s0", 0.6, "g"), "s1": record("s1", 0.6, "g")}
    # s0 says bird (0.5) over cat (0.45); s1 says cat (0.9): the mean says cat.
    first = np.full(10, 0.05 / 8)
    first[[2, 3]] = [0.5, 0.45]
    result = consensus({"s0": first, "s1": answer(3, 0.9)}, records, CLASSES)
    assert result.answer == "cat"
    assert result.votes.loc[0, "probability"] == pytest.approx((0.45 + 0.9) / 2)
    assert result.votes.loc[0, "weight"] == 1.0


def test_no_consensus_when_every_model_is_at_chance():
    result = consensus({"a": answer(1)}, {"a": record("a", 0.1)}, CLASSES)
    assert result.answer is None and result.votes.empty
    assert result.sentence.startswith("No consensus: no model is clearly above chance; 1 left out")


def test_chance_check_and_refusals():
    assert chance_check([record("a", 0.3, test_images=200)]) is None
    assert chance_check([{"run_id": "x", "test_accuracy": None}]) == "no test accuracy yet"
    with pytest.raises(ValueError, match="No run record"):
        consensus({"a": answer(1)}, {}, CLASSES)
    with pytest.raises(ValueError, match="NaN"):
        consensus({"a": np.full(10, np.nan)}, {"a": record("a", 0.5)}, CLASSES)
