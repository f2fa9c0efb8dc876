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
from dataclasses import dataclass
from pathlib import Path

import numpy as np

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
    split_indices,
    split_train_validation,
    stratified_subset,
    subset_indices,
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


@dataclass(frozen=True)
class DataSplit:
    """The images of one run: training (maybe a subset), validation (taken out of training) and test."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray  # only read after training (see training.train)
    y_test: np.ndarray

    def counts(self) -> dict:
        """Images per part, as ``run.json["data"]`` records them."""
        return {"train_images": int(len(self.y_train)), "validation_images": int(len(self.y_val)),
                "test_images": int(len(self.y_test))}


def split_problem(data: Cifar10, validation_size: int) -> str | None:
    """Why ``validation_size`` cannot be taken out of ``data``'s training images (it would leave fewer than one
    per class), as a sentence naming ``validation_size`` and the most it can be; None when it fits."""
    available = len(data.y_train)
    most = available - NUM_CLASSES
    if validation_size <= most:
        return None
    return (f"validation_size {validation_size:,} leaves fewer than {NUM_CLASSES} of the data set's "
            f"{available:,} training images to train on; choose at most {most:,}")


def split_data(data: Cifar10, validation_size: int, split_seed: int, train_limit: int | None = None,
               test_limit: int | None = None) -> DataSplit:
    """Seeded stratified validation split, optional stratified training subset, optional test prefix."""
    # Indices first, images gathered once: copying the 45,000 training images to keep 2,000 cost 0.7 s a run.
    train_index, val_index = split_indices(data.y_train, validation_size, split_seed)
    train_index = train_index[subset_indices(data.y_train[train_index], train_limit, split_seed)]
    test_count = len(data.y_test) if test_limit is None else min(test_limit, len(data.y_test))
    return DataSplit(data.x_train[train_index], data.y_train[train_index], data.x_train[val_index], data.y_train[val_index],
                     data.x_test[:test_count], data.y_test[:test_count])
