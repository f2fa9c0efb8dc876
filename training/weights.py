"""Which backbone weights a run uses: ImageNet, random init, or a local file.

``resolve_weights(model_name, requested)`` turns the user's ``--weights`` value
into what Keras' application constructors take, plus what ``run.json`` records.
ImageNet files are looked up in Keras' cache (``~/.keras/models``) before any
download is tried, so an offline machine with the file in place just works.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path

# The "notop" weight files Keras downloads for each transfer model's backbone.
IMAGENET_FILES = {
    "vgg16_transfer": (
        "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
        "https://storage.googleapis.com/tensorflow/keras-applications/vgg16/"
        "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
    ),
    "resnet50v2_transfer": (
        "resnet50v2_weights_tf_dim_ordering_tf_kernels_notop.h5",
        "https://storage.googleapis.com/tensorflow/keras-applications/resnet/"
        "resnet50v2_weights_tf_dim_ordering_tf_kernels_notop.h5",
    ),
}
DOWNLOAD_TIMEOUT_SECONDS = 15


class WeightsError(RuntimeError):
    """Weights could not be found or do not fit the model; the message says what to do."""


@dataclass(frozen=True)
class ResolvedWeights:
    """What to pass to Keras (``keras_value``) and what the run records (``label``, ``note``)."""

    keras_value: str | None  # "imagenet", a file path, or None for random init
    label: str               # "imagenet", "none" or "file:<path>"
    note: str | None = None  # why the weights differ from what was asked, if they do


def keras_models_folder() -> Path:
    """Where Keras keeps downloaded application weights."""
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "models"


def _fetch_imagenet_file(model_name: str) -> Path:
    """Return the cached ImageNet file, downloading it (with Keras' progress bar) if needed."""
    file_name, url = IMAGENET_FILES[model_name]
    cached = keras_models_folder() / file_name
    if cached.is_file():
        return cached
    import keras  # late: only a download needs it

    previous_timeout = socket.getdefaulttimeout()
    # An offline machine should fail in seconds, not hang on a dead connection.
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_SECONDS)
    try:
        return Path(keras.utils.get_file(file_name, url, cache_subdir="models"))
    except Exception as error:
        raise WeightsError(
            f"ImageNet weights for {model_name} are not available: Keras needs the file {file_name} "
            f"in {keras_models_folder()} and could not download it from {url} ({type(error).__name__}: {error}). "
            f"Copy that file there, or pass --weights PATH to a local copy of it, or --weights none to train from random weights."
        ) from None
    finally:
        socket.setdefaulttimeout(previous_timeout)


def resolve_weights(model_name: str, requested: str) -> ResolvedWeights:
    """Turn ``requested`` (imagenet | none | imagenet_if_available | path) into weights for ``model_name``."""
    if requested == "none":
        return ResolvedWeights(None, "none")
    if model_name not in IMAGENET_FILES:
        raise WeightsError(f"{model_name} has no pretrained backbone; use --weights none.")
    if requested == "imagenet":
        return ResolvedWeights(str(_fetch_imagenet_file(model_name)), "imagenet")
    if requested == "imagenet_if_available":
        try:
            return ResolvedWeights(str(_fetch_imagenet_file(model_name)), "imagenet")
        except WeightsError as error:
            return ResolvedWeights(None, "none", note=f"ImageNet weights were asked for if available; trained from random weights instead. {error}")
    path = Path(requested).expanduser()
    if not path.is_file():
        raise WeightsError(
            f"Weights file not found: {path}. Pass --weights imagenet, --weights none, "
            f"or --weights PATH to an existing file such as {IMAGENET_FILES[model_name][0]}."
        )
    return ResolvedWeights(str(path.resolve()), f"file:{path.resolve()}")


def imagenet_unavailable(model_name: str, download: bool = True) -> str | None:
    """Why ImageNet weights for ``model_name`` cannot be had here (cache, then a download), or None when they can.

    ``download=False`` looks in Keras' cache only (no network, no TensorFlow import): for plans.
    """
    file_name = IMAGENET_FILES[model_name][0]
    if not download:
        cached = keras_models_folder() / file_name
        return None if cached.is_file() else f"the ImageNet file {file_name} is not in {keras_models_folder()} (a real run tries to download it)"
    try:
        _fetch_imagenet_file(model_name)
    except WeightsError as error:
        return str(error)
    return None
