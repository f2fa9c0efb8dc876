"""What every page shares: cached loading of runs and artifacts, and the sidebar run picker.

Caches are keyed by file modification times, so a run that appears or changes
shows up on the next rerun without restarting the server; all of them are
bounded. The runs are listed once per change of the folder for every session
(``SharedRuns``), re-reading only the runs whose files changed
(``dashboard.run_listing``); with hundreds of runs the listing reads run.json
only. Models live in ``st.cache_resource`` (one copy per process, never
mutated); data in ``st.cache_data``.
"""

from __future__ import annotations

import functools
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from analysis.figures import run_colors
from analysis.leaderboard import default_compare_runs, default_focus_run, selectable_runs
from dashboard.run_listing import RunListing
from runstore import (BrokenRun, RunInfo, folder_signature, read_history, read_predictions, read_validation_predictions,
                      resolve_artifacts_dir)
from runstore.cifar import CLASS_NAMES, DataError, load_test_set
from runstore.layout import ARTIFACTS_ENV, HISTORY_FILE, runs_root
from runstore.signature import mtime_ns
from runstore.preprocessing import run_preprocessing
from runstore.status import STATUS_COMPLETE

# Session keys; the two run keys are also URL query parameters, so a link reproduces the view.
COMPARE_KEY = "runs"
FOCUS_KEY = "run"
MAX_DEFAULT_COMPARE = 6
LIVE_REFRESH_SECONDS = 5

FIRST_RUN_HELP = """
No training runs yet in `{artifacts}`.

Train the first model, then come back (this page updates by itself):

```bash
make demo                                   # trains the demo suite and serves this app
# or just one small model, about a minute on a laptop CPU:
python -m training run --model simple_cnn --blocks 1 --epochs 3 --train-limit 5000
```

Runs are read from `ARTIFACTS_DIR` (now `{artifacts}`); set it before
`streamlit run dashboard/app.py` to look at another folder.
"""


def artifacts_dir() -> Path:
    """The artifacts folder this server reads (``$ARTIFACTS_DIR`` or the repo's ``artifacts/``)."""
    return _resolved_artifacts_dir(os.environ.get(ARTIFACTS_ENV, ""))


@functools.lru_cache(maxsize=8)
def _resolved_artifacts_dir(from_env: str) -> Path:
    # Resolving follows symlinks (a realpath, several syscalls): once per value, not on every view.
    # The folder is resolved from the key itself, so the cache can never answer for another value.
    return resolve_artifacts_dir(from_env or None)


@dataclass(frozen=True)
class RunsSnapshot:
    """The runs folder as every session sees it, computed once per change of the folder.

    Shared by all sessions of the process and never mutated: pages read it, none writes to it.
    """

    folder: Path
    signature: tuple
    runs: list[RunInfo]
    by_id: dict[str, RunInfo]
    selectable: list[str]
    default_focus: str | None
    default_compare: list[str]
    colors: dict[str, str]
    broken: int
    taken_at: float
    file_keys: dict[str, tuple]  # run folder name -> its files' modification times, from ``signature``


def build_snapshot(folder: Path, signature: tuple, now: float, listing: RunListing | None = None) -> RunsSnapshot:
    """List the runs of ``folder`` (through ``listing``, which re-reads only changed runs) and derive what pages share."""
    runs = (listing or RunListing()).runs(folder, signature)
    by_id = {info.run_id: info for info in runs}
    selectable = selectable_runs(runs)
    default_compare = default_compare_runs(runs, selectable, MAX_DEFAULT_COMPARE)
    return RunsSnapshot(folder, signature, runs, by_id, selectable, default_focus_run(runs), default_compare,
                        run_colors([info.run_id for info in runs]), sum(info.is_broken for info in runs), now,
                        {entry[0]: tuple(entry[1:]) for entry in signature})


class SharedRuns:
    """Process-wide, per-folder snapshots of the runs, refreshed when the folder changes.

    Change detection is cheap: the runs folder's own mtime (a run appeared or went)
    is checked on every call; the per-run file stats (``folder_signature``) on every
    call while they cost under ``STAT_BUDGET_SECONDS``, else (hundreds of runs) at
    most every ``RECHECK_SECONDS``. A snapshot older than ``REREAD_SECONDS`` is
    re-read anyway: a trainer killed mid-run changes no file, and re-checking its
    process is what turns "running" into "interrupted". Re-reading goes through a
    ``RunListing``, which reads again only the runs whose files changed.

    One session at a time re-checks a folder: while it does, the others get the
    snapshot of a moment ago. Otherwise, with 500 runs, every session whose view
    came after the recheck interval stat-ed all 2,000 files at once, each slowing
    the others under the one interpreter lock (57% of a process's CPU with 10
    sessions, docs/performance.md). A session that finds no snapshot yet waits for none.
    """

    STAT_BUDGET_SECONDS = 0.005
    RECHECK_SECONDS = 1.0
    REREAD_SECONDS = 15.0
    MAX_FOLDERS = 4

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._snapshots: dict[Path, RunsSnapshot] = {}
        self._checked: dict[Path, tuple[float, int | None, float]] = {}  # folder -> (checked at, runs-folder mtime_ns, stat cost)
        self._refreshing: set[Path] = set()  # folders a session is re-checking right now
        self._listing = RunListing()

    def get(self, folder: Path, now: float | None = None) -> RunsSnapshot:
        """The current snapshot of ``folder``, re-read only when something changed."""
        now = time.monotonic() if now is None else now
        runs_mtime = mtime_ns(runs_root(folder))
        with self._lock:
            cached = self._snapshots.get(folder)
            checked_at, checked_mtime, stat_cost = self._checked.get(folder, (0.0, None, 0.0))
            if (cached is not None and runs_mtime == checked_mtime and now - cached.taken_at < self.REREAD_SECONDS
                    and stat_cost > self.STAT_BUDGET_SECONDS and now - checked_at < self.RECHECK_SECONDS):
                return cached
            if cached is not None and folder in self._refreshing:
                return cached  # another session is re-checking it: its result serves the next view
            self._refreshing.add(folder)
        try:
            started = time.perf_counter()
            signature = folder_signature(folder)
            stat_cost = time.perf_counter() - started
            if cached is None or signature != cached.signature or now - cached.taken_at >= self.REREAD_SECONDS:
                cached = build_snapshot(folder, signature, now, self._listing)
        finally:
            with self._lock:
                self._refreshing.discard(folder)
        with self._lock:
            self._snapshots[folder] = cached
            self._checked[folder] = (now, runs_mtime, stat_cost)
            # Bounded: a process serves one folder; tests and benchmarks may pass through a few.
            for stale in list(self._snapshots)[:-self.MAX_FOLDERS]:
                self._snapshots.pop(stale, None)
                self._checked.pop(stale, None)
                self._listing.forget_folder(stale)
        return cached

    def report_problem(self, folder: Path, info: RunInfo, problem: str) -> None:
        """A page found ``problem`` reading ``info``'s files: list the run as broken from the next snapshot on."""
        self._listing.report_problem(info, problem)
        with self._lock:
            self._snapshots.pop(folder, None)


SHARED_RUNS = SharedRuns()


def snapshot() -> RunsSnapshot:
    """The runs and what every page derives from them, shared by all sessions (re-read when a file changes)."""
    return SHARED_RUNS.get(artifacts_dir())


def all_runs() -> list[RunInfo]:
    """Every run folder, broken ones included, newest first (re-read when a file changes)."""
    return snapshot().runs


def files_key(info: RunInfo) -> tuple:
    """A cache key for the run's files: their modification times as the shared snapshot last saw them.

    The snapshot has just stat-ed them (or did within ``SharedRuns.RECHECK_SECONDS`` with
    hundreds of runs), so a page reading 20 runs' predictions pays no 80 more stats per view.
    A run the snapshot does not know is stat-ed (``RunInfo.mtime_key``).
    """
    key = snapshot().file_keys.get(info.path.name)
    return key if key is not None else info.mtime_key


# A history is a few kilobytes: room for every run Curves draws (12 groups of 10) and the Report's.
@st.cache_data(max_entries=256, ttl=3600, show_spinner=False)
def _cached_history(path: str, files_key: tuple) -> pd.DataFrame:
    # files_key (the run's file times, see files_key()) is only hashed: a rewritten history misses the cache.
    return read_history(path)


def history(info: RunInfo) -> pd.DataFrame | None:
    """The run's history.csv, or None when it has none yet or it cannot be read (the Overview then says why)."""
    try:
        return _cached_history(str(info.path), files_key(info))
    except BrokenRun as error:
        if (info.path / HISTORY_FILE).exists():  # damaged, not merely not written yet
            SHARED_RUNS.report_problem(artifacts_dir(), info, str(error))
        return None


# 400 KB each (10,000 x 10 float32): 64 hold two 10-seed groups side by side on Compare plus
# every other page's runs, about 26 MB; at 24, Compare with groups evicted what it read a view ago.
@st.cache_data(max_entries=64, ttl=3600, show_spinner=False)
def _cached_predictions(path: str, files_key: tuple) -> tuple[np.ndarray, np.ndarray]:
    # files_key is only hashed: new predictions (a run trained again under its id) miss the cache.
    return read_predictions(path)


def predictions(info: RunInfo) -> tuple[np.ndarray, np.ndarray]:
    """``(y_true, probs)`` of a complete run; raises ``BrokenRun`` with the reason (and the Overview lists it)."""
    try:
        return _cached_predictions(str(info.path), files_key(info))
    except BrokenRun as error:
        # A listing of many runs does not open predictions: the first page that does remembers the damage.
        SHARED_RUNS.report_problem(artifacts_dir(), info, str(error))
        raise


@st.cache_data(max_entries=256, ttl=3600, show_spinner=False)
def _cached_trust(path: str, files_key: tuple):
    from analysis.trust import run_trust  # scipy only once a page asks how far an answer can be trusted

    return run_trust(test=read_predictions(path), validation=read_validation_predictions(path))


def trust(info: RunInfo):
    """The run's ``analysis.trust.RunTrust`` (temperature, typicality threshold); raises ``BrokenRun`` as ``predictions`` does."""
    try:
        return _cached_trust(str(info.path), files_key(info))
    except BrokenRun as error:
        SHARED_RUNS.report_problem(artifacts_dir(), info, str(error))
        raise


def calibrated_predictions(info: RunInfo) -> tuple[np.ndarray, np.ndarray]:
    """``(y_true, probs)`` with the run's calibration applied (unchanged for a run without one)."""
    y_true, probs = predictions(info)
    return y_true, trust(info).calibrate(probs)


@st.cache_resource(max_entries=2, ttl=3600, show_spinner="Reading the CIFAR-10 test images…")
def _cached_test_set(data_folder: str) -> tuple[np.ndarray, np.ndarray] | str:
    # Read from the key itself ("": $CIFAR10_DIR unset, so Keras' cache), never from the environment again.
    try:
        images, labels = load_test_set(data_folder or None)
    except DataError as error:
        return str(error)
    # Shared by every session: make accidental writes fail loudly instead of corrupting others.
    images.setflags(write=False)
    labels.setflags(write=False)
    return images, labels


def test_set() -> tuple[np.ndarray, np.ndarray] | str:
    """The test images and labels, or a sentence saying why they are unavailable."""
    return _cached_test_set(os.environ.get("CIFAR10_DIR", ""))


# Bounded above the dozen runs a study has, so "every finished run" on Classify never evicts
# a model it is about to use again; least recently used ones go first beyond that.
MODEL_CACHE_ENTRIES = 16


@st.cache_resource(max_entries=MODEL_CACHE_ENTRIES, ttl=3600, show_spinner="Loading the model…")
def _cached_model(folder: str, run_id: str, files_key: tuple):
    # files_key is only hashed: a model file replaced under the same run id is loaded again.
    from serving.models import load_run_model  # imported late: it imports Keras

    return load_run_model(folder, run_id)


def warmup_order(ctx: "Context") -> list[str]:
    """The finished runs whose models Classify's warm-up loads: the focus run first, at most ``MODEL_CACHE_ENTRIES``.

    No more than the model cache holds: with hundreds of replicates, warming them all would take
    minutes of CPU and evict the focus run's model, the one Classify answers with first.
    """
    order = [ctx.focus] if ctx.focus in ctx.complete else []
    order += [run_id for run_id in ctx.complete if run_id not in order]
    return order[:MODEL_CACHE_ENTRIES]


def model(info: RunInfo):
    """The run's Keras model, loaded once per process (safe mode, SHA-256 checked).

    Raises ``serving.models.ModelRefused`` with a message for the user.
    """
    return _cached_model(str(artifacts_dir()), info.run_id, files_key(info))


@st.cache_data(max_entries=256, ttl=3600, show_spinner=False)
def _cached_probs(folder: str, run_id: str, files_key: tuple, batch: np.ndarray, preprocessing: str) -> np.ndarray:
    from serving.predict import predict_probs

    return predict_probs(_cached_model(folder, run_id, files_key), batch, preprocessing=preprocessing)


def classify(info: RunInfo, batch: np.ndarray) -> np.ndarray:
    """Probabilities of the run's model for ``batch``, remembered per run and input.

    Changing another widget reruns the page; this keeps those reruns from
    running the models again on images they already answered. The run's
    recorded preprocessing is applied before its model sees ``batch``.
    """
    return _cached_probs(str(artifacts_dir()), info.run_id, files_key(info), batch, run_preprocessing(info.record or {}))


@dataclass
class Context:
    """The runs and the user's choice of them, as every page needs them."""

    runs: list[RunInfo]
    by_id: dict[str, RunInfo]
    selectable: list[str]
    compared: list[str]
    focus: str | None
    colors: dict[str, str]

    def info(self, run_id: str) -> RunInfo:
        """The ``RunInfo`` of ``run_id``."""
        return self.by_id[run_id]

    @property
    def complete(self) -> list[str]:
        """Selectable runs that finished (they have a model and predictions)."""
        return [run_id for run_id in self.selectable if self.by_id[run_id].status == STATUS_COMPLETE]


def run_label(info: RunInfo) -> str:
    """How a run is named in pickers: id, model and test accuracy or status."""
    record = info.record or {}
    accuracy = record.get("test_accuracy")
    detail = f"{accuracy:.1%}" if accuracy is not None else info.status
    return f"{info.run_id} · {record.get('model', '?')} · {detail}"


def context() -> Context:
    """The current runs and selection (read from session state the sidebar filled).

    Every page calls this first.
    """
    shared = snapshot()
    compared = [run_id for run_id in st.session_state.get(COMPARE_KEY, []) or [] if run_id in shared.by_id]
    focus = st.session_state.get(FOCUS_KEY)
    if focus not in shared.selectable:
        focus = shared.default_focus
    return Context(shared.runs, shared.by_id, shared.selectable, compared, focus, shared.colors)


def render_sidebar() -> None:
    """The run picker shared by all pages: runs to compare and one focus run."""
    shared = snapshot()
    selectable = shared.selectable
    with st.sidebar:
        st.caption(f"Artifacts: `{shared.folder}`")
        if not selectable:
            st.info("No runs to pick yet.")
            return
        st.multiselect(
            "Runs to compare",
            options=selectable,
            default=shared.default_compare,
            # Only the id: the sidebar is narrow, and the URL carries the formatted value.
            key=COMPARE_KEY,
            bind="query-params",
            help="Curves overlay these runs; Classify can ask all of them. Also set by ticking rows on the Overview.",
        )
        focus_default = shared.default_focus
        st.selectbox(
            "Focus run",
            options=selectable,
            index=selectable.index(focus_default) if focus_default in selectable else 0,
            # No format_func: a bound selectbox writes the *formatted* option into the URL,
            # and a link should carry the plain run id.
            key=FOCUS_KEY,
            bind="query-params",
            help="The one run that Confusion, Misclassified and the model card show.",
        )
        if shared.broken:
            st.caption(f"{shared.broken} broken run(s) are listed on the Overview with the reason.")


def require_runs(ctx: Context) -> None:
    """Stop the page with the how-to-train message when there is nothing to show."""
    if not ctx.runs:
        st.info(FIRST_RUN_HELP.format(artifacts=artifacts_dir()))
        st.stop()


def require_focus_complete(ctx: Context) -> RunInfo:
    """The focus run if it finished; otherwise stop the page with what to do."""
    require_runs(ctx)
    if not ctx.complete:
        st.info("No run has finished yet, so there are no test-set predictions to show. "
                "This page fills in when the first run completes; the Curves page shows live runs now.")
        st.stop()
    info = ctx.info(ctx.focus) if ctx.focus else None
    if info is None or info.status != STATUS_COMPLETE:
        st.info(f"The focus run `{ctx.focus}` has not finished. Pick a finished run as **Focus run** in the sidebar.")
        st.stop()
    return info


def class_names() -> tuple[str, ...]:
    """The CIFAR-10 class names in label order."""
    return CLASS_NAMES
