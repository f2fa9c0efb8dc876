"""Custom Keras layers of the lab, serializable so saved models load with ``safe_mode=True``.

Whoever loads a ``model.keras`` must ``import training.layers`` first so Keras
knows these classes. No Lambda layers anywhere: a Lambda's code cannot be
loaded safely.
"""

from __future__ import annotations

import keras
from keras import ops

# ImageNet channel means in BGR order, as keras.applications.vgg16.preprocess_input uses them.
VGG16_BGR_MEANS = (103.939, 116.779, 123.68)


@keras.saving.register_keras_serializable(package="cifarlab")
class VggCaffePreprocessing(keras.layers.Layer):
    """VGG16's "caffe" preprocessing: RGB pixels 0-255 to BGR with the ImageNet means subtracted."""

    def call(self, inputs):
        bgr = ops.flip(ops.cast(inputs, self.compute_dtype), axis=-1)
        return bgr - ops.convert_to_tensor(VGG16_BGR_MEANS, dtype=self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return input_shape
