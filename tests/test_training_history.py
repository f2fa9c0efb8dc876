"""History file format, event summaries and the one-cycle schedule: pure functions on literals."""

import math

import numpy as np
import pytest

from runstore.history import format_history, read_history_rows
from training.callbacks import onecycle_rate, summarize_history


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


def test_onecycle_warms_up_then_decays_per_step():
    rates = [onecycle_rate(step, total_steps=100, peak_learning_rate=0.2) for step in range(101)]
    assert rates[0] == pytest.approx(0.02)
    assert rates.index(max(rates)) == 20 and max(rates) == pytest.approx(0.2)
    assert all(a < b for a, b in zip(rates[:20], rates[1:21]))
    assert all(a > b for a, b in zip(rates[20:], rates[21:]))
    assert rates[-1] == pytest.approx(0.002)
    with pytest.raises(ValueError, match="total_steps"):
        onecycle_rate(0, 0, 0.1)


def test_onecycle_callback_sets_the_rate_from_the_optimizer_step():
    import keras

    from training.callbacks import OneCycleByStep

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss="mse")
    seen = []
    record = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: seen.append(float(model.optimizer.learning_rate.numpy()))
    )
    x = np.zeros((40, 2), dtype="float32")
    model.fit(x, x[:, :1], batch_size=10, epochs=2, verbose=0, callbacks=[OneCycleByStep(0.5, total_steps=8), record])
    # Derived from the schedule's definition, not from onecycle_rate: 8 steps with a 20% warm-up is 2 steps
    # rising linearly from peak/10 to the peak, then a straight line down to peak/100 at step 8.
    expected = np.interp(np.arange(8), [0, 2, 8], [0.05, 0.5, 0.005])
    assert seen == pytest.approx(expected.tolist())


def test_lookahead_decay_rises_with_the_cube_of_progress():
    from training.callbacks import lookahead_decay

    assert lookahead_decay(0, 100) == 0
    assert lookahead_decay(50, 100) == pytest.approx(0.95**5 / 8)
    assert lookahead_decay(100, 100) == lookahead_decay(150, 100) == pytest.approx(0.95**5)


def test_lookahead_restarts_from_the_slow_average_every_few_steps():
    """Replays plain SGD on least squares by hand, with the slow copy, and compares with Keras."""
    import keras

    from training.callbacks import Lookahead, lookahead_decay

    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 3)).astype("float32")
    y = (x @ np.array([[1.0], [-2.0], [0.5]]) + rng.normal(0, 0.1, size=(40, 1))).astype("float32")
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, use_bias=False)])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    fast = model.get_weights()[0].astype("float64")
    slow = fast.copy()
    lookahead = Lookahead(total_steps=7, every=2)
    model.fit(x, y, batch_size=10, epochs=2, shuffle=False, verbose=0, callbacks=[lookahead])

    for step in range(1, 9):  # 8 steps: the last batch of each epoch is step 4 and 8
        batch = slice(((step - 1) % 4) * 10, ((step - 1) % 4) * 10 + 10)
        fast = fast - 0.1 * 2 / 10 * x[batch].T @ (x[batch] @ fast - y[batch])
        if step % 2 == 0 or step >= 7:
            decay = lookahead_decay(step, 7)
            slow = decay * slow + (1 - decay) * fast
            fast = slow.copy()
    np.testing.assert_allclose(model.get_weights()[0], fast, rtol=1e-4)
    np.testing.assert_allclose(lookahead.slow_weights[0], fast, rtol=1e-4)
    with pytest.raises(ValueError, match="at least 1"):
        Lookahead(total_steps=0)


class FakeClock:
    """Stands in for EpochExtras: seconds are whatever the test sets."""

    seconds = 0.0


def test_training_budget_progress_is_the_further_of_steps_and_seconds():
    from training.callbacks import TrainingBudget

    clock = FakeClock()
    budget = TrainingBudget(total_steps=100, clock=clock, budget_seconds=60)
    clock.seconds = 15
    assert budget.fraction(10) == pytest.approx(0.25) and not budget.spent()
    assert budget.fraction(50) == pytest.approx(0.5)
    clock.seconds = 61
    assert budget.fraction(60) == 1.0 and budget.spent()
    unlimited = TrainingBudget(total_steps=100, clock=clock)
    assert unlimited.fraction(30) == pytest.approx(0.3) and not unlimited.spent()
    with pytest.raises(ValueError, match="budget_seconds must be positive"):
        TrainingBudget(total_steps=100, clock=clock, budget_seconds=0)


def test_onecycle_follows_the_clock_under_a_time_budget():
    import keras

    from training.callbacks import OneCycleByStep, TrainingBudget

    clock = FakeClock()
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss="mse")
    schedule = OneCycleByStep(0.5, total_steps=1000, budget=TrainingBudget(total_steps=1000, clock=clock, budget_seconds=10))
    schedule.set_model(model)
    clock.seconds = 6  # 60% of the time, at step 0
    schedule.on_train_batch_begin(0)
    assert float(model.optimizer.learning_rate.numpy()) == pytest.approx(onecycle_rate(600, 1000, 0.5))


def test_resumed_early_stopping_remembers_best_and_patience():
    from training.callbacks import ResumableEarlyStopping

    rows = [{"epoch": 0, "val_loss": 2.0}, {"epoch": 1, "val_loss": 1.0}, {"epoch": 2, "val_loss": 1.5}, {"epoch": 3, "val_loss": 1.4}]
    stopping = ResumableEarlyStopping(rows, monitor="val_loss", patience=3)
    stopping.on_train_begin()
    assert (stopping.best, stopping.wait) == (1.0, 2)
    fresh = ResumableEarlyStopping([], monitor="val_loss", patience=3)
    fresh.on_train_begin()
    assert fresh.wait == 0


def test_history_writer_writes_what_keras_csvlogger_writes(tmp_path):
    import keras

    from training.callbacks import HistoryWriter

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(32, 4)).astype("float32"), rng.integers(0, 2, 32)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, validation_split=0.25, epochs=2, verbose=0, callbacks=[
        keras.callbacks.CSVLogger(str(tmp_path / "keras.csv")), HistoryWriter(tmp_path / "history.csv")])
    assert (tmp_path / "history.csv").read_text() == (tmp_path / "keras.csv").read_text().replace("\r\n", "\n")
