"""What a model expects its pixels to look like, in Keras' own vocabulary, as one NumPy table.

A stand-in with the exact name and signature of ``runstore.preprocessing``
(``apply_preprocessing(images, mode)``), which another change adds so that the
serving side reads the same table; once it lands, import it from there and
delete this module.

Modes (``images`` are RGB pixels 0-255, any leading shape, last axis the 3 channels):

- ``raw``: unchanged; the model scales its input itself (every lab model does);
- ``unit``: ``pixels / 255`` (0 to 1), what most notebooks do before ``fit``;
- ``tf``: ``pixels / 127.5 - 1`` (-1 to 1), as ``keras.applications.imagenet_utils``;
- ``caffe``: RGB turned into BGR, then the ImageNet channel means subtracted, no scaling;
- ``torch``: ``pixels / 255``, then each channel standardised by the ImageNet mean and std.

Usage::

    from training.preprocessing import apply_preprocessing
    batch = apply_preprocessing(images.astype("float32"), "unit")
"""

from __future__ import annotations

import numpy as np

PREPROCESSING_MODES = ("raw", "unit", "tf", "caffe", "torch")

# The constants of keras.applications.imagenet_utils.preprocess_input.
CAFFE_BGR_MEAN = np.array([103.939, 116.779, 123.68], dtype=np.float32)
TORCH_RGB_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
TORCH_RGB_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def check_preprocessing(mode: str) -> str:
    """Return ``mode`` if it is one of ``PREPROCESSING_MODES``, else raise ``ValueError`` listing them."""
    if mode not in PREPROCESSING_MODES:
        raise ValueError(f"Unknown preprocessing {mode!r}; valid: {', '.join(PREPROCESSING_MODES)}")
    return mode


def apply_preprocessing(images: np.ndarray, mode: str) -> np.ndarray:
    """``images`` (..., 3) in 0-255 turned into what a model of preprocessing ``mode`` expects, as float32."""
    check_preprocessing(mode)
    pixels = np.asarray(images, dtype=np.float32)
    if pixels.shape[-1:] != (3,):
        raise ValueError(f"Expected RGB images with 3 channels last, got shape {pixels.shape}")
    if mode == "raw":
        return pixels
    if mode == "unit":
        return pixels / np.float32(255.0)
    if mode == "tf":
        return pixels / np.float32(127.5) - np.float32(1.0)
    if mode == "caffe":
        return pixels[..., ::-1] - CAFFE_BGR_MEAN
    return (pixels / np.float32(255.0) - TORCH_RGB_MEAN) / TORCH_RGB_STD
