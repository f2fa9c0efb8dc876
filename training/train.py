"""One training run, from data to a complete run folder: ``run_training(config) -> Path``.

``run_training`` first checks what a user can get wrong outside the config
(the weights, the data folder, a split too large for it) so that such a
mistake writes nothing under ``runs/``; then it checks the run folder (refuses
a complete one, resumes an interrupted one) and opens its run.json.
``train_and_save`` then reads top to bottom, one function per step: build the
model from its registry entry -> compile -> fit with callbacks
(``make_callbacks`` says why they come in their order) -> evaluate on the
test set, untouched until then (``training.evaluate``) -> write model,
predictions and run.json atomically. Any failure once the folder exists marks
the run ``failed`` with the reason and re-raises.

Usage::

    from training.config import RunConfig
    from training.train import run_training
    folder = run_training(RunConfig.from_dict({"model": "simple_cnn", "blocks": 1, "epochs": 3, "train_limit": 5000}))
"""

from __future__ import annotations

import math
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from runstore import BACKUP_DIR, HISTORY_FILE, TENSORBOARD_DIR, resolve_artifacts_dir, run_dir
from runstore.writer import (
    RunFolderRefused,
    RunRecord,
    check_run_folder,
    clear_for_fresh_start,
    describe_write_error,
    run_bytes_needed,
    save_model_and_predictions,
    write_model_summary,
    write_validation_predictions,
)
from training import callbacks as lab_callbacks
from training.backup import BackupCheck, latest_whole_backup
from training.config import ConfigError, RunConfig
from training.data import Cifar10, DataError, DataSplit, load_cifar10, split_data, split_problem
from training.evaluate import predict_test_set, test_metrics
from training.feature_cache import FeatureCache
from training.inputs import TrainingInputs, make_inputs
from training.models import BuiltModel, build_parts, initialise_from_data
from training.optimization import compile_for_run, make_strategy
from training.provenance import provenance
from training.registry import ModelSpec, get_spec
from training.resumption import Resumption, resume_from_earlier_attempt
from training.weights import WeightsError, resolve_weights

BEST_WEIGHTS = "best.weights.h5"


class TrainingError(RuntimeError):
    """A run cannot start or finish for a reason the user can fix; the message says how."""


USER_FIXABLE_ERRORS = (TrainingError, DataError, WeightsError, ConfigError)


# ----------------------------------------------------------------------------- run folder


def prepare_run_folder(folder: Path) -> BackupCheck:
    """Check ``folder`` before training; return the backup to resume from (``.epoch`` None: a fresh start) and why.

    A complete run is never overwritten and a live trainer's run is not started twice
    (``runstore.writer.check_run_folder``); an interrupted run with a whole backup
    resumes (``training.backup``); anything else starts over.
    """
    try:
        check_run_folder(folder)
    except RunFolderRefused as refused:
        raise TrainingError(str(refused)) from None
    check = latest_whole_backup(folder)  # a torn backup is skipped, and the note says so
    if check.note:
        print(f"{folder.name}: {check.note}", flush=True)
    if check.backup is None:
        clear_for_fresh_start(folder)  # files of an earlier attempt must not be mistaken for this run's
    return check


# ----------------------------------------------------------------------------- the run


def run_training(config: RunConfig, data: Cifar10 | None = None, verbose: int | None = None) -> Path:
    """Train one run as ``config`` says and return its complete run folder (see module docstring).

    ``data`` injects an in-memory data set (tests); by default CIFAR-10 is loaded
    from ``config.data_dir`` / ``$CIFAR10_DIR`` / Keras' cache.
    """
    wall_started = time.monotonic()
    spec = get_spec(config.model)  # the model's registry entry: looked up here, once, and passed along
    config = config.resolved(spec)
    # What a user can get wrong outside the config (the weights file, a damaged data folder, a split
    # too large for the data) fails here, before the run folder exists: nothing is written under runs/.
    weights = resolve_weights(spec.name, config.weights)
    data = data if data is not None else load_cifar10(config.data_dir)
    split = split_for_run(config, data)
    folder = run_dir(resolve_artifacts_dir(config.artifacts_dir), config.run_id)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise TrainingError(describe_write_error(error, folder) or f"Cannot create the run folder {folder}: {error}") from None
    backup_check = prepare_run_folder(folder)
    resume_epoch = backup_check.epoch
    record = None
    try:
        record = RunRecord(folder, {
            "run_id": config.run_id, "model": config.model, "description": spec.description,
            "input_size": spec.input_size, "optimizer": config.optimizer, "learning_rate": config.learning_rate,
            "config": config.to_dict(), "suite": config.suite, "resumed_from_epoch": resume_epoch,
            "group": config.group, "seed": config.seed, "resume_note": backup_check.note,
            "weights": weights.label, "weights_note": weights.note,
            "data": {"source": data.source, "sha256": data.sha256, **split.counts()},
        }, provenance=provenance())
        resumption = resume_from_earlier_attempt(record, folder, resume_epoch)
        record.update()
        train_and_save(config, spec, folder, record, weights.keras_value, split, resumption, verbose, wall_started)
        return folder
    except OSError as error:
        message = describe_write_error(error, folder, run_bytes_needed(record.fields.get("params_total")) if record else None)
        if record is not None:
            record.fail(message or f"{type(error).__name__}: {error}")
        if message:
            raise TrainingError(message) from error
        raise
    except BaseException as error:
        if record is not None:
            if isinstance(error, KeyboardInterrupt):
                reason = "interrupted (Ctrl-C); run the same command again to resume"
            elif isinstance(error, USER_FIXABLE_ERRORS):
                reason = str(error)  # already a sentence saying what to do
            else:
                reason = f"{type(error).__name__}: {error}"
            record.fail(reason)
        raise


def train_and_save(
    config: RunConfig, spec: ModelSpec, folder: Path, record: RunRecord, keras_weights: str | None, split: DataSplit,
    resumption: Resumption, verbose: int | None, wall_started: float,
) -> None:
    """Build -> compile -> fit -> evaluate -> save, each step one function (weights and data checked by the caller)."""
    # Live progress bars on a terminal; one line per epoch in log files.
    verbose = (1 if sys.stdout.isatty() else 2) if verbose is None else verbose
    keras.utils.set_random_seed(config.seed)
    with make_strategy(config.strategy).scope():
        built = build_for_run(config, spec, keras_weights, split.x_train)
        trained = compile_for_run(config, built)
    record.update(**write_model_summary(folder, built.model))
    inputs = make_inputs(config, spec, built, split, verbose)
    if inputs.cache is not None:
        record.update(feature_cache=inputs.cache.report())
    epoch = EpochSize.of(config, len(split.y_train))
    callbacks = make_callbacks(config, folder, record, resumption, epoch)
    train_seconds = fit(trained, inputs, config, callbacks, resumption, folder, verbose, epoch)

    print(f"Evaluating {config.run_id} on {len(split.y_test)} test images", flush=True)
    probs = predict_test_set(built, split.x_test, spec.input_size, config.tta_flip, config.tta_translate, inputs.cache, verbose)
    # The same on the validation images: the reading side fits calibration there, never on the test set.
    validation_probs = predict_test_set(built, split.x_val, spec.input_size, config.tta_flip, config.tta_translate,
                                        inputs.cache, verbose) if len(split.y_val) else None
    save_run(config, folder, record, built.model, split.y_test, probs, callbacks, train_seconds, inputs.cache, wall_started,
             validation=(split.y_val, validation_probs))


def split_for_run(config: RunConfig, data: Cifar10) -> DataSplit:
    """``data`` split as ``config`` says: validation by ``split_seed``, so a group's replicates see the same images.

    Raises ``ConfigError`` (naming ``validation_size``, so the CLI names its flag) when
    the validation set would leave fewer than one training image per class.
    """
    problem = split_problem(data, config.validation_size)
    if problem:
        raise ConfigError(problem)
    return split_data(data, config.validation_size, config.split_seed, config.train_limit, config.test_limit)


def build_for_run(config: RunConfig, spec: ModelSpec, keras_weights: str | None, x_train) -> BuiltModel:
    """The run's model from its registry entry, with its options, initialised from ``x_train`` if the entry asks."""
    built = build_parts(spec, keras_weights, **{option: getattr(config, option) for option in spec.options})
    # Before any backup is restored: a resumed run then overwrites it with its own weights.
    initialise_from_data(spec, built, x_train)
    return built


# ----------------------------------------------------------------------------- fit


@dataclass
class FitCallbacks:
    """The callbacks of one fit in the order Keras calls them, and the ones the trainer reads afterwards."""

    ordered: list
    clock: lab_callbacks.EpochExtras
    history: lab_callbacks.HistoryWriter
    early_stopping: lab_callbacks.ResumableEarlyStopping
    track_lr_drops: bool  # a plateau schedule drops the rate on purpose; a one-cycle rate falls every step

    def early_stop_epoch(self, record: RunRecord) -> int | None:
        """The epoch early stopping ended training in, this attempt or an earlier one; None if it never fired."""
        stopped = self.early_stopping.stopped_epoch
        return int(stopped) if stopped > 0 else record.fields.get("early_stop_epoch")

    def summary(self) -> dict:
        """Best epoch, learning-rate drops and epochs run, from the history so far."""
        return lab_callbacks.summarize_history(self.history.rows, track_lr_drops=self.track_lr_drops)


@dataclass(frozen=True)
class EpochSize:
    """What one Keras epoch is: one pass over the training images, or ``config.epoch_images`` of them.

    A shorter epoch (the training data repeating under it) gives a short run more
    evaluation points: more points on its curves, and a finer best-epoch choice.
    """

    steps: int   # optimizer steps per epoch
    images: int  # training images per full epoch
    repeats: bool  # the training data repeats: epochs are cut by steps, not by the end of the data

    @classmethod
    def of(cls, config: RunConfig, train_images: int) -> "EpochSize":
        if config.epoch_images is None:
            return cls(math.ceil(train_images / config.batch_size), train_images, repeats=False)
        steps = math.ceil(config.epoch_images / config.batch_size)
        return cls(steps, steps * config.batch_size, repeats=True)


def make_callbacks(config: RunConfig, folder: Path, record: RunRecord, resumption: Resumption, epoch: EpochSize) -> FitCallbacks:
    """Every callback of the fit, in the one order that works. Keras calls them in list order, so:

    1. ``EpochExtras`` first: it adds ``learning_rate`` and ``elapsed_seconds`` to the
       epoch's logs, which every later callback reads, and is the run's clock.
    2. ``TrainingBudget`` before the schedule and Lookahead: they read its progress
       (the fraction of the step or time budget spent) and its stop flag.
    3. The schedule: one-cycle by step (following the budget), or ReduceLROnPlateau.
    4. ``ResumableEarlyStopping`` on ``val_loss``, counting patience across an interruption.
    5. ``BestWeightsCheckpoint``: the best epoch's weights, so the saved model is the best one
       even when that epoch ran before an interruption.
    6. ``EpochBackup`` (``training.backup``): backs up every epoch whole, and restores the
       weights of the backup the folder check chose (its epoch goes to ``fit`` as ``initial_epoch``).
    7. ``Lookahead`` (when asked for) after EpochBackup, so a resumed run averages from
       its restored weights rather than from fresh ones.
    8. ``TensorBoardScalars``.
    9. ``HistoryWriter`` after everything that adds to the logs: it rewrites history.csv.
    10. ``Heartbeat`` last: it updates run.json from the history row just written.
    """
    plateau = config.lr_schedule == "plateau"
    previous_rows = resumption.history_rows
    total_steps = config.epochs * epoch.steps
    clock = lab_callbacks.EpochExtras(elapsed_offset=resumption.elapsed_seconds, images_offset=resumption.images_seen,
                                      batch_size=config.batch_size, epoch_images=epoch.images)
    budget = lab_callbacks.TrainingBudget(total_steps, clock=clock, budget_seconds=config.time_budget_seconds)
    if plateau:
        schedule = lab_callbacks.ResumableReduceLROnPlateau(
            previous_rows, monitor="val_loss", factor=config.reduce_lr_factor, patience=config.reduce_lr_patience,
            min_lr=config.min_learning_rate, verbose=1,
        )
    else:
        schedule = lab_callbacks.OneCycleByStep(config.learning_rate, total_steps=total_steps, budget=budget)
    early_stopping = lab_callbacks.ResumableEarlyStopping(
        previous_rows, monitor="val_loss", patience=config.early_stopping_patience, restore_best_weights=True, verbose=1
    )
    history = lab_callbacks.HistoryWriter(folder / HISTORY_FILE, previous_rows)
    callbacks = FitCallbacks([], clock, history, early_stopping, track_lr_drops=plateau)

    def heartbeat(epoch: int, rows: list[dict]) -> None:
        record.update(latest_epoch=int(epoch), train_seconds=round(clock.seconds, 3),
                      early_stop_epoch=callbacks.early_stop_epoch(record), **callbacks.summary())

    callbacks.ordered = [
        clock,
        budget,
        schedule,
        early_stopping,
        lab_callbacks.BestWeightsCheckpoint(folder / BACKUP_DIR / BEST_WEIGHTS, previous_rows),
        lab_callbacks.EpochBackup(folder / BACKUP_DIR, resume_epoch=resumption.epoch),
        *([lab_callbacks.Lookahead(total_steps=total_steps, budget=budget)] if config.lookahead else []),
        lab_callbacks.TensorBoardScalars(folder / TENSORBOARD_DIR),
        history,
        lab_callbacks.Heartbeat(history, heartbeat),
    ]
    return callbacks


def fit(trained, inputs: TrainingInputs, config: RunConfig, callbacks: FitCallbacks, resumption: Resumption,
        folder: Path, verbose: int, epoch: EpochSize) -> float:
    """Train ``trained`` up to ``config.epochs``, load the best epoch's weights, and return the training seconds."""
    # Not at all when early stopping had already ended the run before an interruption.
    epochs = resumption.epoch if resumption.stopped_early else config.epochs
    trained.fit(
        inputs.train.repeat() if epoch.repeats else inputs.train, steps_per_epoch=epoch.steps if epoch.repeats else None,
        validation_data=inputs.validation, epochs=epochs, initial_epoch=resumption.epoch or 0,
        callbacks=callbacks.ordered, verbose=verbose,
        shuffle=False,  # the pipeline shuffles (seeded)
    )
    train_seconds = round(callbacks.clock.seconds, 3)
    best_weights = folder / BACKUP_DIR / BEST_WEIGHTS
    if best_weights.is_file():
        # The best epoch's weights, even when that epoch ran before an interruption.
        trained.load_weights(best_weights)
    return train_seconds


# ----------------------------------------------------------------------------- save


def save_run(config: RunConfig, folder: Path, record: RunRecord, model, y_test: np.ndarray, probs: np.ndarray,
             callbacks: FitCallbacks, train_seconds: float, cache: FeatureCache | None, wall_started: float,
             validation: tuple[np.ndarray, np.ndarray | None] = (np.zeros(0), None)) -> None:
    """Write the model and the test (and validation) predictions, then close run.json: last, so "complete" means every file is in place."""
    test_accuracy, test_loss = test_metrics(y_test, probs)
    if validation[1] is not None:
        write_validation_predictions(folder, *validation)
    saved = save_model_and_predictions(folder, model, y_test, probs)
    if cache is not None:
        record.update(feature_cache=cache.report())  # the test images' features were added while evaluating
    record.complete(
        test_accuracy=test_accuracy, test_loss=test_loss, early_stop_epoch=callbacks.early_stop_epoch(record),
        train_seconds=train_seconds, wall_seconds=round(time.monotonic() - wall_started, 3), **saved,
        evaluation={"tta_flip": config.tta_flip, "tta_translate": config.tta_translate, "from_cached_features": cache is not None},
        **callbacks.summary(),
    )
    shutil.rmtree(folder / BACKUP_DIR, ignore_errors=True)
    print(f"{config.run_id}: test accuracy {test_accuracy:.4f}, test loss {test_loss:.4f}", flush=True)
