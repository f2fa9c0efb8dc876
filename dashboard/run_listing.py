"""The runs of an artifacts folder as the dashboard lists them, re-inspected only where a file changed.

No Streamlit here: ``dashboard.state`` keeps one ``RunListing`` per process and
feeds it the folder signature it computes anyway (``runstore.folder_signature``:
each run's name and the modification times of its files).

What a listing reads: up to ``VERIFY_FILES_UP_TO`` runs, every run's run.json,
history.csv and predictions.npz, so a damaged file is named on the Overview
before any page trips on it (a few milliseconds per run, once per file
version). Beyond that (hundreds of replicates), the leaderboard reads only what
it shows: run.json, plus a ``stat`` of the model's size. A damaged history or
predictions file is then found by the page that reads it, which says why, and
``report_problem`` lists the run as broken from then on.

Usage::

    listing = RunListing()
    runs = listing.runs(folder, folder_signature(folder))   # newest first, like runstore.list_runs
    listing.report_problem(info, "predictions.npz cannot be read: ...")
"""

from __future__ import annotations

import dataclasses
import os
import threading
from pathlib import Path

from runstore.layout import RUN_ID_PATTERN, runs_root
from runstore.reader import RunInfo, inspect_run, newest_first
from runstore.signature import run_signature
from runstore.status import STATUS_INTERRUPTED, STATUS_RUNNING, run_status

# Up to this many runs, the listing validates every history and predictions file (about 7 ms a run here).
VERIFY_FILES_UP_TO = 50


class RunListing:
    """Inspected runs of one or more folders, each kept until one of its files changes.

    Thread-safe: sessions of one server share it; one listing is built at a time.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # run folder -> ((file stamps, thorough), RunInfo as inspected)
        self._inspected: dict[Path, tuple[tuple, RunInfo]] = {}
        # run folder -> (file stamps when found, problem): damage a page found in a file the listing did not read
        self._found: dict[Path, tuple[tuple, str]] = {}

    def runs(self, folder: str | os.PathLike, signature: tuple) -> list[RunInfo]:
        """Every run of ``folder`` newest first, given its ``runstore.folder_signature``.

        A run whose file stamps are unchanged is not read again; only whether its
        trainer still lives is re-checked (a killed trainer changes no file).
        """
        root = runs_root(folder)
        entries = [(entry[0], tuple(entry[1:])) for entry in signature if RUN_ID_PATTERN.match(entry[0])]
        thorough = len(entries) <= VERIFY_FILES_UP_TO
        with self._lock:
            listed = []
            for name, stamps in entries:
                path = root / name
                key = (stamps, thorough)
                cached = self._inspected.get(path)
                if cached is not None and cached[0] == key:
                    info = _with_current_liveness(cached[1])
                else:
                    info = inspect_run(path, check_predictions=thorough, check_history=thorough)
                self._inspected[path] = (key, info)
                found = self._found.get(path)
                if found is not None and found[0] == stamps and found[1] not in info.problems:
                    info = dataclasses.replace(info, problems=[*info.problems, found[1]])
                listed.append(info)
            # Forget runs that went away (of this folder only: a process may list a few folders).
            present = {root / name for name, _ in entries}
            for path in [path for path in self._inspected if path.parent == root and path not in present]:
                del self._inspected[path]
                self._found.pop(path, None)
        return newest_first(listed)

    def report_problem(self, info: RunInfo, problem: str) -> None:
        """Remember that a reader found ``problem`` in ``info``'s files, until one of them changes."""
        with self._lock:
            self._found[info.path] = (run_signature(info.path), problem)

    def forget_folder(self, folder: str | os.PathLike) -> None:
        """Drop everything remembered about ``folder``'s runs (the folder left the shared snapshots)."""
        root = runs_root(folder)
        with self._lock:
            for memory in (self._inspected, self._found):
                for path in [path for path in memory if path.parent == root]:
                    del memory[path]


def _with_current_liveness(info: RunInfo) -> RunInfo:
    """``info`` with ``interrupted`` re-decided for a run that says it is running; other runs as they are."""
    if info.record is None or info.record.get("status") != STATUS_RUNNING:
        return info
    interrupted = run_status(info.record) == STATUS_INTERRUPTED
    return info if interrupted == info.interrupted else dataclasses.replace(info, interrupted=interrupted)
