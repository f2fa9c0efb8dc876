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

It follows keras-io's Grad-CAM example (``examples/vision/grad_cam.py``): a
``grad_model`` maps the image to ``[feature map, class scores, predictions]``
and ``tf.GradientTape`` differentiates one score with respect to the map. That
example takes ``model.get_layer(name).output``, which only works when the
convolution sits directly in the model; here the graph is rebuilt with
``keras.models.clone_model(clone_function=lambda layer: layer, call_function=...)``
(public Keras API, the same layers and weights), opening the nested models that
hold the convolution or the softmax so that every tensor Grad-CAM needs lies in
one graph. Its predictions equal ``model.predict``.

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
# Keeps the log of a probability that underflowed to 0 finite.
_LOG_EPSILON = 1e-12


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
    grad_model = gradcam_model(model)
    batch = tf.convert_to_tensor(model_input[None])
    with tf.GradientTape() as tape:
        # Watch the input so every operation is recorded, frozen backbones included
        # (the tape only watches trainable variables by itself).
        tape.watch(batch)
        feature_map, class_scores, _ = grad_model(batch, training=False)
        score = class_scores[:, class_index]
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


def gradcam_model(model):
    """keras-io's ``grad_model`` for any Functional or Sequential model, nested backbones included.

    Returns a ``keras.Model`` with ``model``'s inputs and three outputs:
    the Grad-CAM feature map (see ``find_target_layer_path``), the class scores
    (logits when the model ends in softmax, else log-probabilities) and the
    model's own predictions. It shares ``model``'s layers and weights, so it
    follows later weight changes. Building it costs a fraction of one
    forward pass (about 0.2 s for ResNet50V2 at 224x224 on a 2-core CPU, a
    few milliseconds for the CIFAR-sized models), so it is rebuilt per call
    rather than cached.
    """
    import keras
    from keras import ops

    target_path = find_target_layer_path(model)
    softmax_path = _softmax_layer_path(model)
    target, softmax_layer = target_path[-1], (softmax_path[-1] if softmax_path else None)
    # Models holding the target or the softmax are opened up, so that their
    # inner tensors become tensors of the one rebuilt graph.
    to_open = {id(layer) for layer in target_path[:-1] + softmax_path[:-1]}
    captured: dict = {}

    def call_layer(layer, *args, **kwargs):
        if id(layer) in to_open:
            # The call's keyword arguments (``training``, ``mask``) are left out:
            # the Grad-CAM model runs in inference mode as a whole.
            return _call_opened(layer, args[0], call_layer)
        outputs = layer(*args, **kwargs)
        if layer is target:
            captured["feature_map"] = outputs
        if layer is softmax_layer:
            captured["logits"] = _symbolic_logits(layer, args[0])
        return outputs

    inputs = [keras.Input(batch_shape=tensor.shape, dtype=tensor.dtype) for tensor in model.inputs]
    inputs = inputs[0] if len(inputs) == 1 else inputs
    predictions = _call_opened(model, inputs, call_layer)
    if "feature_map" not in captured:
        raise ValueError(f"Grad-CAM could not reach layer {target.name!r} when rebuilding {model.name!r}.")
    class_scores = captured.get("logits")
    if class_scores is None:
        class_scores = ops.log(predictions + _LOG_EPSILON)
    return keras.Model(inputs, [captured["feature_map"], class_scores, predictions], name=f"{model.name}_gradcam")


def _call_opened(container, inputs, call_layer):
    """Apply ``container``'s layers one by one to the symbolic ``inputs``, each through ``call_layer``.

    A Sequential model's layers are called in order. A Functional model is
    rebuilt on the given tensors by ``keras.models.clone_model`` reusing its
    layers; its output is the result of the last call, since a Functional model
    runs its graph in dependency order and its single output is computed last.
    """
    import keras

    if isinstance(container, keras.Sequential):
        (outputs,) = keras.tree.flatten(inputs)
        for layer in container.layers:
            outputs = call_layer(layer, outputs)
        return outputs
    results = []

    def call_and_keep(layer, *layer_args, **layer_kwargs):
        results.append(call_layer(layer, *layer_args, **layer_kwargs))
        return results[-1]

    inputs = keras.tree.pack_sequence_as(container.input, keras.tree.flatten(inputs))
    try:
        keras.models.clone_model(container, input_tensors=inputs, clone_function=lambda layer: layer,
                                 call_function=call_and_keep)
    except ValueError as error:
        if results:
            raise  # a layer inside failed; its own message says why
        raise ValueError(
            f"Grad-CAM looks inside Functional and Sequential models only; {container.name!r} is not one ({error})."
        ) from None
    if len(container.outputs) != 1:
        raise ValueError(
            f"Grad-CAM opens nested models with one output; {container.name!r} has {len(container.outputs)}."
        )
    last = keras.tree.flatten(results[-1]) if results else []
    if len(last) != 1 or tuple(last[0].shape[1:]) != tuple(container.outputs[0].shape[1:]):
        raise ValueError(f"Grad-CAM could not rebuild {container.name!r}: its last operation is not its output.")
    return last[0]


def _symbolic_logits(layer, inputs):
    """The scores ``layer`` turns into probabilities: the input of a ``Softmax``, the pre-activation of a ``Dense``."""
    from keras import ops

    if type(layer).__name__ != "Dense":
        return inputs
    # The layer's own variables, not copies, so the scores follow its weights.
    logits = ops.matmul(inputs, layer.kernel)
    return ops.add(logits, layer.bias) if layer.use_bias else logits


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
