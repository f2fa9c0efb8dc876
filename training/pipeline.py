"""``tf.data`` input pipelines: NumPy images in, batches of model-ready pixels out.

Training: seeded shuffle, batch, then augmentation as a parallel ``map`` over
whole batches (random flip, shift, small rotation and zoom; switchable),
resizing to the model's input size, one-hot labels, and ``prefetch`` so the
model never waits. Evaluation: the same without shuffling or augmentation.
Pixels stay float32 in 0-255: scaling is the model's first layer.

Usage::

    from training.pipeline import make_train_dataset, make_eval_dataset
    train = make_train_dataset(x_train, y_train, batch_size=64, input_size=32, augment=True, seed=0)
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from runstore.augmentation import augmentation_strength
from training.data import NUM_CLASSES

AUTOTUNE = tf.data.AUTOTUNE


def make_augmenter(seed: int, augmentation: str = "standard") -> "tf.keras.Sequential":
    """Random augmentation of a batch of float pixels inside ``tf.data``.

    ``standard``: flip, shift, small rotation and zoom (the study's). ``light``: flip
    and a shift of up to 2 pixels, which a run of a few epochs learns faster from.
    """
    import keras
    from keras import layers

    # The strengths live in runstore so the dashboard's preview (analysis.augment) uses the same ones.
    strength = augmentation_strength(augmentation)  # a ValueError listing the valid names
    if augmentation == "light":
        return keras.Sequential(
            [
                layers.RandomFlip("horizontal", seed=seed),
                # Nearest-pixel sampling: whole-pixel shifts that keep edges sharp, as airbench's crops do.
                layers.RandomTranslation(
                    strength.shift_fraction, strength.shift_fraction, fill_mode="reflect",
                    interpolation=strength.interpolation, seed=seed + 1,
                ),
            ],
            name="light_augmentation",
        )
    return keras.Sequential(
        [
            layers.RandomFlip("horizontal", seed=seed),
            layers.RandomTranslation(strength.shift_fraction, strength.shift_fraction, fill_mode="reflect", seed=seed + 1),
            layers.RandomRotation(strength.rotation_fraction, fill_mode="reflect", seed=seed + 2),
            layers.RandomZoom(strength.zoom_fraction, fill_mode="reflect", seed=seed + 3),
        ],
        name="augmentation",
    )


def _to_model_input(images, labels, input_size: int):
    """Cast to float pixels, resize when the model wants another size, one-hot the labels."""
    pixels = tf.cast(images, tf.float32)
    if input_size != pixels.shape[1]:
        pixels = tf.image.resize(pixels, (input_size, input_size), method="bilinear")
    return pixels, tf.one_hot(labels, NUM_CLASSES)


def make_train_dataset(
    x: np.ndarray, y: np.ndarray, batch_size: int, input_size: int, augment: bool, seed: int,
    augmentation: str = "standard",
) -> tf.data.Dataset:
    """Shuffled (seeded, reshuffled every epoch), optionally augmented (``make_augmenter``), batched and prefetched."""
    if len(x) != len(y):
        raise ValueError(f"x and y differ in length: {len(x)} images, {len(y)} labels")
    dataset = tf.data.Dataset.from_tensor_slices((x, y.astype(np.int32)))
    dataset = dataset.shuffle(len(x), seed=seed, reshuffle_each_iteration=True).batch(batch_size)
    if augment:
        augmenter = make_augmenter(seed, augmentation)
        # Augment whole batches: one vectorised op per batch is far cheaper than per image.
        dataset = dataset.map(
            lambda images, labels: (augmenter(tf.cast(images, tf.float32), training=True), labels),
            num_parallel_calls=AUTOTUNE,
        )
    dataset = dataset.map(lambda images, labels: _to_model_input(images, labels, input_size), num_parallel_calls=AUTOTUNE)
    return dataset.prefetch(AUTOTUNE)


def make_eval_dataset(x: np.ndarray, y: np.ndarray | None, batch_size: int, input_size: int, flip: bool = False) -> tf.data.Dataset:
    """Batches in order, no augmentation; ``flip=True`` mirrors every image (for flip test-time augmentation)."""
    labels = np.zeros(len(x), dtype=np.int32) if y is None else y.astype(np.int32)
    dataset = tf.data.Dataset.from_tensor_slices((x, labels)).batch(batch_size)
    if flip:
        dataset = dataset.map(lambda images, labels: (tf.reverse(images, axis=[2]), labels), num_parallel_calls=AUTOTUNE)
    dataset = dataset.map(lambda images, labels: _to_model_input(images, labels, input_size), num_parallel_calls=AUTOTUNE)
    return dataset.prefetch(AUTOTUNE)


def make_feature_dataset(
    features: np.ndarray, flipped_features: np.ndarray | None, y: np.ndarray, batch_size: int, seed: int, shuffle: bool
) -> tf.data.Dataset:
    """Batches of cached base features; with ``flipped_features`` each image is mirrored at random (p=0.5) per epoch."""
    if flipped_features is not None and flipped_features.shape != features.shape:
        raise ValueError(f"plain and mirrored features differ in shape: {features.shape} vs {flipped_features.shape}")
    # The pipeline shuffles and batches *indices* and gathers whole batches from the arrays held
    # as tensors: slicing and shuffling thousands of feature rows one by one through tf.data
    # cost more per step than training VGG16's block 5 head itself (0.5 s vs 0.3 s per batch).
    labels = tf.one_hot(y.astype(np.int32), NUM_CLASSES)
    count = len(features)
    # One table in memory: rows [0, count) plain, rows [count, 2 * count) mirrored.
    table = tf.constant(features if flipped_features is None else np.concatenate([features, flipped_features]))
    dataset = tf.data.Dataset.range(count)
    if shuffle:
        dataset = dataset.shuffle(count, seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size)
    if flipped_features is None:
        dataset = dataset.map(lambda index: (tf.gather(table, index), tf.gather(labels, index)))
    else:
        # One fresh random number per batch (re-drawn every epoch) seeds a stateless per-image coin flip.
        coins = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)
        dataset = tf.data.Dataset.zip((dataset, coins))

        def pick_variant(index, coin):
            take_mirror = tf.random.stateless_uniform(tf.shape(index), seed=tf.stack([coin, tf.constant(seed, tf.int64)])) < 0.5
            # The cached form of RandomFlip: each image shows up plain or mirrored.
            return tf.gather(table, tf.where(take_mirror, index + count, index)), tf.gather(labels, index)

        dataset = dataset.map(pick_variant)
    return dataset.prefetch(AUTOTUNE)
