"""Budget trajectories on synthetic validation curves: a lead from a point, a crossover, no order, one seed,
different evaluation points, unequal lengths, bad input, and the false-claim simulation (docs/statistics.md)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.trajectory import (
    ALIGN_COMMON, ALIGN_INTERPOLATED, KIND_CROSSOVER, KIND_LEAD, KIND_NONE, KIND_SINGLE, KIND_TOO_FEW,
    MIN_LEAD_POINTS, STUDY_COMMAND, budget_sentence, curve_reader, difference_figure, lead_signs, pair_trajectory,
    run_curve, still_rising, _welch_ends,
)

POINTS = np.arange(1, 11) * 1000.0  # ten evaluations, 1,000 images apart


def group(mean_curve, seeds=3, noise=0.004, seed=0, x=POINTS):
    """``seeds`` noisy copies of ``mean_curve`` (fractions) on ``x``."""
    rng = np.random.default_rng(seed)
    return [(x, np.clip(np.asarray(mean_curve) + rng.normal(0, noise, len(x)), 0, 1)) for _ in range(seeds)]


BASE = 0.2 + 0.3 * (1 - np.exp(-np.arange(1, 11) / 3))


def test_a_clear_lead_from_a_point_is_named_with_its_images_and_end_margin():
    gap = np.where(POINTS >= 5000, 0.08, 0.0)
    result = pair_trajectory("b1", group(BASE, seed=1), "b3", group(BASE + gap, seed=2))
    assert result.kind == KIND_LEAD and result.leader == "b3" and result.method == ALIGN_COMMON
    assert result.lead_from in (5000.0, 4000.0, 6000.0)
    assert "b3 leads from about" in result.sentence and "to the end (10,000 images seen)" in result.sentence
    assert "95% interval" in result.sentence and "3 seeds each" in result.sentence


def test_a_lead_at_every_point_says_so():
    result = pair_trajectory("a", group(BASE, seed=1), "b", group(BASE - 0.1, seed=2))
    assert result.kind == KIND_LEAD and result.leader == "a" and result.lead_from == 1000.0
    assert result.sentence.startswith("a leads at every evaluation from 1,000 images to the end")


def test_a_crossover_names_the_earlier_leader_and_where_the_order_changed():
    gap = np.where(POINTS <= 3000, -0.1, np.where(POINTS >= 6000, 0.1, 0.0))
    result = pair_trajectory("b1", group(BASE, seed=3), "b3", group(BASE + gap, seed=4))
    assert result.kind == KIND_CROSSOVER and result.earlier_leader == "b1" and result.leader == "b3"
    assert result.earlier_until == 3000.0 and 3000 < result.changed_at <= result.lead_from
    assert result.sentence.startswith("b1 leads until about 3,000 images; the order changed at about")
    assert "held from there: b3 leads from about" in result.sentence


def test_equal_groups_have_no_consistent_order():
    result = pair_trajectory("a", group(BASE, noise=0.03, seed=5), "b", group(BASE, noise=0.03, seed=6))
    assert result.kind == KIND_NONE
    assert "no consistent order at any budget up to 10,000 images seen" in result.sentence


def test_a_single_seed_names_no_lead_and_says_why():
    result = pair_trajectory("a", group(BASE, seeds=1), "b", group(BASE + 0.1, seed=2))
    assert result.kind == KIND_SINGLE and result.leader is None
    assert "a single run on a side, so seed variation is unknown and no lead is named" in result.sentence
    assert result.points["lower"].isna().all()
    assert "no band" in difference_figure(result).layout.title.text


def test_groups_evaluated_at_different_points_are_interpolated_and_say_so():
    coarse = POINTS[1::2]
    a = group(BASE, seed=1)
    b = group((BASE + 0.1)[1::2], seed=2, x=coarse + 250)   # never on a's points
    result = pair_trajectory("a", a, "b", b)
    assert result.method == ALIGN_INTERPOLATED and result.kind == KIND_LEAD and result.leader == "b"
    assert "interpolated" in result.sentence
    shared = pair_trajectory("a", a, "b", group((BASE + 0.1)[1::2], seed=2, x=coarse))
    assert shared.method == ALIGN_COMMON and list(shared.points["images_seen"]) == list(coarse)


def test_unequal_lengths_and_runs_still_training_end_the_comparison_at_the_shortest_curve():
    a = group(BASE, seed=1)
    b = group(BASE + 0.1, seed=2)
    b[0] = (POINTS[:6], b[0][1][:6])   # still training: six evaluations so far
    result = pair_trajectory("a", a, "b", b, still_training=1)
    assert result.end == 6000.0
    assert "where the shortest curve ends; the longest reached 10,000 images" in result.sentence
    assert "so far: 1 run still training" in result.sentence


def test_too_few_shared_points_say_so():
    result = pair_trajectory("a", group(BASE[:2], x=POINTS[:2]), "b", group(BASE[:2], x=POINTS[:2]))
    assert result.kind == KIND_TOO_FEW and "cannot be said" in result.sentence


@pytest.mark.parametrize("curves, message", [
    ([], "at least one run"),
    ([(POINTS, BASE[:5])], "images-seen values for"),
    ([(POINTS[::-1], BASE)], "must increase"),
    ([(POINTS, BASE * 100)], "fraction between 0 and 1"),
    ([(np.array([np.nan]), np.array([0.5]))], "no evaluation"),
])
def test_bad_curves_are_refused_with_a_message(curves, message):
    with pytest.raises(ValueError, match=message):
        pair_trajectory("a", curves, "b", group(BASE))


def test_a_run_curve_comes_from_images_seen_or_epochs_times_training_images():
    history = pd.DataFrame({"epoch": [0, 1, 2], "val_accuracy": [0.2, 0.3, np.nan], "images_seen": [250, 500, 750]})
    x, y = run_curve(history, {"run_id": "r"})
    assert list(x) == [250, 500] and list(y) == [0.2, 0.3]
    x, _ = run_curve(history.drop(columns="images_seen"), {"data": {"train_images": 2000}})
    assert list(x) == [2000, 4000]
    with pytest.raises(ValueError, match="no val_accuracy"):
        run_curve(history.drop(columns="val_accuracy"), {})
    reader = curve_reader(lambda info: history.drop(columns=["images_seen"]))
    assert reader(type("Info", (), {"record": {}})()) is None   # no training-set size: no curve, no error


def test_still_rising_curves_with_an_unsettled_order_make_the_sentence_say_the_budget_is_too_small():
    rising = {"b1": group(np.linspace(0.2, 0.32, 10), seed=1), "b3": group(np.full(10, 0.36), seed=2)}  # b1 behind, gaining
    assert list(still_rising(rising)) == ["b1"]
    trajectory = pair_trajectory("b3", rising["b3"], "b1", rising["b1"])
    sentence = budget_sentence([trajectory], still_rising(rising), suite="demo")
    assert "too small to settle the question" in sentence and STUDY_COMMAND in sentence
    assert STUDY_COMMAND not in budget_sentence([trajectory], still_rising(rising), suite="study")
    flat = {"a": group(np.full(10, 0.5), seed=1)}
    assert still_rising(flat) == {}


def test_the_difference_figure_has_the_band_the_line_and_zero_marked():
    result = pair_trajectory("b1", group(BASE, seed=1), "b3", group(BASE + 0.05, seed=2))
    figure = difference_figure(result)
    assert [trace.name for trace in figure.data] == ["95% interval across seeds", "b3 − b1"]
    assert any(shape.y0 == 0 and shape.y1 == 0 for shape in figure.layout.shapes)
    assert np.allclose(figure.data[1].y, result.points["difference"] * 100)


# ---------------------------------------------------------------------------
# How often the rule names a lead or crossover that is not there.
# ---------------------------------------------------------------------------

NOISE_MODELS = {   # (seed offset sd, per-evaluation noise sd, its correlation from one evaluation to the next)
    "evaluation noise only": (0.0, 0.015, 0.0),
    "seed offsets and evaluation noise": (0.01, 0.015, 0.5),
    "mostly seed offsets": (0.02, 0.005, 0.5),
    "seed offsets, smooth curves": (0.03, 0.002, 0.9),
}


def false_claim_rate(offset_sd, noise_sd, rho, simulations=4000, seeds=3, points=10, seed=0) -> float:
    """Share of simulated pairs of truly equal groups where the rule names any lead (so any crossover too)."""
    rng = np.random.default_rng(seed)
    mean = 0.1 + 0.5 * (1 - np.exp(-np.arange(1, points + 1) / 3))

    def curves():
        noise = rng.normal(0, noise_sd, (simulations, seeds, points))
        for j in range(1, points):
            noise[..., j] = rho * noise[..., j - 1] + np.sqrt(1 - rho ** 2) * noise[..., j]
        return mean + rng.normal(0, offset_sd, (simulations, seeds, 1)) + noise

    a, b = curves(), curves()
    difference = b.mean(axis=1) - a.mean(axis=1)
    lower, upper = _welch_ends(a, b, difference, 0.95)
    corrected = _welch_ends(a, b, difference, 1 - 0.05 / (points - 1))
    claims = [lead_signs(difference[k], lower[k], upper[k], (corrected[0][k], corrected[1][k]))[0] != 0
              for k in range(simulations)]
    return float(np.mean(claims))


@pytest.mark.parametrize("model", list(NOISE_MODELS))
def test_two_truly_equal_groups_get_a_false_lead_at_most_5_percent_of_the_time(model):
    rate = false_claim_rate(*NOISE_MODELS[model])
    assert rate <= 0.05, f"{model}: {rate:.1%} false leads"


def test_a_plain_per_point_interval_would_claim_far_more_often():
    """Why the rule reads from the end: 'excludes zero at some point' is wrong far more often than 5%."""
    rng = np.random.default_rng(1)
    a, b = (0.5 + rng.normal(0, 0.015, (4000, 3, 10)) for _ in range(2))
    difference = b.mean(axis=1) - a.mean(axis=1)
    lower, upper = _welch_ends(a, b, difference, 0.95)
    anywhere = np.mean(((lower > 0) | (upper < 0)).any(axis=1))
    assert anywhere > 0.15 and MIN_LEAD_POINTS == 2


def test_a_lead_that_widens_while_curves_rise_is_not_called_too_small():
    curves = {"b1": group(np.linspace(0.2, 0.3, 10), seed=1), "b3": group(np.linspace(0.2, 0.5, 10), seed=2)}
    trajectory = pair_trajectory("b1", curves["b1"], "b3", curves["b3"])
    sentence = budget_sentence([trajectory], still_rising(curves), suite="demo")
    assert "too small" not in sentence and "The lead held while validation accuracy was still rising" in sentence
    assert STUDY_COMMAND not in sentence


def test_group_names_keep_their_hyphens_and_numbers_get_true_minus_signs():
    result = pair_trajectory("demo-b1-adam", group(BASE + 0.05, seed=1), "demo-b3-adam", group(BASE, seed=2))
    assert result.leader == "demo-b1-adam" and "demo-b1-adam leads" in result.sentence
    equal = pair_trajectory("demo-b1-adam", group(BASE, noise=0.05, seed=3), "demo-b3-adam",
                            group(BASE - 0.01, noise=0.05, seed=4))
    assert "demo-b3-adam − demo-b1-adam = " in equal.sentence and "−" in equal.sentence.split("interval")[1]


def test_a_single_seed_still_rising_counts_and_a_flattened_curve_does_not():
    rising = [(POINTS, np.linspace(0.2, 0.4, 10))]
    flattened = [(POINTS, np.minimum(np.linspace(0.2, 0.6, 10), 0.35) + np.array([0, 0.003] * 5))]
    assert list(still_rising({"up": rising, "flat": flattened})) == ["up"]
