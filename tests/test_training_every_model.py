"""Every registered model trains: one step on tiny data moves every trainable weight, and the loss is finite.

timm's ``tests/test_models.py`` idea, parametrized over the registry, so a new
entry is tested the moment it is registered. Models are built the way the
trainer builds them (registry builder, then the entry's data-dependent
initialiser), with random weights (``--weights none``).
"""

import keras
import numpy as np
import pytest

from training.models import build_parts, initialise_from_data
from training.registry import get_spec, model_names

# ResNet50V2 runs at 224x224: two images keep its step to a second or two on a CPU.
IMAGES_PER_MODEL = {"resnet50v2_transfer": 2}


@pytest.mark.slow
@pytest.mark.parametrize("name", model_names())
def test_one_training_step_moves_every_trainable_weight(name):
    keras.utils.set_random_seed(0)
    size = get_spec(name).input_size
    count = IMAGES_PER_MODEL.get(name, 4)
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 255, size=(count, size, size, 3)).astype("float32")
    labels = keras.utils.to_categorical(np.arange(count) % 10, 10)

    built = build_parts(name)
    initialise_from_data(name, built, images)
    model = built.model
    assert model.trainable_weights, f"{name} has nothing to train"
    before = [np.array(weight.numpy()) for weight in model.trainable_weights]
    # Adam's first step moves a weight by about the learning rate whatever its gradient's size, so
    # only a weight that no gradient reaches stays put. (No weight decay: it would move those too.)
    # Eagerly: one step does not repay tracing a graph (VGG16 took 20 s traced on the 2-core CPU).
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=keras.losses.CategoricalCrossentropy(), run_eagerly=True)
    loss = float(model.train_on_batch(images, labels))

    assert np.isfinite(loss)
    unchanged = [weight.path for weight, old in zip(model.trainable_weights, before) if np.array_equal(weight.numpy(), old)]
    assert not unchanged, f"one training step left these {name} weights as they were: {unchanged}"
