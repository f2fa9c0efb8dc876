"""``LabCallback``: log any ``model.fit`` (a script, Jupyter, Colab) as a live run of the lab.

Usage::

    from training import LabCallback
    model.fit(x_train / 255, y_train, epochs=10, validation_split=0.1,
              callbacks=[LabCallback("my-notebook", preprocessing="unit", config={"epochs": 10})])

While ``fit`` runs, ``runs/<run_id>/`` holds ``run.json`` with status ``running``
and ``history.csv`` with every finished epoch and its learning rate, each
rewritten atomically, so the dashboard shows the curves live. When ``fit``
returns, the model is evaluated on the test set (the lab's CIFAR-10 test images
by default, or ``test_data=(x, y)`` as raw 0-255 pixels) with ``preprocessing``
applied as the model expects, and ``model.keras``, ``predictions.npz`` and a
``complete`` run.json are written, run.json last.

One writer. The epoch rows are made and written by the lab trainer's own
callbacks (``training.callbacks.EpochExtras`` adds the learning rate and the
elapsed time, ``HistoryWriter`` rewrites history.csv), run.json goes through
``runstore.writer`` (the one writer of run folders), as the lab trainer's
does: a LabCallback run folder is
written exactly as a lab run's is. The saved model holds the weights ``fit``
ended with, so run.json's ``best_epoch`` is the last finished epoch (its
``best_epoch_rule`` says so), where the Curves page puts its star.

Interruptions. Keras calls no callback when ``fit`` is stopped by an exception
or Ctrl-C, so two guards stand in: in IPython/Jupyter, the end of the cell that
ran ``fit``; in a script, the interpreter's exit (``atexit``). Either marks a
run that did not finish as ``failed`` with an error saying it was interrupted;
nothing after the last finished epoch is written. Limits: a process killed
outright (SIGKILL, a dead kernel) runs no guard, and the dashboard then shows
the run as ``interrupted`` because its process is gone; ``fit`` running in a
background thread of a notebook is only guarded at exit. One callback logs one
run: a second ``fit`` with the same callback and run id is refused, since the
run is complete.
"""

from __future__ import annotations

import atexit
import sys
import time
from pathlib import Path

import keras
import numpy as np

from runstore import HISTORY_FILE, resolve_artifacts_dir, run_dir
from runstore.preprocessing import check_preprocessing
from runstore.status import STATUS_COMPLETE, STATUS_FAILED, STATUS_RUNNING

# A LabCallback run never resumes (the script's fit is the user's): after a full disk it starts over.
CALLBACK_RETRY_ADVICE = "then run your script again: the run starts over (a LabCallback run does not resume)."

BEST_EPOCH_RULE = "last epoch fit ran (the weights fit ended with, which LabCallback saves)"


class LabCallback(keras.callbacks.Callback):
    """Writes the run folder of the ``fit`` it is passed to; see the module docstring.

    ``run_id``: the folder name (default ``<model name>-<date>-<time>``).
    ``preprocessing``: what the model expects of 0-255 pixels (``raw``, ``unit``, ``tf``, ``caffe``, ``torch``).
    ``artifacts_dir``: default ``$ARTIFACTS_DIR``, else the checkout's ``artifacts/`` (``./artifacts`` when installed).
    ``test_data``: ``(images, labels)`` with raw 0-255 images (N, H, W, 3) and integer or one-hot labels;
    default the CIFAR-10 test set from ``data_dir`` / ``$CIFAR10_DIR``.
    ``config``: hyperparameters to show on the Overview (JSON-serialisable values).
    """

    def __init__(self, run_id: str | None = None, *, preprocessing: str, artifacts_dir: str | Path | None = None,
                 test_data: tuple | None = None, data_dir: str | Path | None = None, config: dict | None = None,
                 progress: bool = True):
        super().__init__()
        check_preprocessing(preprocessing)
        if run_id is not None:
            run_dir(resolve_artifacts_dir(artifacts_dir), run_id)  # ValueError now, not after the first epoch
        if config is not None and not isinstance(config, dict):
            raise ValueError(f"config must be a dict of hyperparameters, got {type(config).__name__}")
        self.run_id = run_id
        self.preprocessing = preprocessing
        self.artifacts_dir = artifacts_dir
        self.data_dir = data_dir
        self.config = dict(config or {})
        self.progress = progress
        self.test_data = None if test_data is None else _checked_test_data(test_data, preprocessing)
        self.state: str | None = None
        self.folder: Path | None = None
        self.record = None
        self.clock = None    # training.callbacks.EpochExtras: learning rate and elapsed seconds of each epoch
        self.history = None  # training.callbacks.HistoryWriter: the rows, rewritten to history.csv every epoch
        self._wall_started = 0.0

    @property
    def rows(self) -> list[dict]:
        """The history rows of the finished epochs so far."""
        return self.history.rows if self.history is not None else []

    # ------------------------------------------------------------------ fit events

    def on_train_begin(self, logs=None):
        from training.byom import image_input_side
        from training.callbacks import EpochExtras, HistoryWriter
        from runstore.writer import RunRecord, check_run_folder, clear_for_fresh_start, write_model_summary
        from training.provenance import provenance

        self._wall_started = time.monotonic()
        try:
            input_size = image_input_side(self.model)
        except ValueError as error:
            raise ValueError(f"LabCallback needs a CIFAR-10 image classifier: {error}") from None
        run_id = self.run_id or f"{self.model.name}-{time.strftime('%Y%m%d-%H%M%S')}"
        self.folder = run_dir(resolve_artifacts_dir(self.artifacts_dir), run_id)
        self.folder.mkdir(parents=True, exist_ok=True)
        check_run_folder(self.folder)  # refuses a complete or live run
        clear_for_fresh_start(self.folder)  # a callback run never resumes: what a failed attempt left goes
        optimizer = self.model.optimizer
        # The lab trainer's own row makers and history writer, driven from this one callback.
        self.clock, self.history = EpochExtras(), HistoryWriter(self.folder / HISTORY_FILE)
        for part in (self.clock, self.history):
            part.set_model(self.model)
        self.clock.on_train_begin()
        self.record = RunRecord(self.folder, {
            "run_id": run_id, "source": "callback", "model": self.model.name,
            "description": f"Trained in the user's own script with LabCallback ({self.model.name})",
            "preprocessing": self.preprocessing, "input_size": input_size,
            "optimizer": type(optimizer).__name__.lower() if optimizer is not None else "unknown",
            "learning_rate": _learning_rate(self.model), "config": self.config,
            "weights": "trained in the user's script", "best_epoch_rule": BEST_EPOCH_RULE,
        }, provenance=provenance())
        self.record.update(**write_model_summary(self.folder, self.model))
        self.state = STATUS_RUNNING
        _register_guards(self)

    def on_epoch_end(self, epoch, logs=None):
        if self.state != STATUS_RUNNING:
            return
        # A copy: the learning rate and clock are added for this run's history, not for the user's other callbacks.
        row_logs = dict(logs or {})
        self.clock.on_epoch_end(epoch, row_logs)
        try:
            self.history.on_epoch_end(epoch, row_logs)
            self.record.update(latest_epoch=int(epoch), train_seconds=row_logs["elapsed_seconds"], **self._summary())
        except OSError as error:
            self._fail_on_write_error(error)
            raise

    def _summary(self) -> dict:
        """Epochs run and learning-rate drops by the lab's rules; the best epoch is the last (see the module docstring)."""
        from training.callbacks import summarize_history

        rows = self.rows
        return {**summarize_history(rows), "best_epoch": rows[-1]["epoch"] if rows else None}

    def on_train_end(self, logs=None):
        if self.state != STATUS_RUNNING:
            return
        try:
            self._finish()
        except OSError as error:
            self._fail_on_write_error(error)
            raise
        except BaseException as error:
            self.mark_failed(f"{type(error).__name__} while evaluating or saving after training: {error}")
            raise
        finally:
            _unregister_guards(self)

    def _fail_on_write_error(self, error: OSError) -> None:
        """Mark the run failed with a sentence for a full disk or a refused write (fit then stops with ``error``)."""
        from runstore.writer import describe_write_error, run_bytes_needed

        needed = run_bytes_needed(self.record.fields.get("params_total"), backups=0, best_checkpoint=False)
        message = describe_write_error(error, self.folder, needed, then=CALLBACK_RETRY_ADVICE)
        self.mark_failed(message or f"{type(error).__name__} while writing the run folder: {error}")
        if message:
            print(f"LabCallback: {message}", file=sys.stderr, flush=True)

    # ------------------------------------------------------------------ ending

    def _finish(self) -> None:
        from training.byom import as_labels, evaluate_on_test_set, model_for_dashboard
        from runstore.writer import save_model_and_predictions

        train_seconds = round(self.clock.seconds, 3)
        images, labels, data = self._test_set()
        labels = as_labels(labels)
        print(f"LabCallback: evaluating {self.record.fields['run_id']} on {len(labels):,} test images", flush=True)
        result = evaluate_on_test_set(self.model, images, labels, self.preprocessing, progress=self.progress)
        saved = save_model_and_predictions(self.folder, model_for_dashboard(self.model, result.outputs), labels, result.probs)
        self.record.complete(
            test_accuracy=result.accuracy, test_loss=result.loss, outputs=result.outputs, data=data,
            train_seconds=train_seconds, wall_seconds=round(time.monotonic() - self._wall_started, 3),
            **saved, **self._best_epoch_known(self._summary()),
        )
        self.state = STATUS_COMPLETE
        print(f"LabCallback: {self.record.fields['run_id']} complete, test accuracy {result.accuracy:.4f} ({self.folder})", flush=True)

    @staticmethod
    def _best_epoch_known(summary: dict) -> dict:
        # A complete lab-watched run names a best epoch (runstore.schema); a fit that ran no epoch
        # saved the weights it started with, recorded as epoch 0 of 0 epochs run.
        return summary if summary["best_epoch"] is not None else {**summary, "best_epoch": 0}

    def _test_set(self) -> tuple[np.ndarray, np.ndarray, dict]:
        if self.test_data is not None:
            images, labels = self.test_data
            return images, labels, {"source": "test_data given to LabCallback", "test_images": int(len(labels))}
        from training.data import load_test_set, resolve_data_folder

        images, labels = load_test_set(self.data_dir)
        return images, labels, {"source": str(resolve_data_folder(self.data_dir, allow_download=False)), "test_images": int(len(labels))}

    def mark_failed(self, reason: str) -> None:
        """Mark a run that is still running as failed with ``reason``; nothing happens once it has ended."""
        if self.state != STATUS_RUNNING:
            return
        self.state = STATUS_FAILED
        self.record.fail(reason)

    def _interrupted(self, how: str) -> None:
        last = self.rows[-1]["epoch"] + 1 if self.rows else 0
        self.mark_failed(f"interrupted: {how} before fit finished (after {last} finished epoch(s)); "
                         "no model was saved. Run fit again with a LabCallback to log a complete run.")


def _checked_test_data(test_data, preprocessing: str) -> tuple[np.ndarray, np.ndarray]:
    """``(images, labels)`` checked: raw pixels, as many labels as images."""
    try:
        images, labels = test_data
    except (TypeError, ValueError):
        raise ValueError("test_data must be a pair (images, labels)") from None
    images, labels = np.asarray(images), np.asarray(labels)
    if images.ndim != 4 or images.shape[-1] != 3 or len(images) != len(labels) or not len(images):
        raise ValueError(f"test_data must hold images (N, H, W, 3) and N labels, got {images.shape} and {labels.shape}")
    if images.max() <= 1.0 and preprocessing != "raw":
        raise ValueError(
            "test_data images lie within 0-1, so they look scaled already. Pass the raw 0-255 pixels: "
            f"LabCallback applies preprocessing={preprocessing!r} itself, as the dashboard will."
        )
    return images, labels


def _learning_rate(model) -> float:
    """The optimizer's current learning rate as a float (0.0 when the model has no optimizer)."""
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        return 0.0
    return float(keras.ops.convert_to_numpy(optimizer.learning_rate))


# ---------------------------------------------------------------------- guards


def _register_guards(callback: LabCallback) -> None:
    """Arrange for ``callback`` to mark its run interrupted if fit never reaches on_train_end."""
    callback._atexit = lambda: callback._interrupted("the process ended")
    atexit.register(callback._atexit)
    shell = _ipython()
    if shell is not None:
        def after_cell(result=None):
            error = getattr(result, "error_in_exec", None)
            how = f"{type(error).__name__} in the notebook cell" if error is not None else "the notebook cell ended"
            callback._interrupted(how)
            _unregister_guards(callback)

        callback._after_cell = after_cell
        shell.events.register("post_run_cell", after_cell)


def _unregister_guards(callback: LabCallback) -> None:
    handler = getattr(callback, "_atexit", None)
    if handler is not None:
        atexit.unregister(handler)
        callback._atexit = None
    after_cell = getattr(callback, "_after_cell", None)
    shell = _ipython()
    if after_cell is not None and shell is not None:
        try:
            shell.events.unregister("post_run_cell", after_cell)
        except ValueError:
            pass
        callback._after_cell = None


def _ipython():
    """The running IPython shell (Jupyter, Colab), or None in a plain script."""
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    return get_ipython()
