"""fast_cnn builds, takes raw pixels, trains (gradients reach every weight) and reloads safely."""

import numpy as np
import pytest
import tensorflow as tf
import keras

from training.fast_cnn import RECIPE, build_fast_cnn


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

    config = RunConfig.from_dict({"model": "fast_cnn", **RECIPE})
    assert config.lr_schedule == "onecycle" and config.tta_flip and config.label_smoothing == 0.2
