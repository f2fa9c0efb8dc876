"""Grad-CAM points at the planted evidence, works through nested backbones, and overlays cleanly."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from PIL import Image

from serving.gradcam import find_target_layer_path, gradcam_heatmap, jet_colours, overlay


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
    heatmap = gradcam_heatmap(model, image, class_index=3)
    assert heatmap.shape == (input_size, input_size) and np.isfinite(heatmap).all()
    assert 0.0 <= heatmap.min() and heatmap.max() <= 1.0
