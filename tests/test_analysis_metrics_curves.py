"""Curve smoothing, events and best-epoch numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.curves import CurveEvents, best_epoch_table, curve_events, learning_rate_drops, smooth


def history(**columns) -> pd.DataFrame:
    length = len(next(iter(columns.values())))
    return pd.DataFrame({"epoch": np.arange(length), **columns})


def test_smooth_weight_zero_is_identity_and_debiased_ema_matches_hand_values():
    values = [1.0, 2.0, 4.0]
    np.testing.assert_allclose(smooth(values, 0.0), values)
    # weight 0.5: running 0.5, 1.25, 2.625; debias by 1-0.5^n: 1, 1.6667, 3.0
    np.testing.assert_allclose(smooth(values, 0.5), [1.0, 1.25 / 0.75, 2.625 / 0.875])


def test_smooth_keeps_nan_in_place_without_spreading_it():
    result = smooth([1.0, np.nan, 3.0], 0.5)
    assert np.isnan(result[1])
    assert result[0] == pytest.approx(1.0)
    assert result[2] == pytest.approx((0.5 * 0.5 + 0.5 * 3.0) / 0.75)


def test_smooth_rejects_weight_out_of_range():
    with pytest.raises(ValueError):
        smooth([1.0], 1.0)


def test_learning_rate_drops_found_in_history():
    frame = history(learning_rate=[0.1, 0.1, 0.01, 0.01, 0.001])
    assert learning_rate_drops(frame) == (2, 4)


def test_curve_events_trust_run_json_and_skip_smooth_schedules():
    frame = history(val_accuracy=[0.1, 0.5, 0.4], learning_rate=[1.0, 0.5, 0.25])
    events = curve_events({"best_epoch": 1, "lr_drop_epochs": [2], "early_stop_epoch": 2}, frame)
    assert events == CurveEvents(best_epoch=1, lr_drop_epochs=(2,), early_stop_epoch=2)
    cosine = history(val_accuracy=np.linspace(0, 1, 8), learning_rate=np.linspace(1, 0.1, 8))
    assert curve_events({"best_epoch": None, "lr_drop_epochs": []}, cosine).lr_drop_epochs == ()
    # With no best epoch recorded yet (a live run), the best validation accuracy is used.
    assert curve_events({"best_epoch": None, "lr_drop_epochs": []}, frame).best_epoch == 1


def test_best_epoch_table_reports_best_not_last_epoch_one_based():
    frame = history(accuracy=[0.5, 0.7, 0.9], loss=[1.0, 0.8, 0.5], val_accuracy=[0.4, 0.6, 0.55],
                    val_loss=[1.2, 0.9, 1.0])
    table = best_epoch_table({"run-a": ({"best_epoch": 1, "test_accuracy": 0.58}, frame)})
    row = table.iloc[0]
    assert row["best epoch"] == 2
    assert row["val accuracy"] == pytest.approx(0.6)
    assert row["train loss"] == pytest.approx(0.8)
    assert row["epochs run"] == 3 and row["test accuracy"] == pytest.approx(0.58)
