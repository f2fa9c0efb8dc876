"""Input pipelines: cached-feature batches (shuffle, flip variants) and the two augmentation strengths."""

import numpy as np
import pytest
import tensorflow as tf

from training.config import ConfigError, RunConfig
from training.pipeline import make_augmenter, make_feature_dataset, make_train_dataset


def _tagged_features(count):
    """Plain rows hold +index, mirrored rows -index, so every output row says which image and variant it is."""
    index = np.arange(1, count + 1, dtype=np.float32)
    plain = np.repeat(index[:, None], 3, axis=1)
    return plain, -plain, (np.arange(count) % 10).astype(np.int64)


def _epoch(dataset):
    rows, labels = [], []
    for features, onehot in dataset:
        rows.append(features.numpy())
        labels.append(onehot.numpy())
    return np.concatenate(rows), np.concatenate(labels)


def test_feature_batches_keep_rows_and_labels_together_and_reshuffle_each_epoch():
    plain, _, y = _tagged_features(50)
    dataset = make_feature_dataset(plain, None, y, batch_size=8, seed=3, shuffle=True)
    first, first_labels = _epoch(dataset)
    second, _ = _epoch(dataset)
    image = first[:, 0].astype(int) - 1
    assert sorted(image) == list(range(50))                       # every image once per epoch
    np.testing.assert_array_equal(first_labels.argmax(axis=1), y[image])
    assert not np.array_equal(first[:, 0], second[:, 0])           # a new order every epoch
    again, _ = _epoch(make_feature_dataset(plain, None, y, batch_size=8, seed=3, shuffle=True))
    np.testing.assert_array_equal(again, first)                    # seeded: the same first epoch


def test_unshuffled_feature_batches_keep_order():
    plain, _, y = _tagged_features(20)
    rows, labels = _epoch(make_feature_dataset(plain, None, y, batch_size=6, seed=0, shuffle=False))
    np.testing.assert_array_equal(rows, plain)
    np.testing.assert_array_equal(labels.argmax(axis=1), y)


def test_flip_variants_are_mixed_per_image_and_per_epoch():
    plain, mirrored, y = _tagged_features(400)
    dataset = make_feature_dataset(plain, mirrored, y, batch_size=32, seed=1, shuffle=True)
    first, labels = _epoch(dataset)
    second, _ = _epoch(dataset)
    image = np.abs(first[:, 0]).astype(int) - 1
    assert sorted(image) == list(range(400))
    np.testing.assert_array_equal(labels.argmax(axis=1), y[image])
    mirrored_share = np.mean(first[:, 0] < 0)
    assert 0.4 < mirrored_share < 0.6                               # a fair coin per image
    first_choice = dict(zip(np.abs(first[:, 0]), first[:, 0] < 0))
    second_choice = dict(zip(np.abs(second[:, 0]), second[:, 0] < 0))
    assert 0.3 < np.mean([first_choice[key] != second_choice[key] for key in first_choice]) < 0.7


def test_mismatched_variants_are_refused():
    plain, mirrored, y = _tagged_features(10)
    with pytest.raises(ValueError, match="differ in shape"):
        make_feature_dataset(plain, mirrored[:5], y, batch_size=4, seed=0, shuffle=False)


def test_light_augmentation_shifts_by_at_most_two_pixels_and_never_rotates():
    # A single bright pixel: after a flip and a shift of up to 2 pixels it stays one bright pixel
    # within 2 rows of where it was (rotation or zoom would blur or move it further).
    image = np.zeros((1, 32, 32, 3), dtype=np.float32)
    image[0, 16, 10] = 255.0
    augmenter = make_augmenter(seed=0, augmentation="light")
    rows = set()
    for _ in range(20):
        out = augmenter(tf.constant(image), training=True).numpy()[0, :, :, 0]
        row, col = np.unravel_index(np.argmax(out), out.shape)
        assert out.max() == pytest.approx(255.0, rel=1e-3)
        assert abs(row - 16) <= 2 and (abs(col - 10) <= 2 or abs(col - 21) <= 2)
        rows.add(row)
    assert len(rows) > 1  # it does shift


def test_unknown_augmentation_is_refused_with_the_valid_choices():
    with pytest.raises(ValueError, match="standard, light"):
        make_augmenter(0, "heavy")
    with pytest.raises(ConfigError, match="Valid augmentations: standard, light"):
        RunConfig.from_dict({"model": "simple_cnn", "augmentation": "heavy"})


def test_fast_cnn_recipe_uses_light_augmentation_and_train_dataset_accepts_it():
    assert RunConfig.from_dict({"model": "fast_cnn"}).augmentation == "light"
    assert RunConfig.from_dict({"model": "simple_cnn"}).augmentation == "standard"
    x = np.random.default_rng(0).integers(0, 255, (10, 32, 32, 3)).astype(np.uint8)
    batch, labels = next(iter(make_train_dataset(x, np.arange(10) % 10, 5, 32, True, 0, "light")))
    assert batch.shape == (5, 32, 32, 3) and labels.shape == (5, 10)
