"""History file format, event summaries and the one-cycle schedule: pure functions on literals."""

import math

import pytest

from training.callbacks import format_history, onecycle_schedule, read_history_rows, summarize_history


def test_history_is_keras_csvlogger_format_with_na(tmp_path):
    rows = [
        {"epoch": 0, "loss": 2.0, "val_loss": 1.5, "learning_rate": 0.01, "accuracy": 0.3},
        {"epoch": 1, "loss": 1.0, "learning_rate": 0.005, "accuracy": 0.5},
    ]
    text = format_history(rows)
    lines = text.splitlines()
    assert lines[0] == "epoch,accuracy,learning_rate,loss,val_loss"
    assert lines[2] == "1,0.5,0.005,1.0,NA"
    path = tmp_path / "history.csv"
    path.write_text(text)
    back = read_history_rows(path)
    assert [row["epoch"] for row in back] == [0, 1]
    assert math.isnan(back[1]["val_loss"]) and back[0]["val_loss"] == 1.5


def test_summary_finds_best_epoch_and_learning_rate_drops():
    rows = [
        {"epoch": 0, "val_loss": 2.0, "learning_rate": 0.1},
        {"epoch": 1, "val_loss": 1.0, "learning_rate": 0.1},
        {"epoch": 2, "val_loss": 1.2, "learning_rate": 0.05},
        {"epoch": 3, "val_loss": 1.1, "learning_rate": 0.05},
        {"epoch": 4, "val_loss": 1.3, "learning_rate": 0.025},
    ]
    assert summarize_history(rows) == {"best_epoch": 1, "lr_drop_epochs": [2, 4], "epochs_run": 5}
    assert summarize_history(rows, track_lr_drops=False)["lr_drop_epochs"] == []
    assert summarize_history([])["best_epoch"] is None


def test_onecycle_warms_up_then_decays():
    rate = onecycle_schedule(0.2, epochs=10)
    rates = [rate(epoch) for epoch in range(10)]
    peak = rates.index(max(rates))
    assert max(rates) == pytest.approx(0.2)
    assert all(a < b for a, b in zip(rates[:peak], rates[1: peak + 1]))
    assert all(a > b for a, b in zip(rates[peak:], rates[peak + 1:]))
    assert rates[-1] == pytest.approx(0.002)


def test_resumed_early_stopping_remembers_best_and_patience():
    from training.callbacks import ResumableEarlyStopping

    rows = [{"epoch": 0, "val_loss": 2.0}, {"epoch": 1, "val_loss": 1.0}, {"epoch": 2, "val_loss": 1.5}, {"epoch": 3, "val_loss": 1.4}]
    stopping = ResumableEarlyStopping(rows, monitor="val_loss", patience=3)
    stopping.on_train_begin()
    assert (stopping.best, stopping.wait) == (1.0, 2)
    fresh = ResumableEarlyStopping([], monitor="val_loss", patience=3)
    fresh.on_train_begin()
    assert fresh.wait == 0
