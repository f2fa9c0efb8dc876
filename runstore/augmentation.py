"""The augmentation strengths: one table that training applies and the dashboard previews.

``training.pipeline.make_augmenter`` builds Keras layers from it and
``analysis.augment`` redraws the same transforms in NumPy/SciPy, so the Data
page shows exactly what a run trained on. It lives here, in the shared
contract, because the reading side never imports ``training``.

Usage::

    from runstore.augmentation import AUGMENTATION_STRENGTHS
    strength = AUGMENTATION_STRENGTHS["light"]
    strength.shift_fraction  # 0.0625: up to 2 pixels each way on 32x32
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AugmentationStrength:
    """One augmentation recipe; every fraction is 0 when that transform is off.

    ``shift_fraction`` and ``zoom_fraction`` are fractions of the image side,
    ``rotation_fraction`` a fraction of a full turn (Keras's conventions).
    ``interpolation`` is how shifted pixels are sampled: "bilinear" or "nearest".
    """

    name: str
    flip: bool
    shift_fraction: float
    rotation_fraction: float
    zoom_fraction: float
    interpolation: str
    description: str

    def __post_init__(self):
        if self.interpolation not in ("bilinear", "nearest"):
            raise ValueError(f"interpolation must be 'bilinear' or 'nearest', got {self.interpolation!r}")


AUGMENTATION_STRENGTHS: dict[str, AugmentationStrength] = {
    # The study's: flip, shift, small rotation and zoom, borders mirrored.
    "standard": AugmentationStrength(
        name="standard",
        flip=True,
        shift_fraction=0.1,      # up to 3 pixels each way on 32x32
        rotation_fraction=0.04,  # up to about 14 degrees
        zoom_fraction=0.1,       # up to 10% in or out
        interpolation="bilinear",
        description="flipped left-right half the time, shifted up to 3 pixels, turned up to about 14° and "
                    "zoomed up to 10% (borders mirrored)",
    ),
    # What the CIFAR-10 speed records use for short runs (airbench: flip and 2-pixel translate).
    # Nearest-pixel sampling: whole-pixel shifts that keep edges sharp, as airbench's crops do.
    "light": AugmentationStrength(
        name="light",
        flip=True,
        shift_fraction=2 / 32,   # up to 2 pixels each way on 32x32
        rotation_fraction=0.0,
        zoom_fraction=0.0,
        interpolation="nearest",
        description="flipped left-right half the time and shifted by whole pixels, up to 2 (borders mirrored)",
    ),
}


def augmentation_strength(name: str) -> AugmentationStrength:
    """The strength called ``name``; a ``ValueError`` listing the valid names otherwise."""
    if name not in AUGMENTATION_STRENGTHS:
        raise ValueError(f"Unknown augmentation {name!r}; valid: {', '.join(AUGMENTATION_STRENGTHS)}")
    return AUGMENTATION_STRENGTHS[name]
