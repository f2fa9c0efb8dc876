"""Custom Keras layers of the lab, serializable so saved models load with ``safe_mode=True``.

Whoever loads a ``model.keras`` must ``import labkeras.layers`` first so Keras
knows these classes. They are registered as ``cifarlab>VggCaffePreprocessing``
and ``cifarlab>FastGradConv2D``: Keras finds a class by that registered name,
so models saved when these lived in ``training.layers`` (their config names
that module) still load. Never change the package or the class names. No
Lambda layers anywhere: a Lambda's code cannot be loaded safely.
"""

from __future__ import annotations

import keras
from keras import ops

from runstore.preprocessing import CAFFE_BGR_MEANS

# The package under which every layer here is registered; saved configs name it.
REGISTERED_PACKAGE = "cifarlab"
# ImageNet channel means in BGR order, as keras.applications.vgg16.preprocess_input uses them.
VGG16_BGR_MEANS = CAFFE_BGR_MEANS


@keras.saving.register_keras_serializable(package=REGISTERED_PACKAGE)
class VggCaffePreprocessing(keras.layers.Layer):
    """VGG16's "caffe" preprocessing: RGB pixels 0-255 to BGR with the ImageNet means subtracted."""

    def call(self, inputs):
        bgr = ops.flip(ops.cast(inputs, self.compute_dtype), axis=-1)
        return bgr - ops.convert_to_tensor(VGG16_BGR_MEANS, dtype=self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return input_shape


def conv_input_gradient(upstream, kernel, padding: str):
    """Gradient of a stride-1 2-D convolution with respect to its input, as a *forward* convolution.

    The input gradient of ``conv(x, K)`` is the upstream gradient convolved with
    ``K`` rotated 180 degrees and with its in/out channels swapped ("full"
    padding for a "valid" convolution). The result is exact; what changes is
    the kernel TensorFlow runs: on x86 CPUs its Conv2DBackpropInput is 1.3-1.6x
    slower than a forward convolution at 16-32 pixels and up to 26x slower
    at VGG16's 2x2 and 4x4 stages with 512 channels (measured on the lab's
    2-core EPYC; bench/conv_gradient.py prints the comparison).
    """
    import tensorflow as tf

    flipped = tf.transpose(tf.reverse(kernel, axis=[0, 1]), perm=[0, 1, 3, 2])
    if padding == "same":
        return tf.nn.conv2d(upstream, flipped, strides=1, padding="SAME")
    rows, cols = kernel.shape[0] - 1, kernel.shape[1] - 1
    padded = tf.pad(upstream, [[0, 0], [rows, rows], [cols, cols], [0, 0]])
    return tf.nn.conv2d(padded, flipped, strides=1, padding="VALID")


def fast_gradient_conv2d(inputs, kernel, padding: str):
    """``tf.nn.conv2d`` (stride 1, NHWC) whose input gradient runs as a forward convolution."""
    import tensorflow as tf

    tf_padding = padding.upper()

    @tf.custom_gradient
    def convolve(x, k):
        def gradient(upstream):
            input_gradient = conv_input_gradient(upstream, k, padding)
            kernel_gradient = tf.raw_ops.Conv2DBackpropFilter(
                input=x, filter_sizes=tf.shape(k), out_backprop=upstream, strides=[1, 1, 1, 1], padding=tf_padding
            )
            return input_gradient, kernel_gradient

        return tf.nn.conv2d(x, k, strides=1, padding=tf_padding), gradient

    # Read the variable outside: custom_gradient must see plain tensors to differentiate both inputs.
    return convolve(tf.convert_to_tensor(inputs), tf.convert_to_tensor(kernel))


@keras.saving.register_keras_serializable(package=REGISTERED_PACKAGE)
class FastGradConv2D(keras.layers.Conv2D):
    """``keras.layers.Conv2D`` with the same weights and outputs, trained faster on CPUs.

    Only the backward pass differs (see ``fast_gradient_conv2d``), and only for
    the case every lab model uses: TensorFlow backend, channels-last, stride 1,
    no dilation, one group, "same" padding with an odd kernel or "valid"
    padding. Any other setting falls back to the stock convolution.
    """

    def _fast_path(self) -> bool:
        return (
            keras.backend.backend() == "tensorflow"
            and self.data_format == "channels_last"
            and tuple(self.strides) == (1, 1)
            and tuple(self.dilation_rate) == (1, 1)
            and self.groups == 1
            and (self.padding == "valid" or all(size % 2 == 1 for size in self.kernel_size))
        )

    def convolution_op(self, inputs, kernel):
        if not self._fast_path():
            return super().convolution_op(inputs, kernel)
        return fast_gradient_conv2d(inputs, kernel, self.padding)
