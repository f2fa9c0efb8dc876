"""What a script run costs after it ends: no Keras reset and no forced full collection per view.

Streamlit resets Keras (``clear_session``, a full ``gc.collect``) after every run once
Keras is imported; ``dashboard.streamlit_patches.script_run_cost`` stops that. These tests run real
scripts through Streamlit's own ``ScriptRunner`` (AppTest) and watch Keras'
global state object, which ``clear_session`` replaces.
"""

import sys
import tomllib
import types
from pathlib import Path

import pytest
from streamlit.runtime.scriptrunner import script_runner
from streamlit.testing.v1 import AppTest

from dashboard.streamlit_patches import script_run_cost

REPO_ROOT = Path(__file__).resolve().parents[1]

# Builds a layer so Keras' per-thread global state (its name counters) holds something a reset would drop.
KERAS_SCRIPT = """
import keras
import streamlit as st
keras.layers.Dense(2)
st.write("ran")
"""


def keras_state_tracker():
    from keras.src.backend.common import global_state

    return global_state.GLOBAL_STATE_TRACKER


@pytest.fixture
def streamlit_cleanup_restored(monkeypatch):
    """Whatever a test does to Streamlit's end-of-run hook is undone afterwards (the patch is process-wide)."""
    monkeypatch.setattr(script_runner, script_run_cost.STREAMLIT_HOOK,
                        getattr(script_runner, script_run_cost.STREAMLIT_HOOK))


def run_keras_script() -> None:
    app = AppTest.from_string(KERAS_SCRIPT, default_timeout=60).run()
    assert not app.exception
    assert app.markdown[0].value == "ran"


def test_streamlit_resets_keras_after_a_run_without_the_patch(streamlit_cleanup_restored):
    """The cost being removed is real in the pinned Streamlit: a run ends with keras' clear_session."""
    import keras  # noqa: F401

    # Streamlit's own hook, whatever an earlier test (any AppTest of the frame) left in its place.
    setattr(script_runner, script_run_cost.STREAMLIT_HOOK, script_run_cost.STREAMLIT_CLEANUP)
    before = keras_state_tracker()
    run_keras_script()
    assert keras_state_tracker() is not before


def test_a_run_keeps_the_keras_session_with_the_patch(streamlit_cleanup_restored):
    import keras  # noqa: F401

    script_run_cost.keep_keras_session_between_runs()
    script_run_cost.keep_keras_session_between_runs()  # idempotent: the dashboard calls it on every view
    before = keras_state_tracker()
    run_keras_script()
    run_keras_script()
    assert keras_state_tracker() is before


def test_the_patch_still_closes_pyplot_figures(streamlit_cleanup_restored, monkeypatch):
    """The rest of Streamlit's cleanup stays (pyplot is not a dependency here, so a recorder stands in for it)."""
    closed = []
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", types.SimpleNamespace(close=closed.append))
    script_run_cost.keep_keras_session_between_runs()
    app = AppTest.from_string("import streamlit as st\nst.write('ran')\n", default_timeout=60).run()
    assert not app.exception
    assert closed == ["all"]


def test_a_streamlit_without_the_hook_fails_loudly(monkeypatch):
    monkeypatch.delattr(script_runner, script_run_cost.STREAMLIT_HOOK)
    with pytest.raises(RuntimeError, match="_clean_problem_modules"):
        script_run_cost.keep_keras_session_between_runs()


def test_the_dashboard_page_runs_keep_the_keras_session(streamlit_cleanup_restored, tmp_path, monkeypatch):
    """The real frame (dashboard/app.py) applies the patch before any page runs."""
    import keras  # noqa: F401

    monkeypatch.setenv("ARTIFACTS_DIR", str(tmp_path))
    monkeypatch.setenv("DASHBOARD_WARMUP", "0")
    app = AppTest.from_file(str(REPO_ROOT / "dashboard" / "app.py"), default_timeout=60).run()
    assert not app.exception
    before = keras_state_tracker()
    app.run()
    assert not app.exception
    assert keras_state_tracker() is before


def test_served_config_skips_the_per_run_collection_and_the_source_watcher():
    """Both cost every session CPU under the one interpreter lock (docs/performance.md, "A class at once")."""
    config = tomllib.loads((REPO_ROOT / "dashboard" / ".streamlit" / "config.toml").read_text())
    assert config["runner"]["postScriptGC"] is False
    assert config["server"]["fileWatcherType"] == "none"


def test_freezing_moves_live_objects_out_of_the_collectors_sight_and_collects_garbage_first():
    import gc
    import weakref

    class Node:
        pass

    cycle = Node()
    cycle.itself = cycle  # garbage only a collection frees
    alive = weakref.ref(cycle)
    del cycle
    try:
        script_run_cost.freeze_long_lived_objects()
        assert alive() is None  # collected before freezing, not frozen for ever
        assert gc.get_freeze_count() > 1000  # the interpreter's modules and everything loaded so far
    finally:
        gc.unfreeze()
