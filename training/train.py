"""One training run, from data to a complete run folder: ``run_training(config) -> Path``.

Reads top to bottom: check the run folder (refuse a complete one, resume an
interrupted one) -> load and split the data (test set untouched until the end)
-> build and compile the model -> fit with callbacks (history, events,
backup, TensorBoard) -> evaluate on the test set -> write model, predictions,
summary and run.json atomically. Any failure marks the run ``failed`` with the
reason and re-raises.

Usage::

    from training.config import RunConfig
    from training.train import run_training
    folder = run_training(RunConfig.from_dict({"model": "simple_cnn", "epochs": 1, "train_limit": 2000}))
"""

from __future__ import annotations

import errno
import hashlib
import io
import json
import math
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np

from runstore import (
    BACKUP_DIR,
    HISTORY_FILE,
    MODEL_FILE,
    PREDICTIONS_FILE,
    RUN_FILE,
    SUMMARY_FILE,
    TENSORBOARD_DIR,
    atomic_write_bytes,
    atomic_write_text,
    resolve_artifacts_dir,
    run_dir,
)
from runstore.reader import process_alive
from runstore.schema import STATUS_COMPLETE, STATUS_RUNNING
from training.config import ConfigError, RunConfig
from training.data import Cifar10, DataError, load_cifar10, split_train_validation, stratified_subset
from training.registry import get_spec
from training.weights import WeightsError

BACKUP_METADATA = "training_metadata.json"
BEST_WEIGHTS = "best.weights.h5"


class TrainingError(RuntimeError):
    """A run cannot start or finish for a reason the user can fix; the message says how."""


USER_FIXABLE_ERRORS = (TrainingError, DataError, WeightsError, ConfigError)


# ----------------------------------------------------------------------------- run folder


def prepare_run_folder(folder: Path) -> int | None:
    """Check ``folder`` before training; return the epoch to resume from, or None for a fresh start.

    A complete run is never overwritten; a run whose trainer is still alive is not
    started twice; an interrupted run with a backup resumes; anything else starts over.
    """
    record_path = folder / RUN_FILE
    if record_path.is_file():
        try:
            record = json.loads(record_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            record = {}
        if record.get("status") == STATUS_COMPLETE:
            raise TrainingError(
                f"Run {folder.name!r} is already complete ({folder}). Pick another --run-id, "
                "or delete that folder to train it again."
            )
        if record.get("status") == STATUS_RUNNING and record.get("pid") != os.getpid() and process_alive(record):
            raise TrainingError(
                f"Run {folder.name!r} is being trained right now by process {record.get('pid')} on {record.get('host')}. "
                "Wait for it, stop it, or pick another --run-id."
            )
    metadata = folder / BACKUP_DIR / BACKUP_METADATA
    if metadata.is_file():
        try:
            return int(json.loads(metadata.read_text(encoding="utf-8"))["epoch"])
        except (OSError, ValueError, KeyError, TypeError):
            pass  # a torn backup cannot be trusted: start over
    # Starting over: files of an earlier failed attempt must not be mistaken for this run's.
    for name in (HISTORY_FILE, MODEL_FILE, PREDICTIONS_FILE, SUMMARY_FILE):
        (folder / name).unlink(missing_ok=True)
    for name in (TENSORBOARD_DIR, BACKUP_DIR):
        shutil.rmtree(folder / name, ignore_errors=True)
    return None


def describe_os_error(error: OSError, folder: Path) -> str | None:
    """A sentence for disk-full and permission errors, or None for other OS errors."""
    where = error.filename or folder
    if error.errno == errno.ENOSPC:
        return (
            f"The disk is full (no space left while writing {where}). Free some space or move the artifacts "
            "with --artifacts-dir, then run the same command again: the run resumes from its last finished epoch."
        )
    if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return (
            f"Permission denied writing {where}. Make the artifacts folder writable, or choose another one "
            "with --artifacts-dir / ARTIFACTS_DIR."
        )
    return None


# ----------------------------------------------------------------------------- data


def split_data(config: RunConfig, data: Cifar10) -> dict:
    """Seeded stratified validation split, optional training subset, optional test prefix."""
    # split_seed, not seed: a group's replicates see the same images and differ only in training randomness.
    split = split_train_validation(data.x_train, data.y_train, config.validation_size, config.split_seed)
    x_train, y_train = stratified_subset(split.x_train, split.y_train, config.train_limit, config.split_seed)
    test_count = len(data.y_test) if config.test_limit is None else min(config.test_limit, len(data.y_test))
    return {
        "x_train": x_train, "y_train": y_train,
        "x_val": split.x_val, "y_val": split.y_val,
        # The test set is only read after training (see evaluate_probabilities).
        "x_test": data.x_test[:test_count], "y_test": data.y_test[:test_count],
    }


# ----------------------------------------------------------------------------- model


def make_optimizer(name: str, learning_rate: float, weight_decay: float = 0.0):
    """A Keras optimizer by name (rmsprop, adam, sgd); adam with weight decay is AdamW."""
    import keras

    if name == "rmsprop":
        return keras.optimizers.RMSprop(learning_rate)
    if name == "adam":
        return keras.optimizers.AdamW(learning_rate, weight_decay=weight_decay) if weight_decay else keras.optimizers.Adam(learning_rate)
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate, momentum=0.9, nesterov=True, weight_decay=weight_decay or None)
    raise ValueError(f"Unknown optimizer {name!r}. Valid optimizers: rmsprop, adam, sgd")


def make_strategy(name: str):
    """``tf.distribute`` strategy by name: the default one, or MirroredStrategy over all local GPUs (else the CPU)."""
    import tensorflow as tf

    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        devices = [device.name.replace("physical_device:", "") for device in tf.config.list_physical_devices("GPU")]
        return tf.distribute.MirroredStrategy(devices=devices or ["/cpu:0"])
    raise ValueError(f"Unknown strategy {name!r}. Valid strategies: default, mirrored")


def model_summary_text(model) -> str:
    """Keras' layer table (nested models expanded) as plain text."""
    lines: list[str] = []
    model.summary(print_fn=lambda line, line_break=True: lines.append(line), expand_nested=True)
    return "\n".join(lines) + "\n"


def parameter_counts(model) -> tuple[int, int]:
    """(total, trainable) parameter counts."""
    trainable = int(sum(int(np.prod(weight.shape)) for weight in model.trainable_weights))
    return int(model.count_params()), trainable


# ----------------------------------------------------------------------------- evaluation


def translated_views(x: np.ndarray, pixels: int = 1) -> list[np.ndarray]:
    """``x`` (N, H, W, C) shifted ``pixels`` towards the top-left and towards the bottom-right, edges reflected."""
    height, width = x.shape[1:3]
    padded = np.pad(x, ((0, 0), (pixels, pixels), (pixels, pixels), (0, 0)), mode="reflect")
    return [padded[:, :height, :width], padded[:, 2 * pixels:, 2 * pixels:]]


def predict_probabilities(predict, x: np.ndarray, flip_predict=None, translate: bool = False) -> np.ndarray:
    """Class probabilities from ``predict(x)``, with optional test-time augmentation.

    ``flip_predict(x)`` (the prediction on mirrored images) is averaged in for flip
    TTA. ``translate`` also predicts on the two 1-pixel shifts of ``translated_views``
    (each with its mirror when flipping) and gives their mean half the weight (airbench).
    """
    probs = np.asarray(predict(x), dtype=np.float32)
    if flip_predict is not None:
        probs = (probs + np.asarray(flip_predict(x), dtype=np.float32)) / 2
    if translate:
        shifted = [predict_probabilities(predict, view, flip_predict) for view in translated_views(x)]
        probs = (probs + np.mean(shifted, axis=0)) / 2
    return probs


def test_metrics(y_true: np.ndarray, probs: np.ndarray) -> tuple[float, float]:
    """(accuracy, categorical cross-entropy) of ``probs`` against integer labels ``y_true``."""
    accuracy = float(np.mean(np.argmax(probs, axis=1) == y_true))
    picked = np.clip(probs[np.arange(len(y_true)), y_true], 1e-7, 1.0)
    return accuracy, float(-np.mean(np.log(picked)))


def predictions_bytes(y_true: np.ndarray, probs: np.ndarray) -> bytes:
    """``predictions.npz`` content: y_true int64 (N,), probs float32 (N, 10)."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, y_true=y_true.astype(np.int64), probs=probs.astype(np.float32))
    return buffer.getvalue()


def save_model_atomically(model, path: Path) -> tuple[str, int]:
    """Save ``model`` in Keras 3 format via a temporary ``.keras`` name, then rename; return (sha256, bytes)."""
    temporary = path.with_name(f".partial-{os.getpid()}-{path.name}")
    try:
        model.save(temporary)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return digest, path.stat().st_size


# ----------------------------------------------------------------------------- the run


def run_training(config: RunConfig, data: Cifar10 | None = None, verbose: int | None = None) -> Path:
    """Train one run as ``config`` says and return its complete run folder (see module docstring).

    ``data`` injects an in-memory data set (tests); by default CIFAR-10 is loaded
    from ``config.data_dir`` / ``$CIFAR10_DIR`` / Keras' cache.
    """
    wall_started = time.monotonic()
    config = config.resolved()
    folder = run_dir(resolve_artifacts_dir(config.artifacts_dir), config.run_id)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise TrainingError(describe_os_error(error, folder) or f"Cannot create the run folder {folder}: {error}") from None
    resume_epoch = prepare_run_folder(folder)
    spec = get_spec(config.model)
    record = None
    try:
        from training.record import RunRecord  # imports TensorFlow for the version list

        record = RunRecord(folder, {
            "run_id": config.run_id, "model": config.model, "description": spec.description,
            "input_size": spec.input_size, "optimizer": config.optimizer, "learning_rate": config.learning_rate,
            "config": config.to_dict(), "weights": "none", "suite": config.suite, "resumed_from_epoch": resume_epoch,
            "group": config.group, "seed": config.seed,
        })
        if resume_epoch is not None:
            # Keep the first attempt's start time so wall time spans the whole run.
            try:
                earlier = json.loads((folder / RUN_FILE).read_text(encoding="utf-8"))
                record.fields["started_at"] = earlier.get("started_at", record.fields["started_at"])
                # Early stopping that fired before the interruption still holds.
                record.fields["early_stop_epoch"] = earlier.get("early_stop_epoch")
            except (OSError, ValueError):
                pass
        record.update()
        _train_and_save(config, folder, record, data, resume_epoch, verbose, wall_started)
        return folder
    except OSError as error:
        message = describe_os_error(error, folder)
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


def _train_and_save(
    config: RunConfig, folder: Path, record, data: Cifar10 | None, resume_epoch: int | None, verbose: int | None, wall_started: float
) -> None:
    import keras

    import training.layers  # noqa: F401  (registers the custom layers before any model is built or saved)
    from training import callbacks as lab_callbacks
    from training.feature_cache import FeatureCache
    from training.models import build_parts, initialise_from_data
    from training.pipeline import make_eval_dataset, make_feature_dataset, make_train_dataset
    from training.weights import resolve_weights

    if verbose is None:
        # Live progress bars on a terminal; one line per epoch in log files.
        verbose = 1 if sys.stdout.isatty() else 2
    spec = get_spec(config.model)

    # Weights first: a missing ImageNet file should fail before minutes of data loading.
    weights = resolve_weights(config.model, config.weights)
    record.update(weights=weights.label, weights_note=weights.note)

    # --- data: load, split; the test arrays are not touched until evaluation
    data = data if data is not None else load_cifar10(config.data_dir)
    arrays = split_data(config, data)
    record.update(data={
        "source": data.source, "sha256": data.sha256,
        "train_images": int(len(arrays["y_train"])), "validation_images": int(len(arrays["y_val"])),
        "test_images": int(len(arrays["y_test"])),
    })

    # --- model
    keras.utils.set_random_seed(config.seed)
    strategy = make_strategy(config.strategy)
    with strategy.scope():
        built = build_parts(config.model, weights.keras_value, config.blocks)
        # Before any backup is restored: a resumed run then overwrites it with its own weights.
        initialise_from_data(config.model, built, arrays["x_train"])
        use_cache = config.feature_cache and built.base is not None
        trained = built.head if use_cache else built.model
        trained.compile(
            optimizer=make_optimizer(config.optimizer, config.learning_rate, config.weight_decay),
            loss=keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing),
            metrics=["accuracy"],
        )
    params_total, params_trainable = parameter_counts(built.model)
    record.update(params_total=params_total, params_trainable=params_trainable)
    atomic_write_text(folder / SUMMARY_FILE, model_summary_text(built.model))

    # --- input pipelines (raw pixels, or cached frozen-base features)
    cache = None
    if use_cache:
        cache = FeatureCache(resolve_artifacts_dir(config.artifacts_dir), config.model, built.base, spec.input_size, verbose=verbose)
        train_plain = cache.features(arrays["x_train"], "plain")
        train_mirrored = cache.features(arrays["x_train"], "mirrored") if config.augment else None
        train_data = make_feature_dataset(train_plain, train_mirrored, arrays["y_train"], config.batch_size, config.seed, shuffle=True)
        val_data = make_feature_dataset(cache.features(arrays["x_val"], "plain"), None, arrays["y_val"], config.batch_size, config.seed, shuffle=False)
        record.update(feature_cache=cache.report())
    else:
        train_data = make_train_dataset(
            arrays["x_train"], arrays["y_train"], config.batch_size, spec.input_size, config.augment, config.seed,
            config.augmentation,
        )
        val_data = make_eval_dataset(arrays["x_val"], arrays["y_val"], config.batch_size, spec.input_size)

    # --- callbacks
    previous_rows = lab_callbacks.read_history_rows(folder / HISTORY_FILE) if resume_epoch is not None else []
    previous_rows = [row for row in previous_rows if resume_epoch is None or row["epoch"] < resume_epoch]
    elapsed_offset = previous_rows[-1].get("elapsed_seconds", 0.0) if previous_rows else 0.0
    extras = lab_callbacks.EpochExtras(elapsed_offset=elapsed_offset)
    history = lab_callbacks.HistoryWriter(folder / HISTORY_FILE, previous_rows)
    plateau = config.lr_schedule == "plateau"
    steps_per_epoch = math.ceil(len(arrays["y_train"]) / config.batch_size)
    early_stopping = lab_callbacks.ResumableEarlyStopping(
        previous_rows, monitor="val_loss", patience=config.early_stopping_patience, restore_best_weights=True, verbose=1
    )
    total_steps = config.epochs * steps_per_epoch
    # Ends training when the time budget (if any) is spent; the one-cycle rate and Lookahead follow its progress.
    budget = lab_callbacks.TrainingBudget(total_steps, clock=extras, budget_seconds=config.time_budget_seconds)
    if plateau:
        schedule = lab_callbacks.ResumableReduceLROnPlateau(
            previous_rows, monitor="val_loss", factor=config.reduce_lr_factor, patience=config.reduce_lr_patience,
            min_lr=config.min_learning_rate, verbose=1,
        )
    else:
        schedule = lab_callbacks.OneCycleByStep(config.learning_rate, total_steps=total_steps, budget=budget)

    def heartbeat(epoch: int, rows: list[dict]) -> None:
        summary = lab_callbacks.summarize_history(rows, track_lr_drops=plateau)
        stopped = int(early_stopping.stopped_epoch) if early_stopping.stopped_epoch > 0 else record.fields.get("early_stop_epoch")
        record.update(latest_epoch=int(epoch), train_seconds=round(extras.seconds, 3), early_stop_epoch=stopped, **summary)

    callback_list = [
        extras,  # first: later callbacks read the learning rate and time it adds
        budget,  # before the schedule and Lookahead, which read its progress and stop flag
        schedule,
        early_stopping,
        lab_callbacks.BestWeightsCheckpoint(folder / BACKUP_DIR / BEST_WEIGHTS, previous_rows),
        keras.callbacks.BackupAndRestore(backup_dir=str(folder / BACKUP_DIR), delete_checkpoint=False),
        # After BackupAndRestore: a resumed run averages from its restored weights.
        *([lab_callbacks.Lookahead(total_steps=total_steps, budget=budget)] if config.lookahead else []),
        lab_callbacks.TensorBoardScalars(folder / TENSORBOARD_DIR),
        history,
        lab_callbacks.Heartbeat(history, heartbeat),
    ]

    # --- fit (not at all when early stopping had already ended the run before an interruption)
    stopped_before = resume_epoch is not None and record.fields.get("early_stop_epoch") is not None
    trained.fit(
        train_data, validation_data=val_data, epochs=resume_epoch if stopped_before else config.epochs, callbacks=callback_list, verbose=verbose,
        shuffle=False,  # the pipeline shuffles (seeded)
    )
    train_seconds = round(extras.seconds, 3)
    best_weights = folder / BACKUP_DIR / BEST_WEIGHTS
    if best_weights.is_file():
        # The best epoch's weights, even when that epoch ran before an interruption.
        trained.load_weights(best_weights)
    summary = lab_callbacks.summarize_history(history.rows, track_lr_drops=plateau)
    early_stop_epoch = int(early_stopping.stopped_epoch) if early_stopping.stopped_epoch > 0 else record.fields.get("early_stop_epoch")

    # --- evaluate on the test set, now and only now
    print(f"Evaluating {config.run_id} on {len(arrays['y_test'])} test images", flush=True)
    if cache is not None:
        head = built.head
        probs = predict_probabilities(
            lambda x: head.predict(cache.features(x, "plain"), batch_size=256, verbose=verbose),
            arrays["x_test"],
            (lambda x: head.predict(cache.features(x, "mirrored"), batch_size=256, verbose=verbose)) if config.tta_flip else None,
        )
        record.update(feature_cache=cache.report())
    else:
        model = built.model
        probs = predict_probabilities(
            lambda x: model.predict(make_eval_dataset(x, None, 256, spec.input_size), verbose=verbose),
            arrays["x_test"],
            (lambda x: model.predict(make_eval_dataset(x, None, 256, spec.input_size, flip=True), verbose=verbose)) if config.tta_flip else None,
            translate=config.tta_translate,
        )
    test_accuracy, test_loss = test_metrics(arrays["y_test"], probs)

    # --- write the finished run; run.json last, so "complete" means every file is in place
    model_sha256, model_bytes = save_model_atomically(built.model, folder / MODEL_FILE)
    atomic_write_bytes(folder / PREDICTIONS_FILE, predictions_bytes(arrays["y_test"], probs))
    record.complete(
        test_accuracy=test_accuracy, test_loss=test_loss, early_stop_epoch=early_stop_epoch,
        train_seconds=train_seconds, wall_seconds=round(time.monotonic() - wall_started, 3),
        model_sha256=model_sha256, model_bytes=model_bytes,
        evaluation={"tta_flip": config.tta_flip, "tta_translate": config.tta_translate, "from_cached_features": cache is not None},
        **summary,
    )
    shutil.rmtree(folder / BACKUP_DIR, ignore_errors=True)
    print(f"{config.run_id}: test accuracy {test_accuracy:.4f}, test loss {test_loss:.4f}", flush=True)
