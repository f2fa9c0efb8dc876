"""Images seen per run, the reading side of the findings' budget words."""

from __future__ import annotations

import os
from types import SimpleNamespace

import pandas as pd

from runstore.images_seen import last_images_seen, read_images_seen


def _write_history(folder, images_seen, stamp):
    history = folder / "history.csv"
    history.write_text(f"epoch,accuracy,loss,val_accuracy,val_loss,images_seen\n0,0.3,2.0,0.3,2.0,{images_seen}\n")
    os.utime(history, (stamp, stamp))


def test_images_seen_are_read_again_when_the_history_changes(tmp_path):
    """Remembered per run and file times: a rewritten history is read again."""
    info = SimpleNamespace(run_id="run", path=tmp_path)
    _write_history(tmp_path, 12_000, 1_000_000)
    assert read_images_seen([info]) == {"run": 12_000.0}
    _write_history(tmp_path, 25_000, 2_000_000)
    assert read_images_seen([info]) == {"run": 25_000.0}


def test_a_run_without_history_or_column_has_no_images_seen(tmp_path):
    assert read_images_seen([SimpleNamespace(run_id="none", path=tmp_path / "missing")]) == {"none": None}
    assert last_images_seen(None) is None
    assert last_images_seen(pd.DataFrame({"epoch": [0], "loss": [1.0]})) is None
    assert last_images_seen(pd.DataFrame({"images_seen": [100.0, float("nan")]})) is None
    assert last_images_seen(pd.DataFrame({"images_seen": [100.0, 200.0]})) == 200.0
