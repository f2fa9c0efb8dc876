"""Weights resolution: local ImageNet files first, a clear fallback or error when they are missing."""

import pytest

from training import weights
from training.weights import WeightsError, resolve_weights


def test_imagenet_file_in_the_keras_cache_is_used_without_download(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    file_name = weights.IMAGENET_FILES["resnet50v2_transfer"][0]
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / file_name).write_bytes(b"h5")
    resolved = resolve_weights("resnet50v2_transfer", "imagenet")
    assert resolved.label == "imagenet" and resolved.keras_value == str(tmp_path / "models" / file_name)


def test_imagenet_if_available_falls_back_to_random_init_with_a_note(tmp_path, monkeypatch):
    def offline(model_name):
        raise WeightsError(f"Keras needs the file {weights.IMAGENET_FILES[model_name][0]}")

    monkeypatch.setattr(weights, "_fetch_imagenet_file", offline)
    resolved = resolve_weights("vgg16_transfer", "imagenet_if_available")
    assert resolved.label == "none" and resolved.keras_value is None
    assert "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5" in resolved.note
    with pytest.raises(WeightsError, match="notop.h5"):
        resolve_weights("vgg16_transfer", "imagenet")


def test_a_local_weights_file_is_recorded_by_path(tmp_path):
    path = tmp_path / "vgg.h5"
    path.write_bytes(b"h5")
    resolved = resolve_weights("vgg16_transfer", str(path))
    assert resolved.label == f"file:{path}" and resolved.keras_value == str(path)


def test_models_without_a_backbone_refuse_pretrained_weights():
    with pytest.raises(WeightsError, match="--weights none"):
        resolve_weights("simple_cnn", "imagenet")
    assert resolve_weights("simple_cnn", "none").label == "none"


@pytest.fixture(scope="module")
def vgg16_notop_weights(tmp_path_factory):
    """A complete VGG16 'notop' weights file in Keras' legacy .h5 layout (random values, as the ImageNet file is not here)."""
    import h5py
    import keras
    from keras.src.legacy.saving import legacy_h5_format

    keras.utils.set_random_seed(0)
    backbone = keras.applications.VGG16(include_top=False, weights=None, input_shape=(32, 32, 3))
    path = tmp_path_factory.mktemp("weights") / "vgg16_notop.h5"
    with h5py.File(path, "w") as file:  # the layout of Keras' ImageNet files (model.save_weights writes the newer one)
        legacy_h5_format.save_weights_to_hdf5_group(file, backbone)
    return path, backbone.get_layer("block1_conv1").get_weights()[0]


def test_a_matching_weights_file_is_loaded_into_the_backbone(vgg16_notop_weights):
    from training.models import build_model

    path, first_kernel = vgg16_notop_weights
    model = build_model("vgg16_transfer", weights=str(path))
    loaded = next(layer for layer in model._flatten_layers() if layer.name == "block1_conv1").get_weights()[0]
    assert (loaded == first_kernel).all()


def test_a_weights_file_missing_a_layer_is_refused(vgg16_notop_weights, tmp_path):
    import h5py

    from training.models import build_model

    path, _ = vgg16_notop_weights
    partial = tmp_path / "partial.h5"
    partial.write_bytes(path.read_bytes())
    with h5py.File(partial, "a") as file:
        del file["block5_conv3"]
        names = [name for name in file.attrs["layer_names"] if name not in (b"block5_conv3", "block5_conv3")]
        file.attrs["layer_names"] = names
    with pytest.raises(WeightsError, match="does not fit vgg16_transfer"):
        build_model("vgg16_transfer", weights=str(partial))

