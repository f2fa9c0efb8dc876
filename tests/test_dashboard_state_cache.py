"""The dashboard's caches answer for their key: a change in what the key stands for gives a fresh result.

Each cached function reads from its key (the artifacts folder, the CIFAR-10 folder) rather
than from the environment again, so a key can never be paired with another folder's data.
"""

from __future__ import annotations

import numpy as np

from dashboard import state
from runstore.layout import ARTIFACTS_ENV
from tests.factories import synthetic_images, write_cifar_test_folder


def test_the_test_set_follows_the_cifar_folder_its_key_names(tmp_path, monkeypatch):
    first = write_cifar_test_folder(tmp_path / "first", *synthetic_images(20, seed=1))
    second = write_cifar_test_folder(tmp_path / "second", *synthetic_images(30, seed=2))
    monkeypatch.setenv("CIFAR10_DIR", str(first))
    assert len(state.test_set()[0]) == 20
    monkeypatch.setenv("CIFAR10_DIR", str(second))
    assert len(state.test_set()[0]) == 30
    # The key alone decides, whatever the environment says now.
    third = write_cifar_test_folder(tmp_path / "third", *synthetic_images(40, seed=4))
    images, labels = state._cached_test_set(str(third))
    np.testing.assert_array_equal(labels, synthetic_images(40, seed=4)[1])


def test_a_missing_cifar_folder_is_a_sentence_for_that_folder_only(tmp_path, monkeypatch):
    present = write_cifar_test_folder(tmp_path / "present", *synthetic_images(10, seed=3))
    monkeypatch.setenv("CIFAR10_DIR", str(present))
    assert state._cached_test_set(str(tmp_path / "absent")) != state.test_set()
    assert isinstance(state._cached_test_set(str(tmp_path / "absent")), str)


def test_the_artifacts_folder_follows_its_key(tmp_path, monkeypatch):
    monkeypatch.setenv(ARTIFACTS_ENV, str(tmp_path / "a"))
    assert state.artifacts_dir() == (tmp_path / "a").resolve()
    monkeypatch.setenv(ARTIFACTS_ENV, str(tmp_path / "b"))
    assert state.artifacts_dir() == (tmp_path / "b").resolve()
    monkeypatch.setenv(ARTIFACTS_ENV, str(tmp_path / "c"))
    assert state._resolved_artifacts_dir(str(tmp_path / "d")) == (tmp_path / "d").resolve()
