"""The model registry: one entry per model, and the entry is the whole model.

An entry names what the dashboard shows (a one-line description), what the data
pipeline must do (input size), how the model scales pixels inside itself
(``built_in_scaling``), how to build the model (a lazy
``"module:function"`` builder), the recipe a run of it inherits (RunConfig
values the user may override) and, when the model needs one, a data-dependent
initialiser. Builders and initialisers are named as strings and imported only
when a model is built, so this module imports no TensorFlow and the CLI's
listings, suite plans and config checks read it cheaply.

Adding a model is one ``register(ModelSpec(...))`` below plus one builder::

    def build_my_cnn(keras_weights: str | None = None, *, width: int) -> BuiltModel:
        ...  # raw 0-255 RGB pixels in, 10 class probabilities out

Scaling happens *inside* every saved model (a layer right after the input), so
a saved ``model.keras`` always takes raw 0-255 RGB pixels at its ``input_size``:
its run records ``preprocessing: raw``, which is the other concept of the two,
what a *reader* must do to pixels before predicting (``runstore.preprocessing``:
raw, unit, tf, caffe, torch; imported models need one of the others). The data
pipeline only resizes; the dashboard only resizes.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Callable, Mapping

# How a lab model scales raw pixels inside itself, by name (readers then pass it raw pixels).
BUILT_IN_SCALINGS = {
    "unit": "pixels / 255, to 0-1",
    "vgg16": "VGG16 preprocess_input: RGB to BGR, ImageNet channel means subtracted",
    "resnet_v2": "ResNetV2 preprocess_input: pixels / 127.5 - 1, to -1..1",
}

# The study's training settings: what every run starts from before its model's recipe
# and the user's own values are applied on top.
STUDY_DEFAULTS = MappingProxyType({
    "optimizer": "adam",      # training.train.make_optimizer
    "learning_rate": 1e-3,    # initial rate (the peak, for a one-cycle schedule)
    "epochs": 30,             # an upper bound: early stopping may end sooner
    "batch_size": 64,         # images per step, over all replicas
})


@dataclass
class BuiltModel:
    """What a builder returns: a complete model plus, for transfer models, its frozen and trainable parts."""

    model: Any               # keras.Model: raw pixels -> class probabilities
    base: Any | None = None  # keras.Model: raw pixels -> features, frozen (transfer models only)
    head: Any | None = None  # keras.Model: features -> class probabilities (transfer models only)


@dataclass(frozen=True)
class ModelSpec:
    """One model: what the lab shows and needs to know about it, how to build it, and how its runs train."""

    name: str
    description: str
    input_size: int
    built_in_scaling: str  # a key of BUILT_IN_SCALINGS: what the model does to raw pixels inside itself
    # "module:function", called as builder(keras_weights=None, **options) -> BuiltModel.
    builder: str
    transfer: bool = False  # an ImageNet backbone: takes --weights imagenet, none or a file
    # RunConfig values a run of this model inherits unless the user sets them.
    recipe: Mapping[str, Any] = field(default_factory=dict)
    # Builder keyword arguments a run may choose, each with its valid values; the
    # chosen value is the RunConfig field of the same name (default: the recipe's).
    options: Mapping[str, tuple] = field(default_factory=dict)
    # "module:function", called as initialiser(model, x_train) once the model is built and
    # before training, for models whose start depends on the data (fast_cnn's whitening stem).
    initialiser: str | None = None

    def __post_init__(self):
        # The registry is shared by every run in the process: a run must not edit its model's recipe.
        object.__setattr__(self, "recipe", MappingProxyType(dict(self.recipe)))
        object.__setattr__(self, "options", MappingProxyType({name: tuple(values) for name, values in self.options.items()}))

    @property
    def defaults(self) -> dict:
        """Every RunConfig default this model's runs start from: study defaults, weights, then the recipe."""
        return {**STUDY_DEFAULTS, "weights": "imagenet" if self.transfer else "none", **self.recipe}

    def builder_function(self) -> Callable:
        """The builder, imported now (this is where TensorFlow gets imported)."""
        return load_function(self.builder)

    def initialiser_function(self) -> Callable | None:
        """The data-dependent initialiser, imported now; None when the model needs none."""
        return load_function(self.initialiser) if self.initialiser else None


def load_function(reference: str) -> Callable:
    """The function a ``"package.module:function"`` reference names."""
    module_name, _, function_name = reference.partition(":")
    function = getattr(importlib.import_module(module_name), function_name, None)
    if not callable(function):
        raise ValueError(f"{reference!r} names no function: {module_name} has no {function_name!r}.")
    return function


def _check_reference(spec_name: str, role: str, reference: str) -> None:
    module_name, colon, function_name = reference.partition(":")
    if not (colon and module_name and function_name.isidentifier()):
        raise ValueError(f"{spec_name}'s {role} must be written 'package.module:function', got {reference!r}")


REGISTRY: dict[str, ModelSpec] = {}


def register(spec: ModelSpec) -> ModelSpec:
    """Add ``spec`` to the registry, refusing a duplicate name, an unknown built-in scaling or a malformed reference."""
    if spec.name in REGISTRY:
        raise ValueError(f"A model named {spec.name!r} is already registered.")
    if spec.built_in_scaling not in BUILT_IN_SCALINGS:
        raise ValueError(f"Unknown built_in_scaling {spec.built_in_scaling!r}; valid: {', '.join(BUILT_IN_SCALINGS)}")
    _check_reference(spec.name, "builder", spec.builder)
    if spec.initialiser is not None:
        _check_reference(spec.name, "initialiser", spec.initialiser)
    for option, valid in spec.options.items():
        if spec.defaults.get(option) not in valid:
            raise ValueError(f"{spec.name}'s recipe must give option {option!r} a default among {valid}")
    REGISTRY[spec.name] = spec
    return spec


def model_names() -> list[str]:
    """Registered model names, in registry order."""
    return list(REGISTRY)


def get_spec(name: str) -> ModelSpec:
    """The entry for ``name``; an unknown name raises ``ValueError`` listing the valid ones."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise ValueError(f"Unknown model {name!r}. Valid models: {', '.join(REGISTRY)}") from None


def as_spec(model: "ModelSpec | str") -> ModelSpec:
    """``model`` itself when it is a registry entry, else the entry of that name (``get_spec``)."""
    return model if isinstance(model, ModelSpec) else get_spec(model)


def option_models(option: str) -> list[str]:
    """The models whose builder takes ``option`` (e.g. ``blocks``: simple_cnn)."""
    return [spec.name for spec in REGISTRY.values() if option in spec.options]


def option_names() -> tuple:
    """Every builder option some registered model takes (``blocks``), in registry order."""
    return tuple(dict.fromkeys(option for spec in REGISTRY.values() for option in spec.options))


def option_values(option: str) -> tuple:
    """Every valid value of ``option`` over the models that take it, in order (the CLI's choices)."""
    return tuple(dict.fromkeys(value for spec in REGISTRY.values() for value in spec.options.get(option, ())))


# ----------------------------------------------------------------------------- the models

register(ModelSpec(
    name="simple_cnn",
    description="The study's main model: a plain CNN grown step by step to 3 conv blocks (32-64-128 filters).",
    input_size=32,
    built_in_scaling="unit",
    builder="training.models:build_simple_cnn",
    recipe={"blocks": 3},
    options={"blocks": (1, 2, 3)},  # conv blocks of 32, 64, 128 filters: the study grows the model one at a time
))
register(ModelSpec(
    name="vgg16_scratch",
    description="VGG16 architecture on 32x32 inputs, trained from scratch with Adam at lr 0.001.",
    input_size=32,
    built_in_scaling="unit",
    builder="training.models:build_vgg16_scratch",
    recipe={"epochs": 100},
))
register(ModelSpec(
    name="vgg16_bn",
    description="VGG16 layout with batch normalization after every convolution, trained from scratch.",
    input_size=32,
    built_in_scaling="unit",
    builder="training.models:build_vgg16_bn",
    recipe={"epochs": 100},
))
register(ModelSpec(
    name="vgg16_transfer",
    description="VGG16 with ImageNet weights, first 15 layers frozen, extra dense layers on top.",
    input_size=32,
    built_in_scaling="vgg16",
    builder="training.models:build_vgg16_transfer",
    transfer=True,
))
register(ModelSpec(
    name="vgg16_simple",
    description="A small VGG-style net: two conv+ReLU blocks with max-pooling, then a softmax output.",
    input_size=32,
    built_in_scaling="unit",
    builder="training.models:build_vgg16_simple",
))
register(ModelSpec(
    name="resnet50v2_transfer",
    description="ResNet50V2 with ImageNet weights at 224x224, GaussianNoise, GAP, Dense(128)+L2, Dropout head.",
    input_size=224,
    built_in_scaling="resnet_v2",
    builder="training.models:build_resnet50v2_transfer",
    transfer=True,
    recipe={"epochs": 20, "batch_size": 32},
))
# Beyond the study: the fastest path to accuracy on a CPU (see training/fast_cnn.py and docs/performance.md).
register(ModelSpec(
    name="fast_cnn",
    description="Beyond the study: a small batch-normed airbench-style CNN, the fastest path to accuracy on a CPU (85% test in 15 minutes on a 2-core CPU).",
    input_size=32,
    built_in_scaling="unit",
    builder="training.fast_cnn:build_fast_cnn_parts",
    initialiser="training.fast_cnn:fit_whitening_stem",
    recipe={
        "optimizer": "sgd",            # SGD, momentum 0.9, Nesterov (training.train.make_optimizer)
        "learning_rate": 0.2,          # peak of the one-cycle schedule at batch 64: best of 0.1/0.2/0.4 in one-epoch trials (docs)
        "batch_size": 64,              # small: CPU images/s is the same at 64, 128 and 256, and 4x the steps learn faster
        "epochs": 6,                   # an upper bound: on the 2-core CPU the time budget ends training in epoch 5
        "time_budget_seconds": 885.0,  # 15 minutes less 15 s for the last validation pass; the cycle anneals over it
        "lr_schedule": "onecycle",     # warm-up to the peak, then linear decay to 1/100 of it
        "augmentation": "light",       # flip + 2-pixel shift: rotation and zoom slow a 4-epoch run down
        "label_smoothing": 0.2,        # as in airbench and "How to train your ResNet"
        "tta_flip": True,              # average test predictions over each image and its mirror
        "tta_translate": True,         # and over 1-pixel shifts (airbench's TTA level 2); evaluation time only
        "lookahead": True,             # airbench's weight averaging every 5 steps (training.callbacks.Lookahead)
        "weight_decay": 5e-4,          # Keras SGD applies it per step as w -= lr * 5e-4 * w
    },
))
