"""Training callbacks: per-epoch extras, an atomic history file, run events, a heartbeat, resumable state and backups.

Order matters, and ``training.train.make_callbacks`` says why: ``EpochExtras`` adds
``learning_rate`` and ``elapsed_seconds`` to the epoch's logs before anything
reads them; ``HistoryWriter`` rewrites ``history.csv`` atomically; ``Heartbeat``
then updates ``run.json`` from that history.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Callable

import keras
import numpy as np

from runstore.writer import write_history_rows
from runstore.rules import BEST_EPOCH_MONITOR, best_epoch, learning_rate_drops
import training.backup as backup

# The checkpoint, early stopping and the plateau schedule watch the metric that defines the best epoch.
HISTORY_MONITOR = BEST_EPOCH_MONITOR


def summarize_history(rows: list[dict], track_lr_drops: bool = True) -> dict:
    """Best epoch and every epoch that ran at a lower learning rate than the one before (``runstore.rules``)."""
    drops = learning_rate_drops(rows) if track_lr_drops else []
    return {"best_epoch": best_epoch(rows), "lr_drop_epochs": drops, "epochs_run": len(rows)}


class EpochExtras(keras.callbacks.Callback):
    """Adds ``learning_rate`` (the rate used this epoch), ``elapsed_seconds`` (since the run began) and
    ``images_seen`` (training images so far, counting repeats) to every epoch's logs.

    ``images_seen`` counts the batches each epoch really ran, so an epoch that a time
    budget cut short counts only what it trained on; ``epoch_images`` caps an epoch's
    count (its last batch may be smaller than ``batch_size``).
    """

    def __init__(self, elapsed_offset: float = 0.0, images_offset: float = 0.0, batch_size: int | None = None,
                 epoch_images: int | None = None):
        super().__init__()
        # A resumed run continues the clock and the image count where the killed process left them.
        self.elapsed_offset = elapsed_offset
        self.images_seen = images_offset
        self.batch_size = batch_size
        self.epoch_images = epoch_images
        self.started = time.monotonic()
        self.batches = 0

    def on_train_begin(self, logs=None):
        self.started = time.monotonic()

    def on_epoch_begin(self, epoch, logs=None):
        self.batches = 0

    def on_train_batch_end(self, batch, logs=None):
        self.batches += 1

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        logs["learning_rate"] = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        logs["elapsed_seconds"] = round(self.elapsed_offset + time.monotonic() - self.started, 3)
        if self.batch_size:
            images = self.batches * self.batch_size
            self.images_seen += min(images, self.epoch_images) if self.epoch_images else images
            logs["images_seen"] = float(self.images_seen)

    @property
    def seconds(self) -> float:
        """Training seconds so far, the resumed part included."""
        return self.elapsed_offset + time.monotonic() - self.started


class HistoryWriter(keras.callbacks.Callback):
    """Rewrites ``history.csv`` atomically every epoch; rows from a resumed run's earlier epochs are kept."""

    def __init__(self, path: Path, previous_rows: list[dict] | None = None):
        super().__init__()
        self.path = Path(path)
        self.rows: list[dict] = list(previous_rows or [])

    def on_epoch_end(self, epoch, logs=None):
        # An epoch that ran before an interruption but is being re-run replaces its old row.
        self.rows = [row for row in self.rows if row["epoch"] < epoch]
        row = {"epoch": int(epoch)}
        row.update({key: float(value) for key, value in (logs or {}).items() if np.ndim(value) == 0})
        self.rows.append(row)
        write_history_rows(self.path, self.rows)


class Heartbeat(keras.callbacks.Callback):
    """Calls ``update(epoch, rows)`` after every epoch so run.json shows live progress."""

    def __init__(self, history: HistoryWriter, update: Callable[[int, list[dict]], None]):
        super().__init__()
        self.history = history
        self.update = update

    def on_epoch_end(self, epoch, logs=None):
        self.update(epoch, self.history.rows)


def _epochs_since_best(rows: list[dict]) -> tuple[float, int]:
    """(best val_loss, epochs since it) over ``rows``; (inf, 0) when there is no history."""
    values = [row.get(HISTORY_MONITOR, math.nan) for row in rows]
    finite = [(value, index) for index, value in enumerate(values) if not math.isnan(value)]
    if not finite:
        return math.inf, 0
    best, index = min(finite)
    return best, len(rows) - 1 - index


class ResumableEarlyStopping(keras.callbacks.EarlyStopping):
    """EarlyStopping that, after a resume, remembers the best val_loss and patience used before the kill."""

    def __init__(self, previous_rows: list[dict], **kwargs):
        super().__init__(**kwargs)
        self.previous_rows = previous_rows

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        if self.previous_rows:
            self.best, self.wait = _epochs_since_best(self.previous_rows)


class ResumableReduceLROnPlateau(keras.callbacks.ReduceLROnPlateau):
    """ReduceLROnPlateau that, after a resume, remembers the best val_loss and its wait counter."""

    def __init__(self, previous_rows: list[dict], **kwargs):
        super().__init__(**kwargs)
        self.previous_rows = previous_rows

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        if self.previous_rows:
            best, wait = _epochs_since_best(self.previous_rows)
            self.best, self.wait = best, wait % max(self.patience, 1)


class BestWeightsCheckpoint(keras.callbacks.Callback):
    """Saves the weights of the best epoch so far (lowest val_loss) atomically; survives a kill."""

    def __init__(self, path: Path, previous_rows: list[dict] | None = None):
        super().__init__()
        if not str(path).endswith(".weights.h5"):
            raise ValueError(f"Keras weights files must end in .weights.h5, got {path}")
        self.path = Path(path)
        self.best, _ = _epochs_since_best(previous_rows or [])

    def on_epoch_end(self, epoch, logs=None):
        current = (logs or {}).get(HISTORY_MONITOR)
        if current is None or not current < self.best:
            return
        self.best = float(current)
        # Whole or absent (temporary name, fsync, os.replace): fit loads this file after training.
        backup.atomic_save_weights(self.model, self.path)


class EpochBackup(keras.callbacks.Callback):
    """Backs up the model and optimizer after every epoch (``training.backup.write_epoch_backup``) and restores a resumed run.

    Public Keras API only, in place of ``keras.callbacks.BackupAndRestore``: the
    trainer passes the epoch ``latest_whole_backup`` chose as ``resume_epoch`` here
    and as ``initial_epoch`` to ``fit``; this callback loads that backup's weights
    when training begins, so callbacks after it (Lookahead) start from them.
    """

    def __init__(self, backup_dir: str | Path, resume_epoch: int | None = None, keep: int = 2):
        super().__init__()
        if keep < 1:
            raise ValueError(f"keep must be at least 1, got {keep}")
        self.backup_dir = Path(backup_dir)
        self.resume_epoch = resume_epoch
        self.keep = keep

    def on_train_begin(self, logs=None):
        chosen = None if self.resume_epoch is None else backup.backup_of_epoch(self.backup_dir, self.resume_epoch)
        if chosen is not None:
            backup.restore_backup(self.model, chosen)
        backup.remove_leftovers(self.backup_dir, chosen)

    def on_epoch_end(self, epoch, logs=None):
        backup.write_epoch_backup(self.model, self.backup_dir, epoch + 1, keep=self.keep)


def onecycle_rate(step: int, total_steps: int, peak_learning_rate: float, warmup_fraction: float = 0.2) -> float:
    """One-cycle learning rate at optimizer step ``step`` of ``total_steps``.

    Linear warm-up from peak/10 to the peak over the first ``warmup_fraction``
    of the steps, then linear decay to peak/100 at the last step.
    """
    if total_steps < 1:
        raise ValueError(f"total_steps must be at least 1, got {total_steps}")
    warmup_steps = max(1, round(total_steps * warmup_fraction))
    step = min(max(step, 0), total_steps)
    if step < warmup_steps:
        return peak_learning_rate * (0.1 + 0.9 * step / warmup_steps)
    progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    return peak_learning_rate * (1 - 0.99 * progress)


class TrainingBudget(keras.callbacks.Callback):
    """How far training is, as a fraction: steps done of ``total_steps`` or seconds spent of ``budget_seconds``, whichever is further.

    With a budget, it also ends training after the batch that spends it (Keras then
    still validates and closes that last, partial epoch). Schedules that follow
    ``fraction`` therefore finish annealing when the time runs out, however fast
    the machine is. ``clock`` is the run's ``EpochExtras``, so a resumed run counts
    the seconds spent before the interruption.
    """

    def __init__(self, total_steps: int, clock: "EpochExtras", budget_seconds: float | None = None) -> None:
        super().__init__()
        if total_steps < 1:
            raise ValueError(f"total_steps must be at least 1, got {total_steps}")
        if budget_seconds is not None and budget_seconds <= 0:
            raise ValueError(f"budget_seconds must be positive, got {budget_seconds}")
        self.total_steps = total_steps
        self.clock = clock
        self.budget_seconds = budget_seconds

    def fraction(self, step: int) -> float:
        """Progress in [0, 1] after ``step`` optimizer steps."""
        done = step / self.total_steps
        if self.budget_seconds is not None:
            done = max(done, self.clock.seconds / self.budget_seconds)
        return min(done, 1.0)

    def spent(self) -> bool:
        """True once the time budget (if any) is used up."""
        return self.budget_seconds is not None and self.clock.seconds >= self.budget_seconds

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        if self.spent():
            self.model.stop_training = True


class OneCycleByStep(keras.callbacks.Callback):
    """Sets the one-cycle learning rate before every batch.

    Per step, not per epoch: short recipes (3-4 epochs) would otherwise start at
    the peak with no warm-up. The step comes from the optimizer's own counter,
    which ``EpochBackup`` restores, so a resumed run continues the same curve.
    With a ``budget`` (``TrainingBudget``) the cycle follows its progress fraction,
    so a time budget ends training at the annealed rate.
    """

    def __init__(self, peak_learning_rate: float, total_steps: int, warmup_fraction: float = 0.2,
                 budget: TrainingBudget | None = None) -> None:
        super().__init__()
        self.peak_learning_rate = peak_learning_rate
        self.total_steps = total_steps
        self.warmup_fraction = warmup_fraction
        self.budget = budget

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        step = int(self.model.optimizer.iterations.numpy())
        if self.budget is not None:
            step = self.budget.fraction(step) * self.total_steps
        self.model.optimizer.learning_rate = onecycle_rate(
            step, self.total_steps, self.peak_learning_rate, self.warmup_fraction
        )


def lookahead_decay(step: float, total_steps: int) -> float:
    """How much of the running average survives a Lookahead update at ``step``: 0.95^5 * (step / total)^3 (airbench)."""
    return 0.95**5 * (min(max(step, 0), total_steps) / total_steps) ** 3


class Lookahead(keras.callbacks.Callback):
    """airbench's weight averaging: every ``every`` steps, average the weights into a slow copy and restart from it.

    The slow copy's decay rises from 0 to 0.77 as ``progress^3``: early updates
    follow the fast weights, late ones average over the last few hundred steps,
    which smooths the noise of the final, small learning rates. Progress is
    ``step / total_steps``, or ``budget.fraction`` with a ``TrainingBudget`` (which
    must then come earlier in the callback list); the last step always updates.
    Every weight takes part, batch-norm statistics included. A resumed run starts
    its slow copy from the restored weights, so it must come after
    ``EpochBackup`` in the callback list.
    """

    def __init__(self, total_steps: int, every: int = 5, budget: TrainingBudget | None = None) -> None:
        super().__init__()
        if total_steps < 1 or every < 1:
            raise ValueError(f"total_steps and every must be at least 1, got {total_steps} and {every}")
        self.total_steps = total_steps
        self.every = every
        self.budget = budget
        self.slow_weights: list | None = None

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.slow_weights = self.model.get_weights()

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        step = int(self.model.optimizer.iterations.numpy())
        progress = step if self.budget is None else self.budget.fraction(step) * self.total_steps
        last = progress >= self.total_steps or self.model.stop_training
        if step % self.every and not last:
            return
        decay = lookahead_decay(progress, self.total_steps)
        self.slow_weights = [decay * slow + (1 - decay) * fast for slow, fast in zip(self.slow_weights, self.model.get_weights())]
        self.model.set_weights(self.slow_weights)


class TensorBoardScalars(keras.callbacks.Callback):
    """Per-epoch metrics as TensorBoard event files, laid out like ``keras.callbacks.TensorBoard``.

    ``<log_dir>/train`` and ``<log_dir>/validation`` hold ``epoch_<metric>`` scalars.
    Written with TensorFlow's own summary ops: Keras' TensorBoard callback needs the
    ``tensorboard`` package just to write, and the lab does not depend on it
    (viewing the logs does: ``pip install tensorboard; tensorboard --logdir artifacts/runs``).
    """

    def __init__(self, log_dir: Path):
        super().__init__()
        self.log_dir = Path(log_dir)
        self.writers: dict = {}

    def _writer(self, split: str):
        import tensorflow as tf

        if split not in self.writers:
            self.writers[split] = tf.summary.create_file_writer(str(self.log_dir / split))
        return self.writers[split]

    def on_epoch_end(self, epoch, logs=None):
        import tensorflow as tf
        from tensorflow.core.framework import summary_pb2

        metadata = summary_pb2.SummaryMetadata()
        metadata.plugin_data.plugin_name = "scalars"  # what TensorBoard's scalar dashboard looks for
        for key, value in (logs or {}).items():
            if np.ndim(value) != 0:
                continue
            split, name = ("validation", key[4:]) if key.startswith("val_") else ("train", key)
            with self._writer(split).as_default():
                tf.summary.write(f"epoch_{name}", tf.constant(float(value), tf.float32), step=epoch, metadata=metadata)
        for writer in self.writers.values():
            writer.flush()

    def on_train_end(self, logs=None):
        for writer in self.writers.values():
            writer.close()
        self.writers = {}
