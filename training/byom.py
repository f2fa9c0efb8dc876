"""What an imported model and a ``LabCallback`` run share: checking the model's shape, evaluating
it on the test set with its own preprocessing, and turning logits into probabilities.

A model trained outside the lab may expect any square input size and any of the
preprocessing modes of ``runstore.preprocessing``, and may end in logits. Test
images go through the lab's own evaluation pipeline (``training.pipeline``:
float pixels, bilinear resize to the model's side), then the model's
preprocessing, then the model, so the accuracy recorded is the one the dashboard
will reproduce.

Usage::

    from training.byom import evaluate_on_test_set
    result = evaluate_on_test_set(model, images, labels, preprocessing="unit")
    result.probs, result.accuracy, result.outputs  # outputs: "probabilities" or "logits"
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from training.data import NUM_CLASSES
from runstore.preprocessing import apply_preprocessing, check_preprocessing

EVAL_BATCH_SIZE = 256
# A softmax row sums to 1 within float32 round-off; anything further off is not one.
PROBABILITY_SUM_TOLERANCE = 1e-3


@dataclass(frozen=True)
class Evaluation:
    """Test-set result: probabilities (N, 10), what the model emitted, accuracy and cross-entropy."""

    probs: np.ndarray
    outputs: str
    accuracy: float
    loss: float


def image_input_side(model) -> int:
    """The side of the square channels-last RGB input of ``model``; ``ValueError`` saying what is wrong otherwise."""
    if len(model.inputs) != 1:
        raise ValueError(f"the model has {len(model.inputs)} inputs; a CIFAR-10 classifier takes one image")
    shape = tuple(model.inputs[0].shape)
    if len(shape) != 4:
        raise ValueError(f"its input shape {shape} is not an image batch (expected (None, side, side, 3))")
    _, height, width, channels = shape
    if channels != 3 and height == 3:
        raise ValueError(f"its input shape {shape} is channels-first; the lab feeds channels-last (side, side, 3) images")
    if channels != 3:
        raise ValueError(f"its input shape {shape} does not take RGB images (3 channels last)")
    if height is None or width is None or height != width:
        raise ValueError(f"its input shape {shape} is not a fixed square size such as (32, 32, 3)")
    return int(height)


def check_class_output(model) -> None:
    """``ValueError`` unless ``model`` has one output of 10 values per image (the CIFAR-10 classes)."""
    if len(model.outputs) != 1:
        raise ValueError(f"the model has {len(model.outputs)} outputs; a CIFAR-10 classifier has one")
    shape = tuple(model.outputs[0].shape)
    if len(shape) != 2 or shape[-1] != NUM_CLASSES:
        raise ValueError(f"its output shape {shape} is not one score per CIFAR-10 class (expected (None, {NUM_CLASSES}))")


def to_probabilities(outputs: np.ndarray) -> tuple[np.ndarray, str]:
    """``(probs, kind)``: ``outputs`` unchanged when every row is a probability vector, else their softmax."""
    outputs = np.asarray(outputs, dtype=np.float64)
    if not np.all(np.isfinite(outputs)):
        raise ValueError("the model produced NaN or infinite outputs on the test images")
    sums = outputs.sum(axis=1)
    if np.all(outputs >= 0) and np.all(np.abs(sums - 1.0) <= PROBABILITY_SUM_TOLERANCE):
        return outputs.astype(np.float32), "probabilities"
    shifted = np.exp(outputs - outputs.max(axis=1, keepdims=True))
    return (shifted / shifted.sum(axis=1, keepdims=True)).astype(np.float32), "logits"


def predict_outputs(model, images: np.ndarray, preprocessing: str, batch_size: int = EVAL_BATCH_SIZE,
                    progress: bool = True, on_batch=None) -> np.ndarray:
    """The model's raw outputs for uint8 ``images`` (N, 32, 32, 3), resized and preprocessed as it expects.

    ``on_batch(done, total)``, when given, is called after every batch (the import's progress file).
    """
    from tqdm.auto import tqdm

    from training.pipeline import make_eval_dataset

    check_preprocessing(preprocessing)
    side = image_input_side(model)
    dataset = make_eval_dataset(images, None, batch_size, side)
    outputs, done = [], 0
    with tqdm(total=len(images), desc="Test images", unit="img", disable=not progress, leave=False) as bar:
        for pixels, _ in dataset:
            batch = apply_preprocessing(pixels.numpy(), preprocessing)
            outputs.append(np.asarray(model.predict_on_batch(batch)))
            bar.update(len(batch))
            done += len(batch)
            if on_batch is not None:
                on_batch(done, len(images))
    return np.concatenate(outputs) if outputs else np.zeros((0, NUM_CLASSES), dtype=np.float32)


def evaluate_on_test_set(model, images: np.ndarray, labels: np.ndarray, preprocessing: str,
                         progress: bool = True, on_batch=None) -> Evaluation:
    """Probabilities, output kind, accuracy and cross-entropy of ``model`` on ``images``/``labels``.

    ``on_batch(done, total)`` is called after every batch (see ``predict_outputs``).
    """
    from training.evaluate import test_metrics

    probs, kind = to_probabilities(predict_outputs(model, images, preprocessing, progress=progress, on_batch=on_batch))
    accuracy, loss = test_metrics(np.asarray(labels), probs)
    return Evaluation(probs=probs, outputs=kind, accuracy=accuracy, loss=loss)


def model_for_dashboard(model, outputs: str):
    """The model the run folder keeps: ``model`` itself, or ``model`` followed by a softmax when it emits logits.

    The dashboard reads a model's output as probabilities; the appended
    ``Softmax`` layer makes that true, and Grad-CAM still finds the logits there.
    """
    if outputs != "logits":
        return model
    import keras

    probabilities = keras.layers.Softmax(name="probabilities_added_by_lab")(model.outputs[0])
    return keras.Model(model.inputs, probabilities, name=model.name)


def as_labels(y: np.ndarray) -> np.ndarray:
    """Integer labels from integer or one-hot ``y``."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == NUM_CLASSES:
        return y.argmax(axis=1).astype(np.int64)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise ValueError(f"labels must be integers (N,) or one-hot (N, {NUM_CLASSES}), got shape {y.shape}")
    return y.astype(np.int64)
