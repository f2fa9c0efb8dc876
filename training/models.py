"""Keras builders for every model in the registry, and ``build_model(name)`` to build one by name.

Every builder has the registry's signature, ``builder(keras_weights=None, **options)
-> BuiltModel``, and its model takes raw RGB pixels (float32, 0-255) at its
registry input size; the scaling the model needs is its first layer, so a saved
``model.keras`` works on plain pixels. Transfer models are built from two parts,
a frozen ``base`` (pixels to features) and a trainable ``head`` (features to
class probabilities), so training can run on cached base features (see
``training.feature_cache``) and still save one complete model. Models trained
from scratch take ``keras_weights=None`` only (``build_parts`` checks).

Usage::

    from training.models import build_model
    model = build_model("simple_cnn", weights="none", blocks=2)
"""

from __future__ import annotations

import keras
from keras import layers, regularizers

import labkeras.layers as lab_layers
from training.data import NUM_CLASSES
from training.registry import BuiltModel, ModelSpec, as_spec, get_spec
from training.weights import WeightsError, resolve_weights

# VGG16's convolutional layout: filters per conv layer, "M" for max-pooling.
VGG16_LAYOUT = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M")
# Keras' VGG16 layer index where the study's frozen part ends: input + blocks 1-4 = 15 layers.
VGG16_FROZEN_LAYERS = 15
# Filters of simple_cnn's blocks; the registry entry says how many of them a run may use.
SIMPLE_CNN_FILTERS = (32, 64, 128)
# Batch-norm running statistics for vgg16_bn: 0.9 (PyTorch's default, 0.1 there) instead of
# Keras' 0.99, which needs hundreds of steps before evaluation-mode outputs mean anything:
# the CPU demo's 32-step run predicted one class for every test image with 0.99.
VGG16_BN_MOMENTUM = 0.9


def _pixel_input(input_size: int) -> keras.KerasTensor:
    return keras.Input(shape=(input_size, input_size, 3), dtype="float32", name="pixels")


def _classifier(x, name: str = "class_probabilities"):
    return layers.Dense(NUM_CLASSES, activation="softmax", name=name)(x)


def build_simple_cnn(keras_weights: None = None, *, blocks: int) -> BuiltModel:
    """The study's main model: ``blocks`` blocks of two 3x3 convs + max-pool + dropout, then a dense head."""
    if blocks not in range(1, len(SIMPLE_CNN_FILTERS) + 1):
        raise ValueError(f"simple_cnn has {len(SIMPLE_CNN_FILTERS)} blocks at most, got {blocks}")
    inputs = _pixel_input(32)
    x = layers.Rescaling(1.0 / 255, name="scale_to_unit")(inputs)
    for index, filters in enumerate(SIMPLE_CNN_FILTERS[:blocks]):
        x = lab_layers.FastGradConv2D(filters, 3, padding="same", activation="relu", name=f"block{index + 1}_conv1")(x)
        x = lab_layers.FastGradConv2D(filters, 3, padding="same", activation="relu", name=f"block{index + 1}_conv2")(x)
        x = layers.MaxPooling2D(name=f"block{index + 1}_pool")(x)
        # Dropout grows with depth, as in the study's step-by-step model.
        x = layers.Dropout(0.2 + 0.1 * index, name=f"block{index + 1}_dropout")(x)
    x = layers.Flatten()(x)
    x = layers.Dense(128, activation="relu", name="dense")(x)
    x = layers.Dropout(0.5)(x)
    return BuiltModel(keras.Model(inputs, _classifier(x), name=f"simple_cnn_b{blocks}"))


def _vgg16_body(x, batch_norm: bool):
    block, conv = 1, 1
    for item in VGG16_LAYOUT:
        if item == "M":
            x = layers.MaxPooling2D(name=f"block{block}_pool")(x)
            block, conv = block + 1, 1
            continue
        name = f"block{block}_conv{conv}"
        if batch_norm:
            x = lab_layers.FastGradConv2D(item, 3, padding="same", use_bias=False, name=name)(x)
            x = layers.BatchNormalization(momentum=VGG16_BN_MOMENTUM, name=f"{name}_bn")(x)
            x = layers.Activation("relu", name=f"{name}_relu")(x)
        else:
            x = lab_layers.FastGradConv2D(item, 3, padding="same", activation="relu", name=name)(x)
        conv += 1
    return x


def _vgg16(batch_norm: bool) -> keras.Model:
    """VGG16's 13 conv layers on 32x32 inputs, trained from scratch, with a 512-unit dense head."""
    inputs = _pixel_input(32)
    x = layers.Rescaling(1.0 / 255, name="scale_to_unit")(inputs)
    x = _vgg16_body(x, batch_norm)
    x = layers.Flatten()(x)
    x = layers.Dense(512, activation="relu", name="dense")(x)
    x = layers.Dropout(0.5)(x)
    return keras.Model(inputs, _classifier(x), name="vgg16_bn" if batch_norm else "vgg16_scratch")


def build_vgg16_scratch(keras_weights: None = None) -> BuiltModel:
    """VGG16's layout trained from scratch on 32x32 inputs (the study's plain VGG16)."""
    return BuiltModel(_vgg16(batch_norm=False))


def build_vgg16_bn(keras_weights: None = None) -> BuiltModel:
    """VGG16's layout with batch normalization after every convolution, trained from scratch."""
    return BuiltModel(_vgg16(batch_norm=True))


def build_vgg16_simple(keras_weights: None = None) -> BuiltModel:
    """A small VGG-style net: two blocks of two conv+ReLU layers with max-pooling, then softmax."""
    inputs = _pixel_input(32)
    x = layers.Rescaling(1.0 / 255, name="scale_to_unit")(inputs)
    for index, filters in enumerate((32, 64)):
        x = lab_layers.FastGradConv2D(filters, 3, padding="same", activation="relu", name=f"block{index + 1}_conv1")(x)
        x = lab_layers.FastGradConv2D(filters, 3, padding="same", activation="relu", name=f"block{index + 1}_conv2")(x)
        x = layers.MaxPooling2D(name=f"block{index + 1}_pool")(x)
    x = layers.Flatten()(x)
    return BuiltModel(keras.Model(inputs, _classifier(x), name="vgg16_simple"))


def _load_backbone(constructor, model_name: str, keras_weights: str | None, input_size: int) -> keras.Model:
    """Build a keras.applications backbone without its top; a weights file that does not fit gets a clear error."""
    try:
        return constructor(include_top=False, weights=keras_weights, input_shape=(input_size, input_size, 3))
    except (ValueError, OSError, KeyError) as error:
        raise WeightsError(
            f"The weights file {keras_weights} does not fit {model_name}'s backbone ({type(error).__name__}: {error}). "
            "Pass the matching 'notop' ImageNet file, or --weights none."
        ) from None


def _trainable_copy(layer: keras.layers.Layer) -> keras.layers.Layer:
    """A backbone layer to train: convolutions become FastGradConv2D (same config and weights), the rest stay."""
    if type(layer) is not layers.Conv2D:
        return layer
    copy = lab_layers.FastGradConv2D.from_config(layer.get_config())
    copy.build(layer.input.shape)
    copy.set_weights(layer.get_weights())
    return copy


def build_vgg16_transfer(keras_weights: str | None = None) -> BuiltModel:
    """VGG16 (ImageNet or random), first 15 layers frozen; block 5 and two dense layers learn CIFAR features."""
    vgg = _load_backbone(keras.applications.VGG16, "vgg16_transfer", keras_weights, 32)
    inputs = _pixel_input(32)
    x = lab_layers.VggCaffePreprocessing(name="vgg16_preprocessing")(inputs)
    for layer in vgg.layers[1:VGG16_FROZEN_LAYERS]:
        x = layer(x)
    base = keras.Model(inputs, x, name="vgg16_frozen_base")
    base.trainable = False

    features = keras.Input(shape=tuple(x.shape[1:]), name="base_features")
    y = features
    for layer in vgg.layers[VGG16_FROZEN_LAYERS:]:
        y = _trainable_copy(layer)(y)
    y = layers.Flatten()(y)
    y = layers.Dense(256, activation="relu", name="dense_1")(y)
    y = layers.Dropout(0.5)(y)
    y = layers.Dense(128, activation="relu", name="dense_2")(y)
    head = keras.Model(features, _classifier(y), name="vgg16_head")

    full_inputs = _pixel_input(32)
    model = keras.Model(full_inputs, head(base(full_inputs)), name="vgg16_transfer")
    return BuiltModel(model, base, head)


def build_resnet50v2_transfer(keras_weights: str | None = None) -> BuiltModel:
    """ResNet50V2 (frozen) at 224x224 with GaussianNoise before it and a small regularised dense head."""
    input_size = get_spec("resnet50v2_transfer").input_size
    backbone = _load_backbone(keras.applications.ResNet50V2, "resnet50v2_transfer", keras_weights, input_size)
    backbone.trainable = False
    scale = layers.Rescaling(1.0 / 127.5, offset=-1.0, name="resnet_v2_preprocessing")
    pool = layers.GlobalAveragePooling2D(name="global_average_pool")

    inputs = _pixel_input(input_size)
    base = keras.Model(inputs, pool(backbone(scale(inputs))), name="resnet50v2_frozen_base")
    base.trainable = False

    features = keras.Input(shape=(backbone.output_shape[-1],), name="base_features")
    l2 = regularizers.L2(0.001)
    y = layers.Dense(128, activation="relu", kernel_regularizer=l2, bias_regularizer=l2, name="dense")(features)
    y = layers.Dropout(0.05)(y)
    head = keras.Model(features, _classifier(y), name="resnet50v2_head")

    # The complete model adds the noise between preprocessing and the frozen backbone, as in the
    # study. (Training on cached features skips it: see training.feature_cache.)
    full_inputs = _pixel_input(input_size)
    x = layers.GaussianNoise(0.1, name="gaussian_noise")(scale(full_inputs))
    model = keras.Model(full_inputs, head(pool(backbone(x))), name="resnet50v2_transfer")
    return BuiltModel(model, base, head)


def build_parts(model: ModelSpec | str, keras_weights: str | None = None, **options) -> BuiltModel:
    """Build ``model`` (a registry entry, or its name) with already resolved weights (see ``training.weights``).

    ``options`` are the entry's model options (simple_cnn's ``blocks``); one left out
    or None takes the entry's default. Unknown names fail with the list of valid ones.
    The trainer passes the entry it resolved once for the run.
    """
    spec = as_spec(model)
    if keras_weights is not None and not spec.transfer:
        raise ValueError(f"{spec.name} is trained from scratch; it takes no backbone weights (keras_weights=None).")
    return spec.builder_function()(keras_weights=keras_weights, **_checked_options(spec, options))


def _checked_options(spec: ModelSpec, options: dict) -> dict:
    """``options`` with the entry's defaults filled in; an option the model does not take, or a bad value, is refused."""
    unknown = sorted(option for option, value in options.items() if value is not None and option not in spec.options)
    if unknown:
        takes = ", ".join(spec.options) or "none"
        raise ValueError(f"{spec.name} takes no option {', '.join(unknown)}; its options: {takes}")
    checked = {}
    for option, valid in spec.options.items():
        value = spec.defaults[option] if options.get(option) is None else options[option]
        if value not in valid:
            raise ValueError(f"{spec.name} takes {option} of {', '.join(map(str, valid))}, got {value!r}")
        checked[option] = value
    return checked


def initialise_from_data(model: ModelSpec | str, built: BuiltModel, x_train) -> None:
    """Run the entry's data-dependent initialiser (fast_cnn's whitening stem) on ``x_train``, if it has one."""
    initialiser = as_spec(model).initialiser_function()
    if initialiser is not None:
        initialiser(built.model, x_train)


def build_model(name: str, weights: str = "none", **options) -> keras.Model:
    """The complete model ``name`` taking raw 0-255 pixels; ``weights`` is imagenet, none or a file path."""
    if weights != "none" and not get_spec(name).transfer:
        raise ValueError(f"{name} is trained from scratch; it takes weights='none' only.")
    resolved = resolve_weights(name, weights)
    return build_parts(name, resolved.keras_value, **options).model
