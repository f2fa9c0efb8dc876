"""Calibrated probabilities and the unlike-CIFAR-10 warning: fitted on validation predictions, measured on the test set."""

import numpy as np
import pytest

from analysis.calibration import apply_temperature, confidence_and_correct, expected_calibration_error, fit_temperature
from analysis.trust import FLAG_SHARE, flag_quantile, run_trust, typicality_scores, typicality_threshold


def overconfident_predictions(count: int, sharpen: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Labels drawn from softmax(logits), probabilities from softmax(sharpen * logits): overconfident when sharpen > 1."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(count, 10)) * 2.0
    truth = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    labels = np.array([rng.choice(10, p=row) for row in truth])
    shown = np.exp(sharpen * logits)
    return labels, (shown / shown.sum(axis=1, keepdims=True)).astype(np.float32)


def test_apply_temperature_keeps_answers_and_softens_or_sharpens():
    _, probs = overconfident_predictions(50, 3.0, seed=1)
    softer, sharper = apply_temperature(probs, 2.0), apply_temperature(probs, 0.5)
    assert np.array_equal(softer.argmax(axis=1), probs.argmax(axis=1))
    np.testing.assert_allclose(softer.sum(axis=1), 1.0)
    assert np.all(softer.max(axis=1) <= probs.max(axis=1) + 1e-6)
    assert np.all(sharper.max(axis=1) >= probs.max(axis=1) - 1e-6)
    np.testing.assert_allclose(apply_temperature(probs, 1.0), probs, atol=1e-6)
    # A float32 softmax that rounded a class to exactly 0 still rescales (floored, not -inf).
    assert np.all(np.isfinite(apply_temperature(np.eye(10)[:2], 3.0)))
    with pytest.raises(ValueError, match="positive"):
        apply_temperature(probs, 0.0)


def test_fit_temperature_recovers_how_overconfident_a_model_is():
    labels, probs = overconfident_predictions(4000, 3.0, seed=2)
    assert fit_temperature(labels, probs) == pytest.approx(3.0, rel=0.08)
    labels, probs = overconfident_predictions(4000, 1.0, seed=3)
    assert fit_temperature(labels, probs) == pytest.approx(1.0, rel=0.08)


def test_calibration_lowers_the_test_ece_of_an_overconfident_model():
    validation = overconfident_predictions(2000, 2.5, seed=4)
    test = overconfident_predictions(3000, 2.5, seed=5)
    trust = run_trust(test=test, validation=validation)
    assert trust.calibrated and trust.temperature == pytest.approx(2.5, rel=0.15)
    assert trust.ece_before == pytest.approx(expected_calibration_error(*confidence_and_correct(*test)))
    assert trust.ece_after < trust.ece_before / 2
    assert "Calibrated on the validation images (temperature 2." in trust.calibration_note()


def test_what_is_fitted_never_depends_on_the_test_predictions():
    validation = overconfident_predictions(1500, 2.0, seed=6)
    first = run_trust(test=overconfident_predictions(1000, 2.0, seed=7), validation=validation)
    # Entirely different test predictions: only the measurements may change.
    second = run_trust(test=overconfident_predictions(1000, 0.3, seed=8), validation=validation)
    assert first.temperature == second.temperature and first.threshold == second.threshold
    assert first.threshold_images == "validation"
    assert first.ece_before != second.ece_before


def test_the_warning_flags_at_most_five_percent_of_images_like_the_validation_images():
    rates = []
    for seed in range(20):
        trust = run_trust(test=overconfident_predictions(2000, 1.5, seed=100 + seed),
                          validation=overconfident_predictions(1000, 1.5, seed=200 + seed))
        rates.append(trust.test_flag_rate)
        assert trust.test_flag_rate == pytest.approx(
            np.mean(typicality_scores(trust.calibrate(overconfident_predictions(2000, 1.5, seed=100 + seed)[1]))
                    < trust.threshold))
    # The threshold sits two standard errors under 5%: new images exceed 5% rarely, and not by much.
    assert np.mean(rates) < FLAG_SHARE and max(rates) <= 0.06
    assert sum(rate > FLAG_SHARE for rate in rates) <= 2


def test_a_run_without_validation_predictions_stays_raw_and_says_so():
    test = overconfident_predictions(1000, 2.0, seed=9)
    trust = run_trust(test=test, validation=None)
    assert not trust.calibrated and trust.ece_after is None
    np.testing.assert_array_equal(trust.calibrate(test[1]), test[1].astype(np.float64))
    assert trust.threshold_images == "test" and trust.test_flag_rate <= FLAG_SHARE
    assert trust.calibration_note().startswith("Raw probabilities, not calibrated: this run stored no validation")
    assert "the test images themselves" in trust.typicality_note()
    # Too few validation images to fit on are treated as none.
    assert not run_trust(test=test, validation=overconfident_predictions(20, 2.0, seed=10)).calibrated


def test_flat_answers_are_flagged_and_confident_ones_are_not():
    trust = run_trust(test=overconfident_predictions(1000, 2.0, seed=11), validation=overconfident_predictions(1000, 2.0, seed=12))
    assert trust.is_atypical(trust.calibrate(np.full(10, 0.1))[0])
    assert not trust.is_atypical(trust.calibrate(np.eye(10)[3] * 0.99 + 0.001)[0])


def test_threshold_and_quantile_edges():
    assert typicality_threshold([0.9, 0.5, 0.7, 0.2], share=0.25) == 0.2  # nothing strictly below: 0 of 4 flagged
    assert flag_quantile(1000) == pytest.approx(0.05 - 2 * np.sqrt(0.05 * 0.95 / 1000))
    assert flag_quantile(5) == FLAG_SHARE / 4
    with pytest.raises(ValueError, match="at least one"):
        typicality_threshold([])
