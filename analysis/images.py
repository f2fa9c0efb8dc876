"""Image helpers for galleries: upscaling without blur, grids, and picking images per class."""

from __future__ import annotations

import numpy as np


def upscale_nearest(image: np.ndarray, scale: int) -> np.ndarray:
    """``image`` (H, W[, C]) enlarged ``scale`` times by repeating pixels (no blur).

    Browsers smooth small images when they stretch them, which turns a 32x32
    CIFAR image into mush; sending pixels already enlarged keeps them sharp.
    """
    if not isinstance(scale, (int, np.integer)) or scale < 1:
        raise ValueError(f"scale must be a positive integer, got {scale!r}")
    image = np.asarray(image)
    if image.ndim not in (2, 3):
        raise ValueError(f"image must have shape (H, W) or (H, W, C), got {image.shape}")
    return np.repeat(np.repeat(image, scale, axis=0), scale, axis=1)


def to_display_uint8(image: np.ndarray) -> np.ndarray:
    """A model input (float 0..255) as uint8 pixels, clipped, for showing it as a picture."""
    return np.clip(np.rint(np.asarray(image, dtype=np.float64)), 0, 255).astype(np.uint8)


def image_grid(images: np.ndarray, columns: int, padding: int = 2, background: int = 255) -> np.ndarray:
    """Tile ``images`` (N, H, W, C) into one picture with ``columns`` per row and a ``padding`` gap."""
    images = np.asarray(images)
    if images.ndim != 4:
        raise ValueError(f"images must have shape (N, H, W, C), got {images.shape}")
    if columns < 1:
        raise ValueError(f"columns must be at least 1, got {columns}")
    count, height, width, channels = images.shape
    rows = max(1, -(-count // columns))
    grid = np.full(
        (rows * height + (rows + 1) * padding, columns * width + (columns + 1) * padding, channels),
        background, dtype=images.dtype,
    )
    for index in range(count):
        row, column = divmod(index, columns)
        top = padding + row * (height + padding)
        left = padding + column * (width + padding)
        grid[top:top + height, left:left + width] = images[index]
    return grid


def first_per_class(labels: np.ndarray, per_class: int, num_classes: int = 10) -> np.ndarray:
    """Indices of the first ``per_class`` images of every class, as a (classes, per_class) array.

    The first ones (not random ones) so the grid is the same on every visit.
    A class with too few images raises ``ValueError``.
    """
    labels = np.asarray(labels)
    rows = []
    for label in range(num_classes):
        members = np.flatnonzero(labels == label)[:per_class]
        if len(members) < per_class:
            raise ValueError(f"class {label} has only {len(members)} images, {per_class} needed")
        rows.append(members)
    return np.stack(rows)
