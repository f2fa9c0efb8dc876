"""A NumPy/SciPy preview of the training augmentation, for the Data page.

It mirrors ``training.pipeline.make_augmenter`` (Keras RandomFlip, RandomTranslation,
RandomRotation and RandomZoom with reflected borders) for every strength, reading the
strengths from the one table both sides share (``runstore.augmentation``), so the
dashboard can show what training sees without importing TensorFlow.
It is seeded, so the preview is the same on every visit until the user asks for new draws.

Usage::

    from analysis.augment import augment_preview
    preview = augment_preview(images, seed=0, augmentation="light")
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from runstore.augmentation import AugmentationStrength, augmentation_strength

# SciPy spline order for each of Keras's interpolations.
SPLINE_ORDER = {"bilinear": 1, "nearest": 0}


def random_transform(image: np.ndarray, rng: np.random.Generator, strength: AugmentationStrength) -> np.ndarray:
    """One random flip / shift / rotation / zoom of ``image`` (H, W, C) at ``strength``, same shape and dtype."""
    height, width = image.shape[:2]
    if strength.flip and rng.random() < 0.5:
        image = image[:, ::-1]
    shift = rng.uniform(-strength.shift_fraction, strength.shift_fraction, size=2) * np.array([height, width])
    angle = rng.uniform(-strength.rotation_fraction, strength.rotation_fraction) * 2 * np.pi
    zoom = 1.0 + rng.uniform(-strength.zoom_fraction, strength.zoom_fraction)
    # affine_transform maps output coordinates to input ones, so it takes the inverse transform.
    cosine, sine = np.cos(angle), np.sin(angle)
    inverse = np.array([[cosine, sine], [-sine, cosine]]) * zoom
    centre = np.array([(height - 1) / 2, (width - 1) / 2])
    offset = centre - inverse @ centre - shift
    order = SPLINE_ORDER[strength.interpolation]
    channels = [
        ndimage.affine_transform(image[..., channel].astype(np.float64), inverse, offset=offset, order=order, mode="reflect")
        for channel in range(image.shape[2])
    ]
    return np.clip(np.rint(np.stack(channels, axis=-1)), 0, 255).astype(image.dtype)


def augment_preview(images: np.ndarray, seed: int = 0, augmentation: str = "standard") -> np.ndarray:
    """``images`` (N, H, W, C) uint8 after seeded random ``augmentation``, same shape and dtype.

    ``augmentation`` is a name from ``runstore.augmentation.AUGMENTATION_STRENGTHS``
    (a ``ValueError`` listing them otherwise), as a run's config records it.
    """
    strength = augmentation_strength(augmentation)
    images = np.asarray(images)
    if images.ndim != 4:
        raise ValueError(f"images must have shape (N, H, W, C), got {images.shape}")
    rng = np.random.default_rng(seed)
    return np.stack([random_transform(image, rng, strength) for image in images]) if len(images) else images.copy()
