"""Why the lab's models use FastGradConv2D: TensorFlow's CPU convolution input gradient vs a forward convolution.

Part 1, per layer shape (the stages of simple_cnn, fast_cnn and VGG16): time of
TensorFlow's ``Conv2DBackpropInput`` next to the same gradient computed as a
forward convolution with the rotated kernel (what ``labkeras.layers`` does),
their ratio, and the largest relative difference (the two are the same maths).

Part 2, per model: one training step (forward, backward, optimizer update) with
stock ``keras.layers.Conv2D`` next to the lab's ``FastGradConv2D`` (identical
weights and outputs), and the ratio.

    python bench/conv_gradient.py [--repeats 5] [--batch 64]
"""

from __future__ import annotations

import argparse

import common  # noqa: F401
from common import header, median_seconds, ratio_text, row, with_stock_convolutions

# (height/width, channels) of the 3x3 stride-1 convolutions the lab trains.
LAYER_SHAPES = ((32, 64), (16, 128), (8, 256), (4, 512), (2, 512))
MODELS = ("simple_cnn", "fast_cnn", "vgg16_bn", "vgg16_transfer_head")


def compare_layer(batch: int, size: int, channels: int, repeats: int) -> tuple[float, float, float]:
    """(stock input-gradient seconds, forward-convolution seconds, max relative difference) for one shape."""
    import tensorflow as tf

    from labkeras.layers import conv_input_gradient

    shape = (batch, size, size, channels)
    upstream = tf.random.stateless_normal(shape, seed=(0, 1))
    kernel = tf.random.stateless_normal((3, 3, channels, channels), seed=(0, 2))
    stock = tf.function(lambda: tf.raw_ops.Conv2DBackpropInput(
        input_sizes=shape, filter=kernel, out_backprop=upstream, strides=[1, 1, 1, 1], padding="SAME"))
    forward = tf.function(lambda: conv_input_gradient(upstream, kernel, "same"))
    reference = stock()
    difference = float(tf.reduce_max(tf.abs(reference - forward())) / tf.reduce_max(tf.abs(reference)))
    return median_seconds(stock, repeats), median_seconds(forward, repeats), difference


def lab_model(name: str):
    """The lab's model by name; ``vgg16_transfer_head`` is the part trained on cached features."""
    from training.models import build_model, build_parts

    if name == "vgg16_transfer_head":
        return build_parts("vgg16_transfer", None).head
    return build_model(name)


def train_step_seconds(model, batch: int, repeats: int) -> float:
    """Median seconds of one ``train_on_batch`` (SGD with momentum) on a fixed random batch."""
    import keras
    import numpy as np

    rng = np.random.default_rng(0)
    inputs = rng.uniform(0, 255, (batch, *model.input_shape[1:])).astype("float32")
    labels = keras.utils.to_categorical(rng.integers(0, 10, batch), 10)
    model.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9), loss="categorical_crossentropy")
    return median_seconds(lambda: model.train_on_batch(inputs, labels), repeats)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats per figure (median reported)")
    parser.add_argument("--batch", type=int, default=64, help="images per batch")
    arguments = parser.parse_args(argv)

    import keras

    header("Convolution input gradient: TensorFlow's CPU kernel vs a forward convolution")
    row("layer (batch x size x size x channels)", "stock ms", "forward ms", "speed-up", "max rel. diff")
    for size, channels in LAYER_SHAPES:
        stock, forward, difference = compare_layer(arguments.batch, size, channels, arguments.repeats)
        row(f"{arguments.batch}x{size}x{size}x{channels}", f"{stock * 1000:.1f}", f"{forward * 1000:.1f}",
            ratio_text(stock, forward), f"{difference:.1e}")

    print("\nOne training step, stock Conv2D vs FastGradConv2D (same weights):", flush=True)
    row("model", "stock ms", "lab ms", "speed-up")
    for name in MODELS:
        keras.utils.set_random_seed(0)
        model = lab_model(name)
        stock = train_step_seconds(with_stock_convolutions(model), arguments.batch, arguments.repeats)
        fast = train_step_seconds(model, arguments.batch, arguments.repeats)
        row(name, f"{stock * 1000:.0f}", f"{fast * 1000:.0f}", ratio_text(stock, fast))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
