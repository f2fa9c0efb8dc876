"""The registry builds every model: raw pixels in, class probabilities out; its entries are checked when registered."""

import subprocess
import sys

import keras
import numpy as np
import pytest

import labkeras.layers  # noqa: F401
from training.models import build_model, build_parts
from training.registry import BuiltModel, ModelSpec, get_spec, load_function, model_names, register


@pytest.mark.parametrize("name", model_names())
def test_every_model_maps_pixels_to_probabilities(name):
    keras.utils.set_random_seed(0)
    model = build_model(name, weights="none")
    size = get_spec(name).input_size
    assert model.input_shape == (None, size, size, 3)
    pixels = np.random.default_rng(0).uniform(0, 255, size=(2, size, size, 3)).astype("float32")
    probs = np.asarray(model(pixels, training=False))
    assert probs.shape == (2, 10)
    assert np.all(np.isfinite(probs))
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("blocks", get_spec("simple_cnn").options["blocks"])
def test_simple_cnn_grows_by_blocks(blocks):
    model = build_model("simple_cnn", blocks=blocks)
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert len(convs) == 2 * blocks


def test_a_left_out_option_takes_the_recipes_default_and_a_bad_one_is_refused():
    default = build_model("simple_cnn")
    assert len([layer for layer in default.layers if isinstance(layer, keras.layers.Conv2D)]) == 2 * get_spec("simple_cnn").recipe["blocks"]
    with pytest.raises(ValueError, match="simple_cnn takes blocks of 1, 2, 3, got 4"):
        build_parts("simple_cnn", blocks=4)
    with pytest.raises(ValueError, match="vgg16_bn takes no option blocks; its options: none"):
        build_parts("vgg16_bn", blocks=2)
    with pytest.raises(ValueError, match="trained from scratch"):
        build_parts("simple_cnn", "/some/weights.h5")


def test_unknown_model_lists_the_valid_ones():
    with pytest.raises(ValueError, match="Unknown model 'alexnet'. Valid models: simple_cnn, vgg16_scratch"):
        build_model("alexnet")


@pytest.mark.parametrize("name", model_names())
def test_every_entry_names_importable_functions(name):
    spec = get_spec(name)
    assert callable(spec.builder_function())
    assert spec.initialiser is None or callable(spec.initialiser_function())


def test_importing_the_registry_imports_no_tensorflow():
    code = "import sys, training.registry, training.config; print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def _spec(**changes):
    values = {"name": "tiny_test_model", "description": "d", "input_size": 32, "preprocessing": "unit",
              "builder": "tests.test_training_models:_tiny_builder"}
    return ModelSpec(**{**values, **changes})


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": "simple_cnn"}, "already registered"),
        ({"preprocessing": "imagenet"}, "Unknown preprocessing 'imagenet'"),
        ({"builder": "tests.test_training_models._tiny_builder"}, "must be written 'package.module:function'"),
        ({"initialiser": "fit_stem"}, "initialiser must be written"),
        ({"options": {"blocks": (1, 2)}}, "give option 'blocks' a default"),
    ],
)
def test_register_refuses_a_bad_entry(changes, message):
    with pytest.raises(ValueError, match=message):
        register(_spec(**changes))
    assert "tiny_test_model" not in model_names()


def test_a_reference_to_a_missing_function_says_so():
    with pytest.raises(ValueError, match="training.models has no 'build_alexnet'"):
        load_function("training.models:build_alexnet")


def _tiny_builder(keras_weights=None):
    inputs = keras.Input((32, 32, 3), name="pixels")
    x = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(4, 3, name="conv")(inputs))
    return BuiltModel(keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(x)))


def test_adding_a_model_is_one_entry_plus_one_builder():
    from training.config import RunConfig
    from training.registry import REGISTRY

    register(_spec(recipe={"epochs": 3, "optimizer": "sgd"}))
    try:
        assert build_model("tiny_test_model").get_layer("conv").filters == 4
        config = RunConfig.from_dict({"model": "tiny_test_model", "learning_rate": 0.01})
        assert (config.epochs, config.optimizer, config.learning_rate, config.batch_size) == (3, "sgd", 0.01, 64)
    finally:
        del REGISTRY["tiny_test_model"]
