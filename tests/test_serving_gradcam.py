"""Grad-CAM points at the planted evidence, works through nested backbones, and overlays cleanly."""

from __future__ import annotations

import ast
from pathlib import Path

import keras
import numpy as np
import pytest
from PIL import Image

from serving.gradcam import find_target_layer_path, gradcam_heatmap, gradcam_model, jet_colours, overlay

PATCH = 8


def patch_images(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Dark noisy images; class 1 has a bright patch somewhere in the top-left quadrant, class 0 none."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 60, size=(count, 32, 32, 3)).astype(np.float32)
    labels = np.arange(count) % 2
    rng.shuffle(labels)
    for image, label in zip(images, labels):
        if label == 1:
            top, left = rng.integers(0, 16 - PATCH + 1, size=2)
            image[top:top + PATCH, left:left + PATCH] = 255.0
    return images, labels


@pytest.fixture(scope="module")
def patch_model():
    """A tiny CNN that learnt to find the patch (trained once for this module, a few seconds)."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input(shape=(32, 32, 3))
    features = keras.layers.Rescaling(1 / 255, name="scale")(inputs)
    features = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="conv_1")(features)
    features = keras.layers.MaxPooling2D(name="pool")(features)
    features = keras.layers.Conv2D(16, 3, padding="same", activation="relu", name="conv_2")(features)
    features = keras.layers.GlobalAveragePooling2D(name="gap")(features)
    outputs = keras.layers.Dense(2, activation="softmax", name="classes")(features)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    images, labels = patch_images(400, seed=0)
    model.fit(images, labels, epochs=6, batch_size=32, verbose=0)
    test_images, test_labels = patch_images(100, seed=1)
    accuracy = model.evaluate(test_images, test_labels, verbose=0)[1]
    assert accuracy > 0.95, f"the fixture model did not learn the patch task (accuracy {accuracy:.2f})"
    return model


def test_heatmap_mass_lies_in_the_quadrant_of_the_planted_patch(patch_model):
    images, labels = patch_images(20, seed=2)
    for image in images[labels == 1]:
        heatmap = gradcam_heatmap(patch_model, image, class_index=1)
        assert heatmap.shape == (32, 32) and heatmap.dtype == np.float32
        assert heatmap.min() >= 0.0 and heatmap.max() == pytest.approx(1.0)
        # The quadrant is a quarter of the image; most of the evidence must lie there.
        assert float(heatmap[:16, :16].sum() / heatmap.sum()) > 0.75


def test_nested_backbone_gives_the_same_heatmap_as_the_flat_model(patch_model):
    # The same trained layers, with the convolutions inside a nested Functional
    # backbone, as in the transfer models.
    backbone_input = keras.Input(shape=(32, 32, 3))
    features = backbone_input
    for name in ("scale", "conv_1", "pool", "conv_2"):
        features = patch_model.get_layer(name)(features)
    backbone = keras.Model(backbone_input, features, name="backbone")
    outer_input = keras.Input(shape=(32, 32, 3))
    outputs = patch_model.get_layer("classes")(patch_model.get_layer("gap")(backbone(outer_input)))
    nested = keras.Model(outer_input, outputs)

    assert [layer.name for layer in find_target_layer_path(nested)] == ["backbone", "conv_2"]
    images, labels = patch_images(4, seed=3)
    image = images[labels == 1][0]
    np.testing.assert_allclose(gradcam_heatmap(nested, image, 1), gradcam_heatmap(patch_model, image, 1), atol=1e-5)


def test_heatmap_equals_the_textbook_computation_on_the_logits(patch_model):
    # Grad-CAM by hand with the public API: conv_2's map, logits rebuilt from the
    # Dense layer's weights, channel weights = mean gradient, ReLU, upsample.
    import tensorflow as tf

    split = keras.Model(patch_model.input, [patch_model.get_layer("conv_2").output, patch_model.get_layer("gap").output])
    dense = patch_model.get_layer("classes")
    images, labels = patch_images(4, seed=4)
    image = images[labels == 1][0]
    with tf.GradientTape() as tape:
        feature_map, pooled = split(image[None], training=False)
        tape.watch(feature_map)
        pooled = tf.reduce_mean(feature_map, axis=(1, 2))
        logit = (tf.matmul(pooled, dense.kernel) + dense.bias)[:, 1]
    weights = tf.reduce_mean(tape.gradient(logit, feature_map), axis=(0, 1, 2))
    cam = tf.nn.relu(tf.reduce_sum(feature_map[0] * weights, axis=-1)).numpy()
    expected = np.asarray(Image.fromarray(cam).resize((32, 32), Image.Resampling.BILINEAR))
    expected = np.clip(expected, 0, None) / np.clip(expected, 0, None).max()
    np.testing.assert_allclose(gradcam_heatmap(patch_model, image, 1), expected, atol=1e-4)


def tiny_backbone(name: str) -> keras.Model:
    """A keras.applications-like backbone: two convolutions, the last followed by batch norm and ReLU."""
    inputs = keras.Input(shape=(16, 16, 3))
    features = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="conv_1")(inputs)
    features = keras.layers.MaxPooling2D(name="pool")(features)
    features = keras.layers.Conv2D(6, 3, padding="same", name="conv_2")(features)
    features = keras.layers.BatchNormalization(name="conv_2_bn")(features)
    features = keras.layers.Activation("relu", name="post_relu")(features)
    return keras.Model(inputs, features, name=name)


def backbone_then_head_model() -> tuple[keras.Model, keras.Model]:
    """resnet50v2_transfer's layout: scaling, a frozen nested backbone, pooling, then a nested softmax head."""
    keras.utils.set_random_seed(1)
    backbone = tiny_backbone("backbone")
    backbone.trainable = False
    features = keras.Input(shape=(6,))
    head_output = keras.layers.Dense(5, activation="softmax", name="classes")(keras.layers.Dense(8, name="dense")(features))
    head = keras.Model(features, head_output, name="head")
    inputs = keras.Input(shape=(16, 16, 3))
    scaled = keras.layers.Rescaling(1 / 127.5, offset=-1.0, name="scale")(inputs)
    pooled = keras.layers.GlobalAveragePooling2D(name="gap")(backbone(scaled))
    return keras.Model(inputs, head(pooled)), backbone


def base_then_head_model() -> keras.Model:
    """vgg16_transfer's layout: a frozen nested base, then a nested head holding the last convolution and the softmax."""
    keras.utils.set_random_seed(2)
    inputs = keras.Input(shape=(16, 16, 3))
    base_output = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="base_conv")(inputs)
    base = keras.Model(inputs, keras.layers.MaxPooling2D(name="base_pool")(base_output), name="base")
    base.trainable = False
    features = keras.Input(shape=(8, 8, 4))
    head_features = keras.layers.Conv2D(6, 3, padding="same", activation="relu", name="head_conv")(features)
    head_features = keras.layers.Dropout(0.5)(keras.layers.Flatten()(head_features))
    head = keras.Model(features, keras.layers.Dense(5, activation="softmax", name="classes")(head_features), name="head")
    outer = keras.Input(shape=(16, 16, 3))
    return keras.Model(outer, head(base(outer)))


def sequential_backbone_model() -> keras.Model:
    """A Sequential backbone nested in a Functional model."""
    keras.utils.set_random_seed(3)
    backbone = keras.Sequential([keras.Input(shape=(16, 16, 3)), keras.layers.Conv2D(4, 3, name="seq_conv"),
                                 keras.layers.ReLU(name="seq_relu")], name="seq_backbone")
    inputs = keras.Input(shape=(16, 16, 3))
    outputs = keras.layers.Dense(5, activation="softmax")(keras.layers.GlobalAveragePooling2D()(backbone(inputs)))
    return keras.Model(inputs, outputs)


@pytest.mark.parametrize(
    "build, expected_path",
    [
        (lambda: backbone_then_head_model()[0], ["backbone", "post_relu"]),
        (base_then_head_model, ["head", "head_conv"]),
        (sequential_backbone_model, ["seq_backbone", "seq_relu"]),
    ],
    ids=["backbone_then_head", "base_then_head", "sequential_backbone"],
)
def test_rebuilt_nested_models_predict_exactly_what_the_model_predicts(build, expected_path):
    model = build()
    assert [layer.name for layer in find_target_layer_path(model)] == expected_path
    images = np.random.default_rng(5).uniform(0, 255, (3, 16, 16, 3)).astype(np.float32)
    feature_map, class_scores, predictions = gradcam_model(model)(images, training=False)
    expected = model.predict(images, verbose=0)
    np.testing.assert_allclose(predictions.numpy(), expected, atol=1e-6)
    # Every model here ends in softmax, so the class scores are its logits.
    np.testing.assert_allclose(keras.ops.softmax(class_scores).numpy(), expected, atol=1e-6)
    assert feature_map.shape[0] == 3 and len(feature_map.shape) == 4
    heatmaps = [gradcam_heatmap(model, images[0], class_index) for class_index in range(5)]
    assert all(heatmap.shape == (16, 16) and np.isfinite(heatmap).all() for heatmap in heatmaps)
    # A random model need not see evidence for every class, but it does for some.
    assert max(heatmap.max() for heatmap in heatmaps) == pytest.approx(1.0)


def test_feature_map_of_a_frozen_nested_backbone_is_the_backbones_own_activation():
    model, backbone = backbone_then_head_model()
    images = np.random.default_rng(6).uniform(0, 255, (2, 16, 16, 3)).astype(np.float32)
    feature_map, _, _ = gradcam_model(model)(images, training=False)
    # keras-io's sub-model, built on the backbone alone and fed the scaled pixels.
    backbone_activation = keras.Model(backbone.input, backbone.get_layer("post_relu").output)
    expected = backbone_activation(model.get_layer("scale")(images), training=False)
    np.testing.assert_allclose(feature_map.numpy(), expected.numpy(), atol=1e-6)


def test_models_ending_without_softmax_score_the_log_probability():
    keras.utils.set_random_seed(4)
    inputs = keras.Input(shape=(8, 8, 3))
    features = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(3, 3, name="conv")(inputs))
    model = keras.Model(inputs, keras.layers.Dense(4, activation="sigmoid")(features))
    images = np.random.default_rng(7).uniform(0, 255, (2, 8, 8, 3)).astype(np.float32)
    _, class_scores, predictions = gradcam_model(model)(images, training=False)
    np.testing.assert_allclose(class_scores.numpy(), np.log(predictions.numpy() + 1e-12), rtol=1e-5)


def test_a_nested_model_with_two_outputs_is_refused_with_a_reason():
    inputs = keras.Input(shape=(8, 8, 3))
    convolved = keras.layers.Conv2D(2, 3, name="conv")(inputs)
    two_outputs = keras.Model(inputs, [convolved, keras.layers.ReLU()(convolved)], name="two_outputs")
    outer = keras.Input(shape=(8, 8, 3))
    first, second = two_outputs(outer)
    pooled = keras.layers.Concatenate()([keras.layers.Flatten()(first), keras.layers.Flatten()(second)])
    model = keras.Model(outer, keras.layers.Dense(3, activation="softmax")(pooled))
    with pytest.raises(ValueError, match="one output; 'two_outputs' has 2"):
        gradcam_heatmap(model, np.zeros((8, 8, 3), dtype=np.float32), 0)


class SubclassedBackbone(keras.Model):
    """A backbone whose graph Keras does not know: Grad-CAM cannot look inside it."""

    def __init__(self):
        super().__init__(name="subclassed")
        self.conv = keras.layers.Conv2D(2, 3)

    def call(self, inputs):
        return self.conv(inputs)


def test_a_subclassed_nested_model_is_refused_with_a_reason():
    inputs = keras.Input(shape=(8, 8, 3))
    pooled = keras.layers.GlobalAveragePooling2D()(SubclassedBackbone()(inputs))
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(pooled))
    with pytest.raises(ValueError, match="Functional and Sequential models only; 'subclassed' is not one"):
        gradcam_heatmap(model, np.zeros((8, 8, 3), dtype=np.float32), 0)


def test_serving_uses_public_keras_api_only():
    # Private Keras (keras.src, underscored attributes) breaks on any Keras upgrade.
    offences = []
    for path in sorted(Path(__file__).resolve().parents[1].joinpath("serving").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("keras.src"):
                offences.append(f"{path.name}:{node.lineno} imports {node.module}")
            if isinstance(node, ast.Import):
                offences += [f"{path.name}:{node.lineno} imports {alias.name}" for alias in node.names
                             if alias.name.startswith("keras.src")]
            if (isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")
                    and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))):
                offences.append(f"{path.name}:{node.lineno} uses .{node.attr}")
    assert offences == []


def test_target_moves_over_batch_norm_and_activation_after_the_last_convolution():
    inputs = keras.Input(shape=(16, 16, 3))
    features = keras.layers.Conv2D(4, 3, name="conv")(inputs)
    features = keras.layers.BatchNormalization(name="bn")(features)
    features = keras.layers.Activation("relu", name="relu")(features)
    features = keras.layers.MaxPooling2D(name="pool")(features)
    outputs = keras.layers.Dense(10, activation="softmax")(keras.layers.Flatten()(features))
    model = keras.Model(inputs, outputs)
    assert [layer.name for layer in find_target_layer_path(model)] == ["relu"]
    heatmap = gradcam_heatmap(model, np.full((16, 16, 3), 100.0, dtype=np.float32), 4)
    assert heatmap.shape == (16, 16)


def test_sequential_models_work_too():
    model = keras.Sequential([
        keras.Input(shape=(16, 16, 3)),
        keras.layers.Conv2D(4, 3, activation="relu", name="only_conv"),
        keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(10, activation="softmax"),
    ])
    assert [layer.name for layer in find_target_layer_path(model)] == ["only_conv"]
    heatmap = gradcam_heatmap(model, np.random.default_rng(0).uniform(0, 255, (16, 16, 3)).astype(np.float32), 2)
    assert heatmap.shape == (16, 16) and 0.0 <= heatmap.min() and heatmap.max() <= 1.0


def test_vgg16_transfer_layout_targets_the_backbones_last_convolution():
    base = keras.applications.VGG16(weights=None, include_top=False, input_shape=(32, 32, 3))
    inputs = keras.Input(shape=(32, 32, 3))
    outputs = keras.layers.Dense(10, activation="softmax")(keras.layers.GlobalAveragePooling2D()(base(inputs)))
    model = keras.Model(inputs, outputs)
    assert [layer.name for layer in find_target_layer_path(model)] == [base.name, "block5_conv3"]
    heatmap = gradcam_heatmap(model, np.random.default_rng(0).uniform(0, 255, (32, 32, 3)).astype(np.float32), 0)
    assert heatmap.shape == (32, 32) and np.isfinite(heatmap).all()


def test_models_without_convolutions_and_bad_arguments_are_refused():
    inputs = keras.Input(shape=(8, 8, 3))
    dense_only = keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(keras.layers.Flatten()(inputs)))
    with pytest.raises(ValueError, match="no 2-D convolution"):
        gradcam_heatmap(dense_only, np.zeros((8, 8, 3), dtype=np.float32), 0)
    conv_model = keras.Sequential([keras.Input(shape=(8, 8, 3)), keras.layers.Conv2D(2, 3), keras.layers.Flatten(),
                                   keras.layers.Dense(10, activation="softmax")])
    with pytest.raises(ValueError):
        gradcam_heatmap(conv_model, np.zeros((8, 8, 3), dtype=np.float32), 10)
    with pytest.raises(ValueError):
        gradcam_heatmap(conv_model, np.zeros((8, 8), dtype=np.float32), 0)


def test_overlay_blends_a_jet_map_over_the_image():
    image = np.full((4, 6, 3), 100, dtype=np.uint8)
    cold, hot = np.zeros((4, 6), dtype=np.float32), np.ones((4, 6), dtype=np.float32)
    cold_view, hot_view = overlay(image, cold), overlay(image, hot)
    assert cold_view.dtype == np.uint8 and cold_view.shape == (4, 6, 3)
    assert cold_view[0, 0, 2] > cold_view[0, 0, 0]  # low values look blue
    assert hot_view[0, 0, 0] > hot_view[0, 0, 2]    # high values look red
    np.testing.assert_array_equal(overlay(image, hot, opacity=0.0), image)
    # A heatmap of another size is resized to the image.
    assert overlay(image, np.ones((2, 3), dtype=np.float32)).shape == (4, 6, 3)
    with pytest.raises(ValueError):
        overlay(image.astype(np.float32), hot)


def test_jet_colours_run_from_blue_through_green_to_red():
    colours = jet_colours(np.array([0.0, 0.5, 1.0]))
    assert colours[0].argmax() == 2 and colours[1].argmax() == 1 and colours[2].argmax() == 0


@pytest.mark.slow
@pytest.mark.parametrize(
    "name, input_size, expected_path",
    [
        ("vgg16_transfer", 32, ["vgg16_head", "block5_conv3"]),
        ("resnet50v2_transfer", 224, ["resnet50v2", "post_relu"]),
        ("vgg16_bn", 32, ["block5_conv3_relu"]),
    ],
)
def test_the_labs_own_architectures_target_their_last_convolution(name, input_size, expected_path):
    from training.models import build_model

    model = build_model(name, weights="none")
    assert [layer.name for layer in find_target_layer_path(model)] == expected_path
    image = np.random.default_rng(0).uniform(0, 255, (input_size, input_size, 3)).astype(np.float32)
    _, _, predictions = gradcam_model(model)(image[None], training=False)
    np.testing.assert_allclose(predictions.numpy(), model.predict(image[None], verbose=0), atol=1e-6)
    heatmap = gradcam_heatmap(model, image, class_index=3)
    assert heatmap.shape == (input_size, input_size) and np.isfinite(heatmap).all()
    assert 0.0 <= heatmap.min() and heatmap.max() <= 1.0
