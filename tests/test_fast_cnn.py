"""fast_cnn builds, takes raw pixels, trains (gradients reach every weight) and reloads safely."""

import numpy as np
import pytest
import tensorflow as tf
import keras

from training.fast_cnn import build_fast_cnn
from training.registry import get_spec


@pytest.fixture(scope="module")
def model():
    keras.utils.set_random_seed(0)
    return build_fast_cnn()


def raw_pixels(count: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(count, 32, 32, 3)).astype("float32")


def test_outputs_are_probabilities_for_raw_pixels(model):
    probabilities = model(raw_pixels(4), training=False).numpy()
    assert probabilities.shape == (4, 10)
    assert np.all(np.isfinite(probabilities))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_gradients_reach_every_trainable_weight(model):
    labels = tf.one_hot([0, 1, 2, 3], 10)
    with tf.GradientTape() as tape:
        loss = keras.losses.categorical_crossentropy(labels, model(raw_pixels(4, seed=1), training=True))
    gradients = tape.gradient(loss, model.trainable_variables)
    missing = [variable.path for variable, gradient in zip(model.trainable_variables, gradients)
               if gradient is None or not np.any(gradient.numpy())]
    assert not missing, f"no gradient reaches {missing}"


def test_loss_falls_on_a_tiny_batch():
    keras.utils.set_random_seed(1)
    model = build_fast_cnn()
    model.compile(optimizer=keras.optimizers.SGD(0.05, momentum=0.9), loss="categorical_crossentropy")
    images, labels = raw_pixels(32, seed=2), keras.utils.to_categorical(np.arange(32) % 10, 10)
    history = model.fit(images, labels, batch_size=32, epochs=8, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_saved_model_reloads_in_safe_mode(model, tmp_path):
    path = tmp_path / "fast_cnn.keras"
    model.save(path)
    reloaded = keras.saving.load_model(path, safe_mode=True)
    images = raw_pixels(2, seed=3)
    np.testing.assert_allclose(reloaded(images, training=False).numpy(), model(images, training=False).numpy(), atol=1e-5)


@pytest.mark.parametrize("arguments", [{"input_size": 8}, {"input_size": 32.0}, {"num_classes": 1}])
def test_bad_arguments_are_rejected_with_a_message(arguments):
    with pytest.raises(ValueError, match="must be an integer"):
        build_fast_cnn(**arguments)


def test_recipe_holds_only_run_config_fields():
    from training.config import RunConfig

    config = RunConfig.from_dict({"model": "fast_cnn", **get_spec("fast_cnn").recipe})
    assert config.lr_schedule == "onecycle" and config.tta_flip and config.label_smoothing == 0.2


def test_the_registry_entry_builds_fast_cnn_and_fits_its_whitening_stem():
    from training.fast_cnn import whitening_kernel
    from training.models import build_parts, initialise_from_data

    keras.utils.set_random_seed(3)
    built = build_parts("fast_cnn")
    assert built.model.name == "fast_cnn" and built.base is None and built.head is None
    images = correlated_pixels(32, seed=2)
    initialise_from_data("fast_cnn", built, images)
    np.testing.assert_allclose(built.model.get_layer("stem_conv").kernel.numpy(), whitening_kernel(images), rtol=1e-6)


def correlated_pixels(count: int, seed: int = 0) -> np.ndarray:
    """Images whose neighbouring pixels and channels are correlated, as in photographs."""
    rng = np.random.default_rng(seed)
    coarse = rng.uniform(0, 255, size=(count, 9, 9, 1))
    smooth = np.repeat(np.repeat(coarse, 4, axis=1), 4, axis=2)[:, :32, :32]
    return np.clip(smooth * [1.0, 0.9, 0.8] + rng.normal(0, 20, size=(count, 32, 32, 3)), 0, 255).astype("float32")


def test_whitening_kernel_decorrelates_standardised_patches():
    from training.fast_cnn import CIFAR10_MEAN, CIFAR10_STD, whitening_kernel

    images = correlated_pixels(200)
    kernel = whitening_kernel(images, eps=0.0)
    assert kernel.shape == (2, 2, 3, 24)
    pixels = (images - np.array(CIFAR10_MEAN)) / np.array(CIFAR10_STD)
    patches = np.stack([pixels[:, i:i + 31, j:j + 31] for i in (0, 1) for j in (0, 1)], axis=3).reshape(-1, 12)
    whitened = patches @ kernel.reshape(12, 24)[:, :12]
    covariance = whitened.T @ whitened / len(whitened)
    np.testing.assert_allclose(covariance, np.eye(12), atol=1e-3)
    np.testing.assert_allclose(kernel[..., 12:], -kernel[..., :12])  # both signs survive the ReLU


def test_whitening_kernel_rejects_non_rgb_batches():
    from training.fast_cnn import whitening_kernel

    with pytest.raises(ValueError, match=r"\(N, H, W, 3\)"):
        whitening_kernel(np.zeros((4, 32, 32), dtype="uint8"))


def test_whitening_stem_is_fitted_from_data_and_stays_frozen_while_training():
    from training.fast_cnn import fit_whitening_stem, whitening_kernel

    keras.utils.set_random_seed(2)
    model = build_fast_cnn()
    images = correlated_pixels(64, seed=1)
    fit_whitening_stem(model, images)
    stem = model.get_layer("stem_conv")
    np.testing.assert_allclose(stem.kernel.numpy(), whitening_kernel(images), rtol=1e-6)
    bias_before, head_before = stem.bias.numpy().copy(), model.get_layer("logits").kernel.numpy().copy()
    model.compile(optimizer=keras.optimizers.SGD(0.05, momentum=0.9), loss="categorical_crossentropy")
    model.fit(images, keras.utils.to_categorical(np.arange(64) % 10, 10), batch_size=32, epochs=1, verbose=0)
    np.testing.assert_array_equal(stem.kernel.numpy(), whitening_kernel(images))
    assert not np.allclose(stem.bias.numpy(), bias_before)
    assert not np.allclose(model.get_layer("logits").kernel.numpy(), head_before)


def test_block_convolutions_start_by_passing_their_input_through(model):
    features = np.random.default_rng(4).normal(size=(2, 7, 7, 128)).astype("float32")
    np.testing.assert_allclose(model.get_layer("block2b_conv")(features).numpy(), features, atol=1e-6)
    narrow = features[..., :32]
    widened = model.get_layer("block2a_conv")(narrow).numpy()  # 32 -> 128 channels: the first 32 copy the input
    np.testing.assert_allclose(widened[..., :32], narrow, atol=1e-6)
    assert np.any(widened[..., 32:])
