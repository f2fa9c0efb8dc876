"""Test-set evaluation: the trainer's last step, and ``python -m training evaluate RUN`` to redo it.

``predict_test_set`` gives a trained model's class probabilities for the test
images, with the run's test-time augmentation (mirror, 1-pixel shifts), from
pixels or from cached frozen-base features; ``test_metrics`` turns them into
run.json's test figures (``runstore.writer`` writes the files).
``evaluate_run`` loads a saved ``model.keras`` (safe mode, after checking its
SHA-256 against run.json), predicts the test images again the same way, and
rewrites ``predictions.npz`` and the test figures in ``run.json``.

Usage::

    python -m training evaluate simple_cnn-20260101-120000
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Callable

import numpy as np

from runstore import MODEL_FILE, RUN_FILE, resolve_artifacts_dir, run_dir
from runstore.writer import RunRecord, write_predictions
from runstore.errors import BrokenRun
from runstore.reader import read_run_record


# Images per prediction batch: evaluation keeps no gradients, so it affords larger batches than training.
PREDICT_BATCH_SIZE = 256


class EvaluationError(RuntimeError):
    """A run cannot be re-evaluated; the message says why and what to do."""


def translated_views(x: np.ndarray, pixels: int = 1) -> list[np.ndarray]:
    """``x`` (N, H, W, C) shifted ``pixels`` towards the top-left and towards the bottom-right, edges reflected."""
    height, width = x.shape[1:3]
    padded = np.pad(x, ((0, 0), (pixels, pixels), (pixels, pixels), (0, 0)), mode="reflect")
    return [padded[:, :height, :width], padded[:, 2 * pixels:, 2 * pixels:]]


def predict_probabilities(predict: Callable, x: np.ndarray, flip_predict: Callable | None = None, translate: bool = False) -> np.ndarray:
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


def predict_pixels(model, x: np.ndarray, input_size: int, tta_flip: bool, tta_translate: bool, verbose: int = 0) -> np.ndarray:
    """``model``'s class probabilities for raw pixels ``x``, resized to ``input_size``, with the asked-for TTA."""
    from training.pipeline import make_eval_dataset  # TensorFlow only when predicting

    def predict(images, flip=False):
        return model.predict(make_eval_dataset(images, None, PREDICT_BATCH_SIZE, input_size, flip=flip), verbose=verbose)

    return predict_probabilities(predict, x, (lambda images: predict(images, flip=True)) if tta_flip else None, translate=tta_translate)


def predict_test_set(built, x_test: np.ndarray, input_size: int, tta_flip: bool, tta_translate: bool, cache=None,
                     verbose: int = 0) -> np.ndarray:
    """Class probabilities of a trained ``BuiltModel`` for ``x_test``, from cached base features when ``cache`` is given.

    The cached path runs only the head on the frozen base's features of the plain and
    mirrored test images (translation TTA needs pixels: the config refuses it there).
    """
    if cache is None:
        return predict_pixels(built.model, x_test, input_size, tta_flip, tta_translate, verbose)

    def predict_head(images, variant="plain"):
        return built.head.predict(cache.features(images, variant), batch_size=PREDICT_BATCH_SIZE, verbose=verbose)

    return predict_probabilities(predict_head, x_test, (lambda images: predict_head(images, "mirrored")) if tta_flip else None)


def test_metrics(y_true: np.ndarray, probs: np.ndarray) -> tuple[float, float]:
    """(accuracy, categorical cross-entropy) of ``probs`` against integer labels ``y_true``."""
    accuracy = float(np.mean(np.argmax(probs, axis=1) == y_true))
    picked = np.clip(probs[np.arange(len(y_true)), y_true], 1e-7, 1.0)
    return accuracy, float(-np.mean(np.log(picked)))


def find_run_folder(run: str, artifacts_dir: str | None = None) -> Path:
    """``run`` as a run folder path, else as a run id under the artifacts folder."""
    candidate = Path(run).expanduser()
    if (candidate / RUN_FILE).is_file():
        return candidate
    try:
        folder = run_dir(resolve_artifacts_dir(artifacts_dir), run)
    except ValueError as error:
        raise EvaluationError(f"{run!r} is neither a run folder nor a valid run id: {error}") from None
    if not (folder / RUN_FILE).is_file():
        raise EvaluationError(f"No run {run!r} in {folder.parent}. List runs with: ls {folder.parent}")
    return folder


def evaluate_run(run: str, artifacts_dir: str | None = None, data_dir: str | None = None, verbose: int = 1) -> dict:
    """Recompute the test predictions of ``run`` from its saved model; return the updated run.json payload."""
    import keras

    import labkeras.layers  # noqa: F401  (custom layers must be registered before loading)
    from training.data import load_test_set

    folder = find_run_folder(run, artifacts_dir)
    try:
        run_record = RunRecord.load(folder)
    except BrokenRun as error:
        raise EvaluationError(f"Run {folder.name} cannot be evaluated: {error}") from None
    record = run_record.fields
    model_path = folder / MODEL_FILE
    if not model_path.is_file():
        raise EvaluationError(f"Run {folder.name} has no {MODEL_FILE}; train it to completion first.")
    expected = record.get("model_sha256")
    actual = hashlib.sha256(model_path.read_bytes()).hexdigest()
    if expected and expected != actual:
        raise EvaluationError(f"{model_path} does not match the SHA-256 recorded in run.json; refusing to load a changed model.")
    model = keras.saving.load_model(model_path, safe_mode=True)

    config = record.get("config", {})
    x_test, y_test = load_test_set(data_dir or config.get("data_dir"))
    if config.get("test_limit"):
        x_test, y_test = x_test[: config["test_limit"]], y_test[: config["test_limit"]]
    input_size = int(model.input_shape[1])
    print(f"Evaluating {folder.name} on {len(y_test)} test images", flush=True)
    probs = predict_pixels(model, x_test, input_size, bool(config.get("tta_flip")), bool(config.get("tta_translate")), verbose)
    accuracy, loss = test_metrics(y_test, probs)
    write_predictions(folder, y_test, probs)
    run_record.update(
        test_accuracy=accuracy, test_loss=loss,
        evaluation={"tta_flip": bool(config.get("tta_flip")), "tta_translate": bool(config.get("tta_translate")),
                    "from_cached_features": False, "re_evaluated": True},
        data={**record.get("data", {}), "test_images": int(len(y_test))},
    )
    print(f"{folder.name}: test accuracy {accuracy:.4f}, test loss {loss:.4f}", flush=True)
    return read_run_record(folder)
