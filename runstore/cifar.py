"""CIFAR-10 as the run contract knows it: class names, the official python batches, the validation split.

NumPy only (no TensorFlow), so the dashboard can read test images without a
deep-learning framework; the trainer (``training.data``) builds on it and adds
Keras' downloader. The official batches are pickles, read through an
unpickler that builds only plain containers and NumPy arrays.

Where the data comes from, in order: an explicit folder, ``$CIFAR10_DIR``,
Keras' download cache (``~/.keras/datasets/cifar-10-batches-py``).

Usage::

    from runstore.cifar import CLASS_NAMES, load_test_set, local_data_folder, load_from_folder
    images, labels = load_test_set()                   # uint8 (10000, 32, 32, 3), int64 (10000,)
    data = load_from_folder(local_data_folder())       # every batch, validated and hashed
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np

CIFAR10_ENV = "CIFAR10_DIR"
CLASS_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
NUM_CLASSES = len(CLASS_NAMES)
IMAGE_SHAPE = (32, 32, 3)
TRAIN_FILES = tuple(f"data_batch_{index}" for index in range(1, 6))
TEST_FILE = "test_batch"
IMAGES_PER_BATCH = 10_000


class DataError(RuntimeError):
    """CIFAR-10 could not be found or is damaged; the message says what to do."""


@dataclass(frozen=True)
class Cifar10:
    """The data set as uint8 images (N, 32, 32, 3) and int64 labels (N,)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str
    sha256: str


@dataclass(frozen=True)
class Split:
    """Training images after a stratified validation set was taken out."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray


class BatchUnpickler(pickle.Unpickler):
    """Unpickler that only builds plain containers and NumPy arrays.

    The official batches are pickles; a tampered file could otherwise run
    arbitrary code when loaded.
    """

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
    }

    def find_class(self, module: str, name: str):
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


# What a user can do about a damaged or incomplete folder: said after every such error.
DATA_FIX = ("Download the CIFAR-10 python version again (cifar-10-python.tar.gz, https://www.cs.toronto.edu/~kriz/cifar.html), "
            f"unpack it, and point {CIFAR10_ENV} or --data-dir at its cifar-10-batches-py folder.")


def read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Read one batch file; raise ``DataError`` naming the file, and saying how to replace it, when it is damaged."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"CIFAR-10 file missing: {path}. {DATA_FIX}") from None
    try:
        batch = BatchUnpickler(io.BytesIO(raw), encoding="bytes").load()
        data = np.asarray(batch[b"data"])
        labels = np.asarray(batch[b"labels"], dtype=np.int64)
    except Exception as error:  # any unpickling failure means the same thing to the user
        raise DataError(f"CIFAR-10 file is corrupt: {path} ({type(error).__name__}: {error}). {DATA_FIX}") from None
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        raise DataError(f"CIFAR-10 file is corrupt: {path} holds data of shape {data.shape} and dtype {data.dtype}, "
                        f"not uint8 rows of 3072 pixels. {DATA_FIX}")
    if labels.shape != (data.shape[0],):
        raise DataError(f"CIFAR-10 file is corrupt: {path} has {data.shape[0]} images but {labels.shape[0]} labels. {DATA_FIX}")
    if labels.size and (labels.min() < 0 or labels.max() >= NUM_CLASSES):
        outside = sorted({int(label) for label in labels if not 0 <= label < NUM_CLASSES})
        raise DataError(f"CIFAR-10 file is corrupt: {path} has labels outside 0-9 ({', '.join(map(str, outside[:5]))}"
                        f"{', ...' if len(outside) > 5 else ''}). {DATA_FIX}")
    # Stored as 3072 = 3 colour planes of 32x32, row-major: turn into NHWC.
    images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), labels


def hash_arrays(*arrays: np.ndarray) -> str:
    """SHA-256 over the bytes of ``arrays`` in order: the fingerprint a run records for its data."""
    digest = hashlib.sha256()
    for array in arrays:
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def load_from_folder(folder: str | os.PathLike) -> Cifar10:
    """Load and validate a ``cifar-10-batches-py`` folder in the official python format."""
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise DataError(f"CIFAR-10 folder not found: {folder}. Point {CIFAR10_ENV} or --data-dir at a cifar-10-batches-py folder.")
    train_parts = [read_batch(folder / name) for name in TRAIN_FILES]
    x_test, y_test = read_batch(folder / TEST_FILE)
    x_train = np.concatenate([images for images, _ in train_parts])
    y_train = np.concatenate([labels for _, labels in train_parts])
    for name, (images, _) in zip(TRAIN_FILES + (TEST_FILE,), train_parts + [(x_test, y_test)]):
        if images.shape[0] != IMAGES_PER_BATCH:
            raise DataError(f"CIFAR-10 file is corrupt: {folder / name} has {images.shape[0]} images, "
                            f"expected {IMAGES_PER_BATCH}. {DATA_FIX}")
    return Cifar10(
        x_train=x_train,
        y_train=y_train,
        x_test=x_test,
        y_test=y_test,
        source=f"folder:{folder.resolve()}",
        sha256=hash_arrays(x_train, y_train, x_test, y_test),
    )


def keras_cache_folder() -> Path:
    """Where Keras' downloader keeps CIFAR-10 (``$KERAS_HOME`` or ``~/.keras``)."""
    keras_home = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras"))
    return keras_home / "datasets" / "cifar-10-batches-py"



def find_data_folder(data_dir: str | os.PathLike | None = None) -> Path | None:
    """The CIFAR-10 folder to use: ``data_dir``, ``$CIFAR10_DIR``, or Keras' cache when it holds the data; else None."""
    if data_dir:
        return Path(data_dir).expanduser()
    if os.environ.get(CIFAR10_ENV):
        return Path(os.environ[CIFAR10_ENV]).expanduser()
    cached = keras_cache_folder()
    if (cached / TEST_FILE).exists():
        return cached
    return None


def local_data_folder(data_dir: str | os.PathLike | None = None) -> Path:
    """``find_data_folder``, or ``DataError`` saying how to provide the data (never downloads)."""
    folder = find_data_folder(data_dir)
    if folder is None:
        raise DataError(
            f"CIFAR-10 not found. Set {CIFAR10_ENV} (or pass --data-dir) to a cifar-10-batches-py folder, "
            "or run training once with internet access so Keras downloads it."
        )
    return folder


def load_test_set(data_dir: str | os.PathLike | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Only the 10,000 test images and labels, never downloading (for the dashboard)."""
    return read_batch(local_data_folder(data_dir) / TEST_FILE)


def split_indices(y: np.ndarray, validation_size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(training indices in a seeded shuffled order, sorted validation indices) of a stratified split of ``y``.

    Each class contributes in proportion to its share of ``y``, so a 5,000-image
    split of CIFAR-10 holds exactly 500 images per class. Indices only: a caller
    that narrows the split further gathers the images once, at the end.
    """
    if validation_size < 0 or validation_size >= len(y):
        raise ValueError(f"validation_size must be between 0 and {len(y) - 1}, got {validation_size}")
    rng = np.random.default_rng(seed)
    classes, counts = np.unique(y, return_counts=True)
    # Largest-remainder allocation so the per-class counts add up exactly.
    exact = counts * validation_size / len(y)
    per_class = np.floor(exact).astype(int)
    for index in np.argsort(exact - per_class)[::-1][: validation_size - per_class.sum()]:
        per_class[index] += 1
    val_indices = []
    for label, take in zip(classes, per_class):
        members = np.flatnonzero(y == label)
        val_indices.append(rng.choice(members, size=take, replace=False))
    val_index = np.sort(np.concatenate(val_indices)) if val_indices else np.array([], dtype=int)
    mask = np.ones(len(y), dtype=bool)
    mask[val_index] = False
    train_index = np.flatnonzero(mask)
    rng.shuffle(train_index)
    return train_index, val_index


def split_train_validation(x: np.ndarray, y: np.ndarray, validation_size: int, seed: int) -> Split:
    """Take a seeded, stratified validation set of ``validation_size`` images out of ``x``/``y`` (``split_indices``)."""
    train_index, val_index = split_indices(y, validation_size, seed)
    return Split(x[train_index], y[train_index], x[val_index], y[val_index])


def subset_indices(y: np.ndarray, limit: int | None, seed: int) -> np.ndarray:
    """Indices of at most ``limit`` of ``y`` with classes in their original proportions (all, in order, when None)."""
    if limit is None or limit >= len(y):
        return np.arange(len(y))
    return split_indices(y, limit, seed)[1]


def stratified_subset(x: np.ndarray, y: np.ndarray, limit: int | None, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """At most ``limit`` images with classes in their original proportions (all of them when ``limit`` is None)."""
    if limit is None or limit >= len(y):
        return x, y
    kept = subset_indices(y, limit, seed)
    return x[kept], y[kept]
