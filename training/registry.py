"""The model registry: one entry per model of the study, as metadata only.

Every entry names what the dashboard shows (a one-line description), what the
data pipeline must do (input size, preprocessing) and the study's defaults.
The Keras builders live in ``training.models``; this module imports no
TensorFlow so the dashboard can read it cheaply.

Preprocessing happens *inside* every saved model (a scaling layer right after
the input), so a saved ``model.keras`` always takes raw 0-255 RGB pixels at
its ``input_size``. The data pipeline only resizes; the dashboard only resizes.
"""

from __future__ import annotations

from dataclasses import dataclass

# How pixels are scaled inside the model, by name.
PREPROCESSING = {
    "unit": "pixels / 255, to 0-1",
    "vgg16": "VGG16 preprocess_input: RGB to BGR, ImageNet channel means subtracted",
    "resnet_v2": "ResNetV2 preprocess_input: pixels / 127.5 - 1, to -1..1",
}


@dataclass(frozen=True)
class ModelSpec:
    """What the rest of the lab needs to know about one model, without building it."""

    name: str
    description: str
    input_size: int
    preprocessing: str
    transfer: bool = False
    default_optimizer: str = "adam"
    default_learning_rate: float = 1e-3
    default_epochs: int = 30
    default_batch_size: int = 64

    @property
    def default_weights(self) -> str:
        """``imagenet`` for transfer models, ``none`` for models trained from scratch."""
        return "imagenet" if self.transfer else "none"


_SPECS = (
    ModelSpec(
        name="simple_cnn",
        description="The study's main model: a plain CNN grown step by step to 3 conv blocks (32-64-128 filters).",
        input_size=32,
        preprocessing="unit",
        default_epochs=30,
    ),
    ModelSpec(
        name="vgg16_scratch",
        description="VGG16 architecture on 32x32 inputs, trained from scratch with Adam at lr 0.001.",
        input_size=32,
        preprocessing="unit",
        default_epochs=100,
    ),
    ModelSpec(
        name="vgg16_bn",
        description="VGG16 layout with batch normalization after every convolution, trained from scratch.",
        input_size=32,
        preprocessing="unit",
        default_epochs=100,
    ),
    ModelSpec(
        name="vgg16_transfer",
        description="VGG16 with ImageNet weights, first 15 layers frozen, extra dense layers on top.",
        input_size=32,
        preprocessing="vgg16",
        transfer=True,
        default_epochs=30,
    ),
    ModelSpec(
        name="vgg16_simple",
        description="A small VGG-style net: two conv+ReLU blocks with max-pooling, then a softmax output.",
        input_size=32,
        preprocessing="unit",
        default_epochs=30,
    ),
    ModelSpec(
        name="resnet50v2_transfer",
        description="ResNet50V2 with ImageNet weights at 224x224, GaussianNoise, GAP, Dense(128)+L2, Dropout head.",
        input_size=224,
        preprocessing="resnet_v2",
        transfer=True,
        default_epochs=20,
        default_batch_size=32,
    ),
    # Beyond the study: the fastest path to accuracy on a CPU (see docs/performance.md).
    ModelSpec(
        name="fast_cnn",
        description="Beyond the study: a small batch-normed airbench-style CNN, the fastest path to accuracy on a CPU (85% test in 15 minutes on a 2-core CPU).",
        input_size=32,
        preprocessing="unit",
        # Must match training.fast_cnn.RECIPE, which also holds the schedule, smoothing, TTA and decay.
        default_optimizer="sgd",
        default_learning_rate=0.2,
        default_epochs=6,
        default_batch_size=64,
    ),
)

REGISTRY: dict[str, ModelSpec] = {spec.name: spec for spec in _SPECS}


def register(spec: ModelSpec) -> ModelSpec:
    """Add ``spec`` to the registry (used for models beyond the study, such as fast_cnn)."""
    if spec.preprocessing not in PREPROCESSING:
        raise ValueError(f"Unknown preprocessing {spec.preprocessing!r}; valid: {', '.join(PREPROCESSING)}")
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
