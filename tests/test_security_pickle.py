"""CIFAR-10 batches are pickles: a tampered batch must not run code when the dashboard or training reads it.

``training.data`` unpickles with an allowlist (plain containers and NumPy
arrays only); a pickle that asks for anything else is refused with DataError.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from runstore.cifar import DataError, load_test_set


class WritesAFile:
    """Unpickling this object runs code: it writes a marker file."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        # Path.write_text is reached through a global lookup, as an attacker's payload would be.
        return (Path.write_text, (self.marker, "code ran"))


def write_batch(folder: Path, payload: object) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "test_batch").write_bytes(pickle.dumps(payload, protocol=4))
    return folder


def test_a_malicious_test_batch_is_refused_and_its_code_never_runs(tmp_path):
    marker = tmp_path / "pwned.txt"
    folder = write_batch(tmp_path / "cifar", {b"data": WritesAFile(marker), b"labels": [0]})
    # Control: plain pickle really would run the payload.
    pickle.loads((folder / "test_batch").read_bytes())
    assert marker.read_text() == "code ran"
    marker.unlink()

    with pytest.raises(DataError, match="corrupt"):
        load_test_set(folder)
    assert not marker.exists()


def test_a_payload_calling_os_system_is_refused(tmp_path):
    class CallsSystem:
        def __reduce__(self):
            return (os.system, ("echo should-not-run",))

    folder = write_batch(tmp_path / "cifar", {b"data": CallsSystem(), b"labels": [0]})
    with pytest.raises(DataError, match="refusing to load"):
        load_test_set(folder)


def test_an_honest_batch_still_loads(tmp_path):
    data = np.arange(2 * 3072, dtype=np.int64).astype(np.uint8).reshape(2, 3072)
    folder = write_batch(tmp_path / "cifar", {b"data": data, b"labels": [3, 7]})
    images, labels = load_test_set(folder)
    assert images.shape == (2, 32, 32, 3) and labels.tolist() == [3, 7]
