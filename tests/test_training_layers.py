"""FastGradConv2D: the same outputs and gradients as keras.layers.Conv2D, saved and loaded safely."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from labkeras.layers import FastGradConv2D


def _twin_layers(**options):
    """A stock Conv2D and a FastGradConv2D with identical config and weights, built for 4x9x9x5 inputs."""
    stock = keras.layers.Conv2D(7, **options)
    fast = FastGradConv2D(7, **options)
    stock.build((4, 9, 9, 5))
    fast.build((4, 9, 9, 5))
    fast.set_weights(stock.get_weights())
    return stock, fast


def _output_and_gradients(layer, x):
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x)
        loss = tf.reduce_sum(y * y)  # non-uniform upstream gradient
    return y, tape.gradient(loss, [x, *layer.trainable_variables])


@pytest.mark.parametrize(
    "options",
    [
        dict(kernel_size=3, padding="same"),
        dict(kernel_size=1, padding="same"),
        dict(kernel_size=5, padding="same", use_bias=False),
        dict(kernel_size=2, padding="valid"),
        dict(kernel_size=3, padding="valid", activation="relu"),
        dict(kernel_size=3, padding="same", strides=2),          # falls back to the stock convolution
        dict(kernel_size=2, padding="same"),                     # even kernel, same padding: falls back too
    ],
)
def test_outputs_and_all_gradients_match_stock_conv2d(options):
    keras.utils.set_random_seed(0)
    stock, fast = _twin_layers(**options)
    x = tf.random.stateless_normal((4, 9, 9, 5), seed=(1, 2))
    stock_y, stock_grads = _output_and_gradients(stock, x)
    fast_y, fast_grads = _output_and_gradients(fast, x)
    np.testing.assert_allclose(fast_y.numpy(), stock_y.numpy(), rtol=1e-5, atol=1e-5)
    assert len(fast_grads) == len(stock_grads)
    for fast_grad, stock_grad in zip(fast_grads, stock_grads):
        scale = float(tf.reduce_max(tf.abs(stock_grad))) or 1.0
        np.testing.assert_allclose(fast_grad.numpy() / scale, stock_grad.numpy() / scale, atol=1e-5)


def test_fast_path_covers_what_the_lab_uses_and_nothing_else():
    assert FastGradConv2D(4, 3, padding="same")._fast_path()
    assert FastGradConv2D(4, 2, padding="valid")._fast_path()
    assert not FastGradConv2D(4, 3, padding="same", strides=2)._fast_path()
    assert not FastGradConv2D(4, 3, padding="same", dilation_rate=2)._fast_path()
    assert not FastGradConv2D(4, 2, padding="same")._fast_path()


def test_saved_model_loads_in_safe_mode_with_identical_outputs(tmp_path):
    keras.utils.set_random_seed(0)
    inputs = keras.Input((8, 8, 3))
    outputs = keras.layers.GlobalAveragePooling2D()(FastGradConv2D(4, 3, padding="same", activation="relu")(inputs))
    model = keras.Model(inputs, outputs)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert any(isinstance(layer, FastGradConv2D) for layer in loaded.layers)
    x = np.random.default_rng(0).normal(size=(2, 8, 8, 3)).astype("float32")
    np.testing.assert_array_equal(np.asarray(loaded(x)), np.asarray(model(x)))


def test_vgg16_transfer_head_trains_block5_with_fast_convolutions():
    from training.models import build_parts

    keras.utils.set_random_seed(0)
    built = build_parts("vgg16_transfer", None)
    head_convs = [layer for layer in built.head.layers if isinstance(layer, keras.layers.Conv2D)]
    assert [layer.name for layer in head_convs] == ["block5_conv1", "block5_conv2", "block5_conv3"]
    assert all(isinstance(layer, FastGradConv2D) for layer in head_convs)
    # The complete model is still base then head, so a saved model predicts what training saw.
    x = np.random.default_rng(0).uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    np.testing.assert_allclose(np.asarray(built.model(x)), np.asarray(built.head(built.base(x))), rtol=1e-5, atol=1e-6)
