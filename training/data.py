"""Loading CIFAR-10 for training: the run contract's reader (``runstore.cifar``) plus Keras' downloader.

The format, class names, restricted unpickler, validation and split live in
``runstore.cifar`` (NumPy only, shared with the dashboard); this module adds
the one thing only the trainer may do, downloading the data, and a per-folder
memo so a suite loads it once.

Where the data comes from, in order:
1. an explicit folder (``--data-dir``),
2. ``$CIFAR10_DIR``,
3. Keras' own download cache (``~/.keras/datasets/cifar-10-batches-py``), downloading it if needed.

Usage::

    from training.data import load_cifar10, split_train_validation
    data = load_cifar10()                      # Cifar10 with x_train, y_train, x_test, y_test
    split = split_train_validation(data.x_train, data.y_train, validation_size=5000, seed=0)
"""

from __future__ import annotations

import os
from pathlib import Path

from runstore.cifar import (  # noqa: F401  (re-exported: training code imports these from here)
    CIFAR10_ENV,
    CLASS_NAMES,
    IMAGE_SHAPE,
    IMAGES_PER_BATCH,
    NUM_CLASSES,
    TEST_FILE,
    TRAIN_FILES,
    BatchUnpickler,
    Cifar10,
    DataError,
    Split,
    find_data_folder,
    hash_arrays,
    keras_cache_folder,
    load_from_folder,
    load_test_set,
    local_data_folder,
    read_batch,
    split_train_validation,
    stratified_subset,
)

def _download_with_keras() -> Path:
    """Fetch CIFAR-10 with Keras' downloader (shows its own progress bar) and return the folder."""
    try:
        from keras.datasets import cifar10  # imported late: only this path needs Keras

        cifar10.load_data()
    except Exception as error:
        raise DataError(
            "Could not load CIFAR-10. Either set CIFAR10_DIR (or pass --data-dir) to a "
            "cifar-10-batches-py folder in the official python format, or connect to the "
            f"internet so Keras can download it to {keras_cache_folder()}. ({type(error).__name__}: {error})"
        ) from None
    return keras_cache_folder()


def resolve_data_folder(data_dir: str | os.PathLike | None = None, allow_download: bool = True) -> Path:
    """Pick the CIFAR-10 folder: ``data_dir``, ``$CIFAR10_DIR``, Keras' cache, or a download."""
    folder = find_data_folder(data_dir)
    if folder is not None:
        return folder
    if not allow_download:
        return local_data_folder(data_dir)  # raises DataError saying how to provide the data
    return _download_with_keras()


_CACHE: dict[Path, Cifar10] = {}


def load_cifar10(data_dir: str | os.PathLike | None = None, allow_download: bool = True) -> Cifar10:
    """Load CIFAR-10 from the first source that works (see module docstring); memoised per folder."""
    folder = resolve_data_folder(data_dir, allow_download=allow_download).resolve()
    if folder not in _CACHE:
        _CACHE[folder] = load_from_folder(folder)
    return _CACHE[folder]
