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
