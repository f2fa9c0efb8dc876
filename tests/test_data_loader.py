"""CIFAR-10 loader errors: a missing folder and a corrupt or wrong-sized batch file are named."""

import numpy as np
import pytest

from training.data import DataError, load_from_folder, split_train_validation
from tests.factories import write_cifar_batch
from tests.training_fixtures import synthetic_images


def test_missing_folder_says_how_to_point_at_the_data(tmp_path):
    with pytest.raises(DataError, match="CIFAR-10 folder not found.*CIFAR10_DIR or --data-dir"):
        load_from_folder(tmp_path / "nowhere")


def test_corrupt_file_is_named(tmp_path):
    (tmp_path / "data_batch_1").write_bytes(b"this is not a pickle")
    with pytest.raises(DataError, match=r"corrupt: .*data_batch_1"):
        load_from_folder(tmp_path)


def test_missing_batch_file_is_named(tmp_path):
    images, labels = synthetic_images(10, seed=0)
    write_cifar_batch(tmp_path / "data_batch_1", images, labels)
    with pytest.raises(DataError, match=r"missing: .*data_batch_2"):
        load_from_folder(tmp_path)


def test_batch_with_too_few_images_is_named(tmp_path):
    images, labels = synthetic_images(10, seed=0)
    for name in [f"data_batch_{index}" for index in range(1, 6)] + ["test_batch"]:
        write_cifar_batch(tmp_path / name, images, labels)
    with pytest.raises(DataError, match=r"data_batch_1 has 10 images, expected 10000"):
        load_from_folder(tmp_path)


def test_pickled_code_is_refused(tmp_path):
    import pickle

    (tmp_path / "data_batch_1").write_bytes(pickle.dumps({b"data": print}))
    with pytest.raises(DataError, match="data_batch_1.*refusing to load"):
        load_from_folder(tmp_path)


def test_validation_split_is_stratified_and_seeded():
    labels = np.repeat(np.arange(10), 50)
    images = np.arange(len(labels))
    first = split_train_validation(images, labels, validation_size=100, seed=3)
    again = split_train_validation(images, labels, validation_size=100, seed=3)
    np.testing.assert_array_equal(first.x_val, again.x_val)
    assert np.bincount(first.y_val).tolist() == [10] * 10
    assert not set(first.x_val) & set(first.x_train)


@pytest.mark.parametrize("train_limit", [None, 50, 539])
def test_a_runs_split_is_the_same_images_as_splitting_then_subsetting_the_arrays(train_limit):
    """split_data gathers by index once; the images must be those the two-step split picked (runs stay reproducible)."""
    from tests.training_fixtures import synthetic_cifar
    from training.data import split_data, stratified_subset

    data = synthetic_cifar(train_count=600, test_count=30, seed=4)
    split = split_data(data, validation_size=60, split_seed=7, train_limit=train_limit, test_limit=20)
    two_step = split_train_validation(data.x_train, data.y_train, validation_size=60, seed=7)
    x_train, y_train = stratified_subset(two_step.x_train, two_step.y_train, train_limit, seed=7)
    np.testing.assert_array_equal(split.x_train, x_train)
    np.testing.assert_array_equal(split.y_train, y_train)
    np.testing.assert_array_equal(split.x_val, two_step.x_val)
    np.testing.assert_array_equal(split.y_val, two_step.y_val)
    assert len(split.y_test) == 20
