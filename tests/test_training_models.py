"""Every registered model builds with random weights, takes raw pixels and outputs class probabilities."""

import keras
import numpy as np
import pytest

import training.layers  # noqa: F401
from training.models import build_model, build_parts
from training.registry import get_spec, model_names


def _available(name):
    if name != "fast_cnn":
        return True
    try:
        import training.fast_cnn  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.mark.parametrize("name", model_names())
def test_every_model_maps_pixels_to_probabilities(name):
    if not _available(name):
        pytest.skip("training/fast_cnn.py (perf helper) is not written yet")
    keras.utils.set_random_seed(0)
    model = build_model(name, weights="none")
    size = get_spec(name).input_size
    assert model.input_shape == (None, size, size, 3)
    pixels = np.random.default_rng(0).uniform(0, 255, size=(2, size, size, 3)).astype("float32")
    probs = np.asarray(model(pixels, training=False))
    assert probs.shape == (2, 10)
    assert np.all(np.isfinite(probs))
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("blocks", [1, 2, 3])
def test_simple_cnn_grows_by_blocks(blocks):
    model = build_model("simple_cnn", blocks=blocks)
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert len(convs) == 2 * blocks


def test_vgg16_transfer_freezes_the_first_15_layers():
    built = build_parts("vgg16_transfer", None)
    assert not built.base.trainable
    frozen_convs = [layer.name for layer in built.base.layers if isinstance(layer, keras.layers.Conv2D)]
    assert frozen_convs[-1] == "block4_conv3" and len(frozen_convs) == 10
    assert all(layer.trainable for layer in built.head.layers if isinstance(layer, keras.layers.Conv2D))


def test_full_transfer_model_equals_head_on_base_features():
    built = build_parts("vgg16_transfer", None)
    pixels = np.random.default_rng(1).uniform(0, 255, size=(3, 32, 32, 3)).astype("float32")
    np.testing.assert_allclose(
        np.asarray(built.model(pixels, training=False)),
        np.asarray(built.head(built.base(pixels, training=False), training=False)),
        rtol=1e-5, atol=1e-6,
    )


def test_vgg_preprocessing_layer_matches_keras_and_survives_safe_load(tmp_path):
    inputs = keras.Input((4, 4, 3))
    model = keras.Model(inputs, training.layers.VggCaffePreprocessing()(inputs))
    pixels = np.random.default_rng(2).uniform(0, 255, size=(2, 4, 4, 3)).astype("float32")
    expected = keras.applications.vgg16.preprocess_input(pixels.copy())
    np.testing.assert_allclose(np.asarray(model(pixels)), expected, rtol=1e-5, atol=1e-4)
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)
    np.testing.assert_allclose(np.asarray(loaded(pixels)), expected, rtol=1e-5, atol=1e-4)


def test_weights_file_that_does_not_fit_is_explained(tmp_path):
    from training.weights import WeightsError

    wrong = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    path = tmp_path / "wrong.weights.h5"
    wrong.save_weights(path)
    with pytest.raises(WeightsError, match="does not fit vgg16_transfer"):
        build_model("vgg16_transfer", weights=str(path))


def test_missing_weights_file_says_what_to_pass(tmp_path):
    from training.weights import WeightsError

    with pytest.raises(WeightsError, match="--weights none"):
        build_model("vgg16_transfer", weights=str(tmp_path / "absent.h5"))
