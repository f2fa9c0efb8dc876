"""From an image to class probabilities: the exact model input, batched inference, top-k, votes, latency.

Every model the lab trains takes raw RGB pixels (float32, 0-255) at its input
size and scales them itself (its run records ``preprocessing: raw``), so
preparing an input means cropping and resizing, and then, for a run that
records another mode, ``runstore.preprocessing.apply_preprocessing`` right
before the model is called (``predict_probs(..., preprocessing=mode)``):

1. centre-crop the upload to a square (CIFAR-10 images are square; squashing a
   wide photo would distort every shape the model learnt);
2. resize to 32 x 32, the CIFAR-10 domain, with high-quality downsampling
   (Pillow's Lanczos with ``reducing_gap``: box-reduce first, then Lanczos);
3. for a 224-pixel model, upsample those 32 x 32 pixels with
   ``tf.image.resize(..., method="bilinear")`` exactly as
   ``training.pipeline`` does, so the model sees what it saw in training.

Usage::

    from serving.predict import predict_probs, to_model_input, top_k
    batch = np.stack([to_model_input(image, input_size=32)])
    probs = predict_probs(model, batch)
    top_k(probs[0])  # [("cat", 0.71), ("dog", 0.20), ("frog", 0.03)]
"""

from __future__ import annotations

import threading
import time
import weakref
from collections import Counter

import numpy as np
from PIL import Image

from runstore.cifar import CLASS_NAMES
from runstore.preprocessing import RAW, apply_preprocessing

CIFAR_SIZE = 32
# Large enough to keep a CPU busy, small enough to bound memory at 224 px
# (64 x 224 x 224 x 3 float32 is about 38 MB).
DEFAULT_CHUNK_SIZE = 64
# Box-reduce to at most this many times the target before the Lanczos pass:
# nearly Lanczos quality at a fraction of the cost on large photos.
REDUCING_GAP = 3.0


def to_model_input(image, input_size: int) -> np.ndarray:
    """The exact input a model of ``input_size`` sees for ``image``: float32 (size, size, 3) in 0-255.

    ``image`` is a PIL image (any size; see the module docstring for the crop
    and resize) or a uint8 array of shape (H, W, 3), such as a CIFAR-10 test
    image. ``input_size`` is 32 or any larger side the model expects.
    """
    if not isinstance(input_size, (int, np.integer)) or input_size < 1:
        raise ValueError(f"input_size must be a positive integer, got {input_size!r}")
    pixels = _cifar_pixels(image)
    if input_size == CIFAR_SIZE:
        return pixels.astype(np.float32)
    return _upsample_like_training(pixels, int(input_size))


def _cifar_pixels(image) -> np.ndarray:
    """``image`` as uint8 (32, 32, 3): centre-cropped to a square and resized."""
    if isinstance(image, np.ndarray):
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"Expected a uint8 array of shape (H, W, 3), got {image.dtype} {image.shape}")
        if image.shape[:2] == (CIFAR_SIZE, CIFAR_SIZE):
            return image
        image = Image.fromarray(image)
    if not isinstance(image, Image.Image):
        raise ValueError(f"Expected a PIL image or a uint8 array, got {type(image).__name__}")
    if image.mode != "RGB":
        image = image.convert("RGB")
    width, height = image.size
    side = min(width, height)
    left, top = (width - side) // 2, (height - side) // 2
    square = image.crop((left, top, left + side, top + side))
    small = square.resize((CIFAR_SIZE, CIFAR_SIZE), Image.Resampling.LANCZOS, reducing_gap=REDUCING_GAP)
    return np.asarray(small, dtype=np.uint8)


def _upsample_like_training(pixels: np.ndarray, input_size: int) -> np.ndarray:
    """Bilinear upsampling identical to ``training.pipeline`` (float32 pixels, tf.image.resize)."""
    import tensorflow as tf  # imported here: 32-pixel models never need it for preprocessing

    resized = tf.image.resize(tf.cast(pixels[None], tf.float32), (input_size, input_size), method="bilinear")
    return np.clip(resized.numpy()[0], 0.0, 255.0).astype(np.float32)


# One compiled inference function per model, dropped when the model is.
_COMPILED: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
_COMPILED_LOCK = threading.Lock()


def _inference_function(model):
    """A ``tf.function`` calling ``model`` in inference mode, traced once per input shape and reused."""
    with _COMPILED_LOCK:
        function = _COMPILED.get(model)
        if function is None:
            import tensorflow as tf

            # A weak reference, so the cached function does not keep its model
            # (the dictionary key) alive forever. reduce_retracing: a new batch
            # size (the last, partial chunk) does not trigger a trace every time.
            model_reference = weakref.ref(model)
            function = tf.function(lambda batch: model_reference()(batch, training=False), reduce_retracing=True)
            _COMPILED[model] = function
        return function


def predict_probs(model, batch: np.ndarray, chunk_size: int = DEFAULT_CHUNK_SIZE, preprocessing: str = RAW) -> np.ndarray:
    """Class probabilities (N, 10) float32 for a batch of model inputs (N, H, W, 3) in 0-255.

    ``preprocessing`` is the run's mode (``runstore.preprocessing.run_preprocessing``):
    pixels are prepared that way before the model sees them; ``raw`` (every
    lab model, and runs recorded before the field existed) passes them as they are.
    Calls the model directly through a cached ``tf.function`` in chunks of
    ``chunk_size`` images, never ``model.predict`` image by image.
    """
    batch = np.asarray(batch)
    if batch.ndim != 4 or batch.shape[-1] != 3:
        raise ValueError(f"Expected a batch of shape (N, H, W, 3), got {batch.shape}")
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be at least 1, got {chunk_size}")
    if len(batch) == 0:
        return np.zeros((0, len(CLASS_NAMES)), dtype=np.float32)
    function = _inference_function(model)
    batch = batch.astype(np.float32, copy=False) if preprocessing == RAW else apply_preprocessing(batch, preprocessing)
    outputs = [np.asarray(function(batch[start:start + chunk_size])) for start in range(0, len(batch), chunk_size)]
    probs = np.concatenate(outputs).astype(np.float32)
    if probs.shape != (len(batch), len(CLASS_NAMES)):
        raise ValueError(f"The model returned shape {probs.shape}; expected ({len(batch)}, {len(CLASS_NAMES)})")
    return probs


def top_k(probs_row, k: int = 3) -> list[tuple[str, float]]:
    """The ``k`` most likely classes of one probability row, as (class name, probability), best first."""
    row = np.asarray(probs_row, dtype=np.float64)
    if row.shape != (len(CLASS_NAMES),):
        raise ValueError(f"Expected {len(CLASS_NAMES)} probabilities, got shape {row.shape}")
    if not 1 <= k <= len(CLASS_NAMES):
        raise ValueError(f"k must be between 1 and {len(CLASS_NAMES)}, got {k}")
    # Stable sort on the negated row: equal probabilities keep class order.
    order = np.argsort(-row, kind="stable")[:k]
    return [(CLASS_NAMES[index], float(row[index])) for index in order]


def majority_vote(answers: list[str]) -> tuple[str, int]:
    """The most common answer and how many gave it; a tie goes to the answer given first."""
    if not answers:
        raise ValueError("majority_vote needs at least one answer")
    # Counter keeps first-seen order, and most_common sorts stably.
    label, count = Counter(answers).most_common(1)[0]
    return label, count


def measure_latency(model, input_size: int, batch: int = 256, repeats: int = 5, seed: int = 0) -> dict:
    """CPU inference cost of ``model``: median milliseconds for one image and for ``batch`` images.

    Uses the same path as the app (``predict_probs``) after one warm-up call
    per shape, so tracing is not counted. Returns ``single_ms``, ``batch_ms``,
    ``images_per_second`` (from the batch timing), ``batch`` and ``repeats``.
    """
    if batch < 1 or repeats < 1:
        raise ValueError(f"batch and repeats must be at least 1, got batch={batch}, repeats={repeats}")
    rng = np.random.default_rng(seed)
    images = rng.uniform(0, 255, size=(batch, input_size, input_size, 3)).astype(np.float32)
    one = images[:1]

    def median_ms(inputs: np.ndarray) -> float:
        predict_probs(model, inputs, chunk_size=len(inputs))  # warm-up: trace and allocate
        timings = []
        for _ in range(repeats):
            start = time.perf_counter()
            predict_probs(model, inputs, chunk_size=len(inputs))
            timings.append((time.perf_counter() - start) * 1000.0)
        return float(np.median(timings))

    single_ms = median_ms(one)
    batch_ms = median_ms(images)
    return {
        "single_ms": single_ms,
        "batch_ms": batch_ms,
        "images_per_second": batch / (batch_ms / 1000.0),
        "batch": batch,
        "repeats": repeats,
    }
