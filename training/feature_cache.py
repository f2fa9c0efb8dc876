"""Frozen-base features computed once, cached on disk, reused by every epoch and every later run.

A transfer model's frozen base is a fixed function of its input, so when the
base sees no random augmentation its outputs can be computed once and the head
trained on them: per-epoch cost drops from the whole network to the head only.
Flip augmentation survives as two cached variants (plain and mirrored) that
the feature pipeline picks from at random per image and epoch. Shift, rotation,
zoom and the ResNet head's GaussianNoise before the base are not applied when
training from the cache; ``run.json["feature_cache"]`` says so.

Files: ``<artifacts>/cache/features/<key>.npy`` (float32, one row per image),
where ``key`` hashes the images, the model name, the frozen base's weights,
the input size and the variant, so a stale entry can never be picked up.
The folder is safe to delete.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from runstore.layout import CACHE_DIR

FEATURES_DIR = "features"
VARIANTS = ("plain", "mirrored")


def features_folder(artifacts_dir: str | os.PathLike) -> Path:
    """Where cached feature files live."""
    return Path(artifacts_dir) / CACHE_DIR / FEATURES_DIR


def array_digest(array: np.ndarray) -> str:
    """SHA-256 of an array's shape, dtype and bytes."""
    digest = hashlib.sha256(f"{array.shape}{array.dtype}".encode())
    digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def weights_digest(model) -> str:
    """SHA-256 of every weight of ``model``: the cache key part that pins the exact frozen base."""
    digest = hashlib.sha256()
    for weight in model.get_weights():
        digest.update(np.ascontiguousarray(weight).tobytes())
    return digest.hexdigest()


def cache_key(images_digest: str, model_name: str, base_digest: str, input_size: int, variant: str) -> str:
    """The file stem for one (images, model, weights, input size, variant) combination."""
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {', '.join(VARIANTS)}, got {variant!r}")
    text = "|".join((images_digest, model_name, base_digest, str(input_size), variant))
    return f"{model_name}-{input_size}-{variant}-{hashlib.sha256(text.encode()).hexdigest()[:32]}"


def _save_atomically(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            np.save(handle, array, allow_pickle=False)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


@dataclass(frozen=True)
class TrainingFeatures:
    """The frozen base's outputs for one run's split: what the head trains and validates on."""

    train: np.ndarray
    train_mirrored: np.ndarray | None  # None when the run trains without flip augmentation
    validation: np.ndarray


class FeatureCache:
    """Computes or reuses the frozen base's features for one model; counts hits and misses."""

    def __init__(self, artifacts_dir: str | os.PathLike, model_name: str, base, input_size: int, batch_size: int = 128, verbose: int = 1):
        self.folder = features_folder(artifacts_dir)
        self.model_name = model_name
        self.base = base
        self.input_size = input_size
        self.batch_size = batch_size
        self.verbose = verbose
        self.base_digest = weights_digest(base)
        self.hits: list[str] = []
        self.misses: list[str] = []

    def features(self, images: np.ndarray, variant: str = "plain") -> np.ndarray:
        """The base's outputs for ``images`` (mirrored first when ``variant`` is "mirrored")."""
        key = cache_key(array_digest(images), self.model_name, self.base_digest, self.input_size, variant)
        path = self.folder / f"{key}.npy"
        if path.is_file():
            try:
                cached = np.load(path, allow_pickle=False)
                if cached.shape[0] == len(images):
                    self.hits.append(path.name)
                    return cached
            except (OSError, ValueError):
                pass  # a damaged entry is recomputed and overwritten below
        from training.pipeline import make_eval_dataset  # TensorFlow only when computing

        dataset = make_eval_dataset(images, None, self.batch_size, self.input_size, flip=variant == "mirrored")
        computed = np.asarray(self.base.predict(dataset, verbose=self.verbose), dtype=np.float32)
        _save_atomically(path, computed)
        self.misses.append(path.name)
        return computed

    def training_features(self, x_train: np.ndarray, x_val: np.ndarray, mirrored: bool) -> TrainingFeatures:
        """Every array a head-only run reads, computed or reused in one go (the mirrored table only with ``mirrored``)."""
        return TrainingFeatures(
            train=self.features(x_train, "plain"),
            train_mirrored=self.features(x_train, "mirrored") if mirrored else None,
            validation=self.features(x_val, "plain"),
        )

    def report(self) -> dict:
        """What ``run.json["feature_cache"]`` records."""
        return {
            "folder": str(self.folder),
            "reused": sorted(set(self.hits)),
            "computed": sorted(set(self.misses)),
            "skipped_augmentation": "shift, rotation, zoom and any noise before the frozen base (flip kept as two cached variants)",
        }
