"""How pixels must be prepared before a saved model sees them: one table for both sides.

A run records its mode as ``preprocessing`` in ``run.json``; a reader calls
``apply_preprocessing(images, mode)`` on RGB pixels in 0-255 before predicting.
Every model this lab trains scales pixels itself (a layer right after the
input: the registry's ``built_in_scaling``), so lab runs record ``raw``; the other modes are those of
``keras.applications.imagenet_utils.preprocess_input``, for models that
expect their inputs already scaled.

Usage::

    from runstore.preprocessing import apply_preprocessing, run_preprocessing
    batch = apply_preprocessing(pixels, run_preprocessing(record))   # float32, same shape
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

RAW = "raw"
# mode -> what it does, in words a model card can show.
PREPROCESSING_MODES = {
    RAW: "0-255 RGB pixels as they are (the model scales them itself)",
    "unit": "pixels / 255, to 0-1",
    "tf": "pixels / 127.5 - 1, to -1..1",
    "caffe": "RGB to BGR, then the ImageNet channel means subtracted",
    "torch": "pixels / 255, then the ImageNet channel means subtracted and divided by their standard deviations",
}
# The constants of keras.applications.imagenet_utils.
CAFFE_BGR_MEANS = (103.939, 116.779, 123.68)
TORCH_RGB_MEANS = (0.485, 0.456, 0.406)
TORCH_RGB_STDS = (0.229, 0.224, 0.225)


def check_preprocessing(mode: str) -> str:
    """Return ``mode`` if it is known, else raise ``ValueError`` listing the valid modes."""
    if mode not in PREPROCESSING_MODES:
        raise ValueError(f"Unknown preprocessing {mode!r}; valid: {', '.join(PREPROCESSING_MODES)}")
    return mode


def apply_preprocessing(images, mode: str) -> np.ndarray:
    """``images`` (..., 3) RGB in 0-255 prepared as ``mode`` says, as a new float32 array."""
    check_preprocessing(mode)
    pixels = np.asarray(images, dtype=np.float32)
    if pixels.ndim < 1 or pixels.shape[-1] != 3:
        raise ValueError(f"Expected RGB images with 3 channels last, got shape {pixels.shape}")
    if mode == RAW:
        return pixels.copy()
    if mode == "unit":
        return pixels / 255.0
    if mode == "tf":
        return pixels / 127.5 - 1.0
    if mode == "caffe":
        return pixels[..., ::-1] - np.asarray(CAFFE_BGR_MEANS, dtype=np.float32)
    means, stds = np.asarray(TORCH_RGB_MEANS, dtype=np.float32), np.asarray(TORCH_RGB_STDS, dtype=np.float32)
    return (pixels / 255.0 - means) / stds


def run_preprocessing(record: Mapping) -> str:
    """The preprocessing mode of the run ``record`` describes; runs written before the field existed are ``raw``."""
    return check_preprocessing(record.get("preprocessing") or RAW)
