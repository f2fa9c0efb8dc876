"""The runs snapshot every session shares (dashboard/state.py): re-read once per change of the folder."""

import os
import time

from dashboard.state import SharedRuns
from tests.factories import make_run


def test_a_new_run_appears_without_a_restart_and_an_unchanged_folder_is_not_reread(tmp_path, monkeypatch):
    make_run(tmp_path, "first-run", seed=0, epochs=2, started_minutes_ago=10)
    monkeypatch.setattr(SharedRuns, "STAT_BUDGET_SECONDS", 10.0)
    shared = SharedRuns()
    before = shared.get(tmp_path)
    assert [info.run_id for info in before.runs] == ["first-run"]
    assert shared.get(tmp_path) is before  # nothing changed: the same snapshot, not a re-read
    make_run(tmp_path, "second-run", seed=1, epochs=2, started_minutes_ago=5)
    after = shared.get(tmp_path)
    assert [info.run_id for info in after.runs] == ["second-run", "first-run"]
    assert after.selectable == ["second-run", "first-run"]
    assert set(after.colors) == {"first-run", "second-run"}


def test_a_changed_file_in_a_run_is_seen_and_old_snapshots_are_reread(tmp_path, monkeypatch):
    make_run(tmp_path, "live", status="running", epochs=1, seed=2, started_minutes_ago=1)
    monkeypatch.setattr(SharedRuns, "STAT_BUDGET_SECONDS", 10.0)  # a few runs: stat them on every call
    shared = SharedRuns()
    before = shared.get(tmp_path, now=100.0)
    history = tmp_path / "runs" / "live" / "history.csv"
    later = history.stat().st_mtime + 5
    os.utime(history, (later, later))
    assert shared.get(tmp_path, now=100.5) is not before  # the file's mtime is part of the signature
    settled = shared.get(tmp_path, now=101.0)
    assert shared.get(tmp_path, now=101.0 + SharedRuns.REREAD_SECONDS) is not settled  # a killed trainer changes no file


def test_many_runs_are_restatted_at_most_once_a_second_but_new_ones_show_at_once(tmp_path, monkeypatch):
    make_run(tmp_path, "one", seed=0, epochs=1, started_minutes_ago=3)
    shared = SharedRuns()
    monkeypatch.setattr(SharedRuns, "STAT_BUDGET_SECONDS", -1.0)  # as if stat-ing every run were expensive
    first = shared.get(tmp_path, now=10.0)
    history = tmp_path / "runs" / "one" / "history.csv"
    later = history.stat().st_mtime + 5
    os.utime(history, (later, later))
    assert shared.get(tmp_path, now=10.2) is first  # within the recheck interval: no stat of every run
    assert shared.get(tmp_path, now=10.0 + SharedRuns.RECHECK_SECONDS) is not first
    time.sleep(0.01)
    make_run(tmp_path, "two", seed=1, epochs=1, started_minutes_ago=1)
    runs_folder = tmp_path / "runs"
    stamp = runs_folder.stat().st_mtime + 1
    os.utime(runs_folder, (stamp, stamp))
    assert "two" in shared.get(tmp_path, now=11.1).by_id  # the runs folder's own mtime changed


def test_snapshots_are_bounded_to_a_few_folders(tmp_path):
    shared = SharedRuns()
    for number in range(SharedRuns.MAX_FOLDERS + 3):
        folder = tmp_path / f"folder-{number}"
        make_run(folder, "run", seed=number, epochs=1)
        shared.get(folder)
    assert len(shared._snapshots) == SharedRuns.MAX_FOLDERS


def test_one_session_at_a_time_rechecks_a_folder_and_the_others_get_the_last_snapshot(tmp_path, monkeypatch):
    """Ten sessions arriving together after the recheck interval stat the runs once, not ten times."""
    import threading

    from dashboard import state

    make_run(tmp_path, "one", seed=0, epochs=1, started_minutes_ago=3)
    monkeypatch.setattr(SharedRuns, "STAT_BUDGET_SECONDS", -1.0)  # as if stat-ing every run were expensive
    shared = SharedRuns()
    first = shared.get(tmp_path, now=10.0)
    calls = []
    release = threading.Event()
    real_signature = state.folder_signature

    def slow_signature(folder):
        calls.append(folder)
        release.wait(10)  # hold the re-check until every other session has asked
        return real_signature(folder)

    monkeypatch.setattr(state, "folder_signature", slow_signature)
    later = 10.0 + SharedRuns.RECHECK_SECONDS
    results = []
    checker = threading.Thread(target=lambda: results.append(shared.get(tmp_path, now=later)))
    checker.start()
    while not calls:
        time.sleep(0.01)
    others = [shared.get(tmp_path, now=later) for _ in range(9)]
    release.set()
    checker.join(10)
    assert len(calls) == 1
    assert all(snapshot is first for snapshot in others)
    assert results and results[0].by_id.keys() == first.by_id.keys()
    assert shared.get(tmp_path, now=later + 0.1) is results[0]  # the re-check's result serves the next views


def test_the_snapshot_gives_each_run_its_file_times_so_pages_need_not_stat_them(tmp_path, monkeypatch):
    from runstore import run_signature

    make_run(tmp_path, "one", seed=0, epochs=1, started_minutes_ago=3)
    monkeypatch.setattr(SharedRuns, "STAT_BUDGET_SECONDS", 10.0)
    shared = SharedRuns()
    before = shared.get(tmp_path)
    assert before.file_keys == {"one": run_signature(tmp_path / "runs" / "one")}
    history = tmp_path / "runs" / "one" / "history.csv"
    later = history.stat().st_mtime + 5
    os.utime(history, (later, later))
    assert shared.get(tmp_path).file_keys == {"one": run_signature(tmp_path / "runs" / "one")} != before.file_keys
