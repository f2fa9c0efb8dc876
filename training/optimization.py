"""How a run optimises: the distribution strategy, the optimizer and the compiled loss.

Usage::

    from training.optimization import make_strategy, compile_for_run
    with make_strategy("default").scope():
        ...build the model...
        trained = compile_for_run(config, built)
"""

from __future__ import annotations

import keras
import tensorflow as tf

from training.config import RunConfig
from training.registry import BuiltModel


def make_strategy(name: str):
    """``tf.distribute`` strategy by name: the default one, or MirroredStrategy over all local GPUs (else the CPU)."""
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        devices = [device.name.replace("physical_device:", "") for device in tf.config.list_physical_devices("GPU")]
        return tf.distribute.MirroredStrategy(devices=devices or ["/cpu:0"])
    raise ValueError(f"Unknown strategy {name!r}. Valid strategies: default, mirrored")


def make_optimizer(name: str, learning_rate: float, weight_decay: float = 0.0):
    """A Keras optimizer by name (rmsprop, adam, sgd); adam with weight decay is AdamW."""
    if name == "rmsprop":
        return keras.optimizers.RMSprop(learning_rate)
    if name == "adam":
        return keras.optimizers.AdamW(learning_rate, weight_decay=weight_decay) if weight_decay else keras.optimizers.Adam(learning_rate)
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate, momentum=0.9, nesterov=True, weight_decay=weight_decay or None)
    raise ValueError(f"Unknown optimizer {name!r}. Valid optimizers: rmsprop, adam, sgd")


def trains_on_cached_features(config: RunConfig, built: BuiltModel) -> bool:
    """Whether the run trains the head alone on cached outputs of the frozen base (transfer models)."""
    return config.feature_cache and built.base is not None


def compile_for_run(config: RunConfig, built: BuiltModel):
    """Compile the part that trains (the head on cached features, else the whole model) and return it."""
    trained = built.head if trains_on_cached_features(config, built) else built.model
    trained.compile(
        optimizer=make_optimizer(config.optimizer, config.learning_rate, config.weight_decay),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing),
        metrics=["accuracy"],
    )
    return trained
