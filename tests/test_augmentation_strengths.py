"""One augmentation table: training's Keras layers and the Data page's preview use the same strengths.

The preview (analysis.augment, NumPy/SciPy) and training (training.pipeline, Keras) both
read runstore.augmentation; here both augment the same single bright pixel many times and
must move and blur it alike, for every strength a run can be configured with.
"""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from analysis.augment import augment_preview
from runstore.augmentation import AUGMENTATION_STRENGTHS
from training.config import AUGMENTATIONS
from training.pipeline import make_augmenter

DRAWS = 200
ROW, COLUMN, SIDE = 8, 24, 32  # off-centre, so rotation and zoom move it too


def _bright_pixel_images() -> np.ndarray:
    images = np.zeros((DRAWS, SIDE, SIDE, 3), dtype=np.uint8)
    images[:, ROW, COLUMN] = 255
    return images


def _movement(augmented: np.ndarray) -> tuple[float, float, float]:
    """(largest, mean) distance the bright pixel moved, flips allowed for, and the share of draws it stayed sharp."""
    distances, sharp = [], []
    for image in augmented[..., 0]:
        row, column = np.unravel_index(np.argmax(image), image.shape)
        mirrored = SIDE - 1 - COLUMN
        distances.append(min(np.hypot(row - ROW, column - COLUMN), np.hypot(row - ROW, column - mirrored)))
        sharp.append(image.max() >= 254)
    return max(distances), float(np.mean(distances)), float(np.mean(sharp))


def test_every_configurable_augmentation_has_one_strength_in_the_shared_table():
    assert set(AUGMENTATIONS) == set(AUGMENTATION_STRENGTHS)


@pytest.mark.parametrize("name", AUGMENTATIONS)
def test_training_layers_are_built_from_the_shared_table(name):
    strength = AUGMENTATION_STRENGTHS[name]
    configs = {type(layer).__name__: layer.get_config() for layer in make_augmenter(seed=0, augmentation=name).layers}
    assert ("RandomFlip" in configs) == strength.flip
    translation = configs["RandomTranslation"]
    assert translation["height_factor"] == translation["width_factor"] == pytest.approx(strength.shift_fraction)
    assert translation["interpolation"] == strength.interpolation
    rotation = configs.get("RandomRotation", {"factor": (0.0, 0.0)})["factor"]
    assert max(abs(value) for value in rotation) == pytest.approx(strength.rotation_fraction)
    assert configs.get("RandomZoom", {"height_factor": 0.0})["height_factor"] == pytest.approx(strength.zoom_fraction)


@pytest.mark.parametrize("name", AUGMENTATIONS)
def test_preview_moves_and_blurs_a_pixel_as_training_does(name):
    images = _bright_pixel_images()
    trained = make_augmenter(seed=0, augmentation=name)(tf.constant(images.astype(np.float32)), training=True).numpy()
    previewed = augment_preview(images, seed=0, augmentation=name)
    train_largest, train_mean, train_sharp = _movement(trained)
    preview_largest, preview_mean, preview_sharp = _movement(previewed)
    assert preview_largest == pytest.approx(train_largest, abs=1.0)
    assert preview_mean == pytest.approx(train_mean, abs=0.3)
    assert preview_sharp == pytest.approx(train_sharp, abs=0.1)


def test_light_preview_only_flips_and_shifts_by_whole_pixels_up_to_two():
    largest, _, sharp = _movement(augment_preview(_bright_pixel_images(), seed=0, augmentation="light"))
    assert largest <= np.hypot(2, 2) + 1e-9 and sharp == 1.0


def test_unknown_augmentation_preview_is_refused_with_the_valid_names():
    with pytest.raises(ValueError, match="valid: standard, light"):
        augment_preview(_bright_pixel_images(), augmentation="heavy")
