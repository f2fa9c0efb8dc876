"""The exact model input, batched inference, top-k, majority vote and latency measurement."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from serving.predict import majority_vote, measure_latency, predict_probs, to_model_input, top_k
from tests.factories import synthetic_test_set, tiny_model


def three_bands(width: int = 96, height: int = 32) -> Image.Image:
    """Red, blue and green vertical bands: only the blue middle survives a centre crop."""
    pixels = np.zeros((height, width, 3), dtype=np.uint8)
    third = width // 3
    pixels[:, :third] = (255, 0, 0)
    pixels[:, third:2 * third] = (0, 0, 255)
    pixels[:, 2 * third:] = (0, 255, 0)
    return Image.fromarray(pixels)


def test_a_wide_photo_is_centre_cropped_then_resized_to_32():
    model_input = to_model_input(three_bands(), input_size=32)
    assert model_input.shape == (32, 32, 3) and model_input.dtype == np.float32
    # The side bands are cropped away, not squashed in.
    np.testing.assert_allclose(model_input[:, 4:-4].mean(axis=(0, 1)), [0, 0, 255], atol=1)


def test_a_large_photo_is_downsampled_smoothly_into_0_255():
    rng = np.random.default_rng(0)
    photo = Image.fromarray(rng.integers(0, 256, size=(1200, 1600, 3), dtype=np.uint8))
    model_input = to_model_input(photo, input_size=32)
    assert model_input.shape == (32, 32, 3)
    assert 0.0 <= model_input.min() and model_input.max() <= 255.0
    # Averaging over ~1400 random pixels per output pixel leaves values near the mean.
    assert abs(float(model_input.mean()) - 127.5) < 5 and model_input.std() < 20


def test_a_cifar_test_image_reaches_a_32_pixel_model_unchanged():
    images, _ = synthetic_test_set(1)
    np.testing.assert_array_equal(to_model_input(images[0], input_size=32), images[0].astype(np.float32))


def test_grey_and_tiny_images_are_handled():
    assert to_model_input(Image.new("L", (5, 7), 99), input_size=32).shape == (32, 32, 3)
    np.testing.assert_allclose(to_model_input(Image.new("L", (5, 7), 99), input_size=32), 99.0, atol=1)


def test_224_input_is_the_32_pixel_image_upsampled_bilinearly_like_training():
    images, _ = synthetic_test_set(1)
    model_input = to_model_input(images[0], input_size=224)
    # training.pipeline resizes float32 pixels with tf.image.resize(..., "bilinear").
    expected = tf.image.resize(tf.cast(images[:1], tf.float32), (224, 224), method="bilinear").numpy()[0]
    assert model_input.shape == (224, 224, 3) and model_input.dtype == np.float32
    np.testing.assert_allclose(model_input, expected, atol=1e-4)


@pytest.mark.parametrize(
    "bad_image, input_size",
    [
        (np.zeros((32, 32, 3), dtype=np.float32), 32),
        (np.zeros((32, 32), dtype=np.uint8), 32),
        ("cat.png", 32),
        (np.zeros((32, 32, 3), dtype=np.uint8), 0),
    ],
)
def test_bad_arguments_raise_value_error(bad_image, input_size):
    with pytest.raises(ValueError):
        to_model_input(bad_image, input_size)


def test_predict_probs_equals_model_predict_across_chunks():
    model = tiny_model()
    images, _ = synthetic_test_set(70)
    batch = images.astype(np.float32)
    probs = predict_probs(model, batch, chunk_size=16)  # 4 full chunks and a partial one
    assert probs.shape == (70, 10) and probs.dtype == np.float32
    np.testing.assert_allclose(probs, model.predict(batch, verbose=0), atol=1e-5)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)


def test_predict_probs_of_an_empty_batch_and_of_a_bad_shape():
    model = tiny_model()
    assert predict_probs(model, np.zeros((0, 32, 32, 3), dtype=np.float32)).shape == (0, 10)
    with pytest.raises(ValueError):
        predict_probs(model, np.zeros((32, 32, 3), dtype=np.float32))


def test_top_k_names_the_most_likely_classes_in_order():
    probs = np.array([0.05, 0.01, 0.02, 0.6, 0.01, 0.25, 0.02, 0.02, 0.01, 0.01])
    assert top_k(probs) == [("cat", 0.6), ("dog", 0.25), ("airplane", 0.05)]
    assert [name for name, _ in top_k(probs, k=10)][-1] == "truck"  # ties keep class order
    with pytest.raises(ValueError):
        top_k(probs, k=0)
    with pytest.raises(ValueError):
        top_k(probs[:5])


def test_majority_vote_counts_agreement_and_breaks_ties_by_first_answer():
    assert majority_vote(["cat", "dog", "cat"]) == ("cat", 2)
    assert majority_vote(["dog", "cat"]) == ("dog", 1)
    assert majority_vote(["ship"]) == ("ship", 1)
    with pytest.raises(ValueError):
        majority_vote([])


def test_measure_latency_reports_consistent_positive_figures():
    result = measure_latency(tiny_model(), input_size=32, batch=8, repeats=2)
    assert set(result) >= {"single_ms", "batch_ms", "images_per_second"}
    assert result["single_ms"] > 0 and result["batch_ms"] > 0
    assert result["images_per_second"] == pytest.approx(8 / (result["batch_ms"] / 1000))
    with pytest.raises(ValueError):
        measure_latency(tiny_model(), input_size=32, batch=0)


def test_predict_probs_prepares_pixels_as_the_run_records():
    import keras

    keras.utils.set_random_seed(0)
    inputs = keras.Input(shape=(32, 32, 3))
    outputs = keras.layers.Dense(10, activation="softmax")(keras.layers.GlobalAveragePooling2D()(inputs))
    model = keras.Model(inputs, outputs)  # scales nothing itself: it expects "unit" pixels
    images, _ = synthetic_test_set(8)
    expected = np.asarray(model(images.astype("float32") / 255.0))
    np.testing.assert_allclose(predict_probs(model, images, preprocessing="unit"), expected, rtol=1e-5, atol=1e-6)
    # raw (every lab run, and runs recorded before the field existed) passes pixels unchanged.
    raw = predict_probs(model, images)
    np.testing.assert_allclose(raw, np.asarray(model(images.astype("float32"))), rtol=1e-5, atol=1e-6)
    assert not np.allclose(raw, expected)
