"""Stop Streamlit's end-of-run Keras reset, which cost most of every view once TensorFlow is loaded; keep memory collected.

After every script run (every page view, every click) Streamlit 1.67's
``ScriptRunner`` calls ``_clean_problem_modules``, which runs
``keras.backend.clear_session()`` whenever Keras has been imported. In this
dashboard Keras is always imported (Classify's warm-up loads every finished
run's model), and ``clear_session`` then costs a full ``gc.collect()`` over
TensorFlow's whole object graph plus a reset of TensorFlow's graph and kernel
cache: about 0.2 s of CPU per view on the lab's 2-core Xeon, under the process's
one interpreter lock, so every other session waited too (docs/performance.md,
"A class at once"). It also threw away the kernels Classify had just compiled.

The dashboard never builds a model inside a session that the reset would clean
up: models are loaded once per process and shared (``st.cache_resource``), and
a name counter that keeps growing is harmless. So the reset is replaced by the
rest of what ``_clean_problem_modules`` does (closing matplotlib figures).
Streamlit's own post-run ``gc.collect(2)`` is the separate option
``runner.postScriptGC``, switched off in ``dashboard/.streamlit/config.toml``; Python's
own collector still runs, and ``bench/load.py --soak`` checks memory stays bounded.

Python's collector only runs a full pass once the objects that survived since the
last one reach a quarter of all long-lived objects. With TensorFlow and the models
loaded that is millions of objects, so the garbage of thousands of views (cycles in
DataFrames and figures) piled up first: a 30-minute soak grew 32% with the forced
collection off. ``freeze_long_lived_objects`` moves what the warm-up loaded into the
collector's permanent generation, so full passes skip it and run often and cheaply.
"""

from __future__ import annotations

import gc
import sys

from streamlit.runtime.scriptrunner import script_runner

# What script_runner calls after every run; checked by tests/test_script_run_cost.py against the pinned Streamlit.
STREAMLIT_HOOK = "_clean_problem_modules"
# Streamlit's own cleanup, kept before anything replaces it (tests put it back to show what it costs).
STREAMLIT_CLEANUP = getattr(script_runner, STREAMLIT_HOOK, None)


def close_matplotlib_figures() -> None:
    """The part of Streamlit's end-of-run cleanup worth keeping: close any pyplot figures a page left open."""
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:
        pyplot.close("all")


def keep_keras_session_between_runs() -> None:
    """Replace Streamlit's end-of-run cleanup with ``close_matplotlib_figures`` in this process (idempotent).

    Raises ``RuntimeError`` when the pinned Streamlit no longer has the hook, so an
    upgrade that renames it fails loudly in the tests instead of silently costing 0.2 s a view again.
    """
    if not hasattr(script_runner, STREAMLIT_HOOK):
        raise RuntimeError(f"streamlit.runtime.scriptrunner.script_runner has no {STREAMLIT_HOOK}: "
                           "Streamlit changed its end-of-run cleanup; see dashboard/streamlit_patches/script_run_cost.py")
    setattr(script_runner, STREAMLIT_HOOK, close_matplotlib_figures)


def freeze_long_lived_objects() -> None:
    """Collect once, then move every object alive now (TensorFlow, the loaded models) out of the collector's sight.

    Called once per process when Classify's warm-up is over (``dashboard/app.py``). Frozen
    objects are never freed, which is right for modules and cached models that live as
    long as the process; the collection first makes sure no garbage is frozen with them.
    The collection after the freeze resets the collector's count of long-lived objects
    (set by each full pass) from millions to what is left unfrozen, so the next full
    pass comes after thousands of new survivors, not hundreds of thousands.
    """
    gc.collect()
    gc.freeze()
    gc.collect()
