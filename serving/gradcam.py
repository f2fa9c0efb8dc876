"""Grad-CAM: which part of the image made a model choose a class.

Grad-CAM (Selvaraju et al., 2017) weights each channel of the last convolutional
feature map by the mean gradient of the class score with respect to it, sums the
channels and keeps the positive part. Here:

- the feature map is that of the last convolution, taken after the batch
  normalization, activation or residual ``Add`` layers that directly follow it
  (ResNet50V2's ``post_relu``, VGG16's ``block5_conv3``); for transfer models
  it is found inside the nested backbone;
- the class score is the logit when the model ends in a softmax ``Dense`` or
  ``Softmax`` layer (gradients of a saturated probability vanish), otherwise the
  log-probability.

Usage::

    from serving.gradcam import gradcam_heatmap, overlay
    heatmap = gradcam_heatmap(model, to_model_input(image, 32), class_index=3)
    st.image(overlay(np.asarray(image_32), heatmap))
"""

from __future__ import annotations

import numpy as np
from PIL import Image

# Layers that keep the spatial map of the convolution before them and only
# transform it element-wise (or add a skip connection): Grad-CAM uses the
# map after them, which is what the next block actually receives.
_FOLLOW_UP_LAYER_TYPES = ("BatchNormalization", "Activation", "ReLU", "LeakyReLU", "PReLU", "ELU", "Add")
OVERLAY_OPACITY = 0.45


def gradcam_heatmap(model, model_input: np.ndarray, class_index: int) -> np.ndarray:
    """Grad-CAM of ``class_index`` for one model input (H, W, 3): float32 (H, W) in 0-1.

    ``model_input`` is what ``serving.predict.to_model_input`` returns. The map
    is 0 everywhere when no region speaks for the class.
    """
    import tensorflow as tf

    model_input = np.asarray(model_input, dtype=np.float32)
    if model_input.ndim != 3 or model_input.shape[-1] != 3:
        raise ValueError(f"Expected one image of shape (H, W, 3), got {model_input.shape}")
    if not 0 <= class_index < model.output_shape[-1]:
        raise ValueError(f"class_index must be between 0 and {model.output_shape[-1] - 1}, got {class_index}")
    target_path = find_target_layer_path(model)
    softmax_path = _softmax_layer_path(model)
    captured: dict = {}
    batch = tf.convert_to_tensor(model_input[None])
    with tf.GradientTape() as tape:
        # Watch the input so every operation is recorded, frozen backbones included.
        tape.watch(batch)
        captured["output"] = _run_capturing(model, batch, target_path, softmax_path, captured)
        if "logits" in captured:
            score = captured["logits"][:, class_index]
        else:
            score = tf.math.log(captured["output"][:, class_index] + 1e-12)
    feature_map = captured["feature_map"]
    gradients = tape.gradient(score, feature_map)
    if gradients is None:
        raise ValueError("The class score does not depend on the last convolution; Grad-CAM is undefined here.")
    channel_weights = tf.reduce_mean(gradients, axis=(0, 1, 2))
    cam = tf.nn.relu(tf.reduce_sum(feature_map[0] * channel_weights, axis=-1)).numpy().astype(np.float32)
    height, width = model_input.shape[:2]
    resized = np.asarray(Image.fromarray(cam).resize((width, height), Image.Resampling.BILINEAR), dtype=np.float32)
    resized = np.clip(resized, 0.0, None)
    peak = float(resized.max())
    if not np.isfinite(peak) or peak <= 0.0:
        return np.zeros((height, width), dtype=np.float32)
    return resized / peak


def find_target_layer_path(model) -> list:
    """Layers from ``model`` down to the Grad-CAM target: ``[backbone, ..., layer]``.

    The target is the last convolution (searching nested models too), moved
    forward over the element-wise layers that directly follow it in the same model.
    """
    import keras

    convolution_types = (keras.layers.Conv2D, keras.layers.DepthwiseConv2D, keras.layers.SeparableConv2D)
    found = _last_convolution_path(model, convolution_types)
    if found is None:
        raise ValueError(f"Model {model.name!r} has no 2-D convolution, so Grad-CAM cannot be computed.")
    container = found[-2] if len(found) > 1 else model
    siblings = container.layers
    position = next(index for index, layer in enumerate(siblings) if layer is found[-1])
    target = found[-1]
    for layer in siblings[position + 1:]:
        if type(layer).__name__ not in _FOLLOW_UP_LAYER_TYPES or len(layer.output.shape) != 4:
            break
        target = layer
    return found[:-1] + [target]


def _last_convolution_path(container, convolution_types) -> list | None:
    """Path to the last convolution in ``container``'s layer order, looking inside nested models."""
    for layer in reversed(container.layers):
        if isinstance(layer, convolution_types):
            return [layer]
        if hasattr(layer, "layers") and layer.layers:
            inner = _last_convolution_path(layer, convolution_types)
            if inner is not None:
                return [layer] + inner
    return None


def _softmax_layer_path(model) -> list:
    """Path to the softmax layer producing the output (``[head, dense]`` for a nested head), or []."""
    path = []
    container = model
    while getattr(container, "layers", None):
        last = container.layers[-1]
        path.append(last)
        if _is_softmax_output(last):
            return path
        container = last
    return []


def _is_softmax_output(layer) -> bool:
    name = type(layer).__name__
    if name == "Softmax":
        return True
    return name in ("Dense", "Activation") and getattr(getattr(layer, "activation", None), "__name__", "") == "softmax"


def _run_capturing(container, inputs, target_path: list, softmax_path: list, captured: dict):
    """Run ``container`` in inference mode, storing the target layer's output and the logits in ``captured``.

    ``target_path`` and ``softmax_path`` lead from ``container``'s own layers
    down to the layers to watch; nested models on either path are run layer by
    layer the same way, every other layer is called as the model would call it.
    """
    import keras
    from keras.src.models.functional import operation_fn as inference_call

    target_head = target_path[0] if target_path else None
    softmax_head = softmax_path[0] if softmax_path else None

    def operation(op):
        if op is target_head and len(target_path) == 1:
            def call_and_capture(*args, **kwargs):
                outputs = inference_call(op, training=False)(*args, **kwargs)
                captured["feature_map"] = outputs
                return outputs
            return call_and_capture
        if op is softmax_head and len(softmax_path) == 1:
            return lambda *args, **kwargs: _call_softmax_layer(op, args[0], captured)
        if op is target_head or op is softmax_head:
            inner_target = target_path[1:] if op is target_head else []
            inner_softmax = softmax_path[1:] if op is softmax_head else []
            return lambda *args, **kwargs: _run_capturing(op, args[0], inner_target, inner_softmax, captured)
        return inference_call(op, training=False)

    if isinstance(container, keras.Sequential):
        outputs = inputs
        for layer in container.layers:
            outputs = operation(layer)(outputs)
        return outputs
    # Functional.call does exactly this, with the model's own operation_fn.
    outputs = container._run_through_graph(container._standardize_inputs(inputs), operation_fn=operation)
    return outputs[0] if isinstance(outputs, (list, tuple)) and len(outputs) == 1 else outputs


def _call_softmax_layer(layer, inputs, captured: dict):
    """Run the softmax output layer while keeping the logits it turns into probabilities."""
    from keras import ops

    if type(layer).__name__ == "Dense":
        logits = ops.matmul(inputs, layer.kernel)
        if layer.use_bias:
            logits = logits + layer.bias
    else:
        logits = inputs
    captured["logits"] = logits
    return ops.softmax(logits, axis=-1)


def overlay(image_rgb_uint8: np.ndarray, heatmap: np.ndarray, opacity: float = OVERLAY_OPACITY) -> np.ndarray:
    """Blend a 0-1 ``heatmap`` (any size) over an RGB uint8 image with a jet colour map; returns uint8 RGB."""
    image = np.asarray(image_rgb_uint8)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"Expected a uint8 RGB image (H, W, 3), got {image.dtype} {image.shape}")
    heatmap = np.asarray(heatmap, dtype=np.float32)
    if heatmap.ndim != 2:
        raise ValueError(f"Expected a 2-D heatmap, got shape {heatmap.shape}")
    if not 0.0 <= opacity <= 1.0:
        raise ValueError(f"opacity must be between 0 and 1, got {opacity}")
    height, width = image.shape[:2]
    if heatmap.shape != (height, width):
        heatmap = np.asarray(Image.fromarray(heatmap).resize((width, height), Image.Resampling.BILINEAR))
    colours = jet_colours(np.clip(np.nan_to_num(heatmap), 0.0, 1.0))
    blended = (1.0 - opacity) * image.astype(np.float32) + opacity * colours
    return np.clip(np.rint(blended), 0, 255).astype(np.uint8)


def jet_colours(values: np.ndarray) -> np.ndarray:
    """The classic "jet" colour map (blue, cyan, yellow, red) for values in 0-1, as float 0-255 RGB."""
    values = np.asarray(values, dtype=np.float32)[..., None]
    centres = np.array([0.75, 0.5, 0.25], dtype=np.float32)  # where red, green and blue peak
    return np.clip(1.5 - np.abs(4.0 * (values - centres)), 0.0, 1.0) * 255.0
