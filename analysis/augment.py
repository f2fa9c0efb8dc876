"""A NumPy/SciPy preview of the training augmentation, for the Data page.

It mirrors ``training.pipeline.make_augmenter`` (Keras RandomFlip, RandomTranslation,
RandomRotation and RandomZoom with reflected borders) with the same strengths,
so the dashboard can show what training sees without importing TensorFlow.
It is seeded, so the preview is the same on every visit until the user asks for new draws.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

# The same strengths as training/pipeline.py: fractions of the side (shift, zoom) or of a full turn.
SHIFT_FRACTION = 0.1
ROTATION_FRACTION = 0.04
ZOOM_FRACTION = 0.1


def random_transform(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One random flip / shift / rotation / zoom of ``image`` (H, W, C), same shape and dtype."""
    height, width = image.shape[:2]
    if rng.random() < 0.5:
        image = image[:, ::-1]
    shift = rng.uniform(-SHIFT_FRACTION, SHIFT_FRACTION, size=2) * np.array([height, width])
    angle = rng.uniform(-ROTATION_FRACTION, ROTATION_FRACTION) * 2 * np.pi
    zoom = 1.0 + rng.uniform(-ZOOM_FRACTION, ZOOM_FRACTION)
    # affine_transform maps output coordinates to input ones, so it takes the inverse transform.
    cosine, sine = np.cos(angle), np.sin(angle)
    inverse = np.array([[cosine, sine], [-sine, cosine]]) * zoom
    centre = np.array([(height - 1) / 2, (width - 1) / 2])
    offset = centre - inverse @ centre - shift
    channels = [
        ndimage.affine_transform(image[..., channel].astype(np.float64), inverse, offset=offset, order=1, mode="reflect")
        for channel in range(image.shape[2])
    ]
    return np.clip(np.rint(np.stack(channels, axis=-1)), 0, 255).astype(image.dtype)


def augment_preview(images: np.ndarray, seed: int = 0) -> np.ndarray:
    """``images`` (N, H, W, C) uint8 after seeded random augmentation, same shape and dtype."""
    images = np.asarray(images)
    if images.ndim != 4:
        raise ValueError(f"images must have shape (N, H, W, C), got {images.shape}")
    rng = np.random.default_rng(seed)
    return np.stack([random_transform(image, rng) for image in images]) if len(images) else images.copy()
