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
    values = {"name": "tiny_test_model", "description": "d", "input_size": 32, "built_in_scaling": "unit",
              "builder": "tests.test_training_models:_tiny_builder"}
    return ModelSpec(**{**values, **changes})


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": "simple_cnn"}, "already registered"),
        ({"built_in_scaling": "imagenet"}, "Unknown built_in_scaling 'imagenet'"),
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


# Keras' VGG16 layers before block 5, named here rather than sliced from the builder's own constant.
VGG16_LAYERS_BEFORE_BLOCK5 = [
    "block1_conv1", "block1_conv2", "block1_pool", "block2_conv1", "block2_conv2", "block2_pool",
    "block3_conv1", "block3_conv2", "block3_conv3", "block3_pool", "block4_conv1", "block4_conv2", "block4_conv3", "block4_pool",
]


def test_vgg16_transfer_freezes_its_first_15_layers_and_trains_block5_and_the_head():
    built = build_parts("vgg16_transfer", None)
    base_layers = [layer.name for layer in built.base.layers if layer.weights or "pool" in layer.name]
    # The input layer and the 14 layers above: Keras' VGG16 up to block 4's pool, 15 layers in all.
    assert base_layers == VGG16_LAYERS_BEFORE_BLOCK5
    assert built.base.trainable_weights == [] and len(built.base.non_trainable_weights) == 2 * 10  # 10 convs
    trained = sorted({weight.path.split("/")[-2] for weight in built.model.trainable_weights})
    assert trained == ["block5_conv1", "block5_conv2", "block5_conv3", "class_probabilities", "dense_1", "dense_2"]

    # One real training step moves block 5 and leaves the frozen layers exactly as they were.
    frozen_before = [keras.ops.convert_to_numpy(weight) for weight in built.base.weights]
    block5_before = keras.ops.convert_to_numpy(built.head.get_layer("block5_conv1").kernel)
    built.model.compile(optimizer=keras.optimizers.SGD(0.1), loss="categorical_crossentropy")
    rng = np.random.default_rng(0)
    built.model.train_on_batch(rng.uniform(0, 255, (4, 32, 32, 3)).astype("float32"), np.eye(10, dtype="float32")[:4])
    assert all(np.array_equal(before, keras.ops.convert_to_numpy(after)) for before, after in zip(frozen_before, built.base.weights))
    assert not np.array_equal(block5_before, keras.ops.convert_to_numpy(built.head.get_layer("block5_conv1").kernel))


def test_vgg_preprocessing_layer_matches_keras_preprocess_input_and_loads_in_safe_mode(tmp_path):
    from labkeras.layers import VggCaffePreprocessing

    pixels = np.random.default_rng(1).uniform(0, 255, (3, 32, 32, 3)).astype("float32")
    expected = keras.applications.vgg16.preprocess_input(pixels.copy())
    inputs = keras.Input((32, 32, 3))
    model = keras.Model(inputs, VggCaffePreprocessing(name="vgg16_preprocessing")(inputs))
    np.testing.assert_allclose(np.asarray(model(pixels)), expected, atol=1e-4)

    model.save(tmp_path / "preprocessing.keras")
    loaded = keras.saving.load_model(tmp_path / "preprocessing.keras", safe_mode=True)
    np.testing.assert_allclose(np.asarray(loaded(pixels)), expected, atol=1e-4)
