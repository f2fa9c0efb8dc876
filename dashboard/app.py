"""The CIFAR-10 model lab dashboard: ``streamlit run dashboard/app.py`` (or ``make demo``).

This file is the frame: page config, navigation and the sidebar run picker
shared by all pages. Pages in ``dashboard/views/`` hold UI only; the logic
lives in ``analysis/`` and ``serving/``. ``ARTIFACTS_DIR`` chooses the runs folder.
"""

import sys
from pathlib import Path

# `streamlit run dashboard/app.py` puts dashboard/ on sys.path, not the repo root,
# so `import analysis`, `runstore`, `serving` and `training` would fail without this.
REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import streamlit as st  # noqa: E402

from dashboard import access_gate, state  # noqa: E402
from dashboard.streamlit_patches.script_run_cost import (  # noqa: E402
    freeze_long_lived_objects,
    keep_keras_session_between_runs,
)

# Before any page runs: Streamlit would otherwise reset Keras (a full gc) after every view.
keep_keras_session_between_runs()

# Not "pages/": Streamlit would treat a folder of that name beside the entry
# script as its older file-based navigation and run a page outside this frame.
PAGES_DIR = Path(__file__).parent / "views"

st.set_page_config(page_title="CIFAR-10 model lab", page_icon=":material/science:", layout="wide")


def page(name: str, title: str, icon: str, default: bool = False, visible: bool = True) -> st.Page:
    """A page of ``dashboard/views/<name>.py`` served at URL path ``/<name>`` (listed in the navigation if ``visible``)."""
    return st.Page(PAGES_DIR / f"{name}.py", title=title, icon=icon, url_path=name, default=default,
                   visibility="visible" if visible else "hidden")


# The Overview has one address, "/": Streamlit serves the default page at the root only
# (its url_path, "home", just has to be unique; it is never an address). /overview, which
# older links and bookmarks use, is a hidden page that only switches to it.
overview = st.Page(PAGES_DIR / "overview.py", title="Overview", icon=":material/leaderboard:",
                   url_path="home", default=True)


def old_overview_address() -> None:
    """/overview: land on the Overview at "/" (the URL changes to it)."""
    st.switch_page(overview)


old_overview = st.Page(old_overview_address, title="Overview", url_path="overview", visibility="hidden")

# Read-only mode and the admin token (dashboard.access): decided once per run, here, for every page.
access = access_gate.current()
navigation = st.navigation(
    {
        "Results": [
            overview,
            old_overview,
            page("curves", "Curves", ":material/show_chart:"),
            page("confusion", "Confusion", ":material/grid_on:"),
            page("misclassified", "Misclassified", ":material/broken_image:"),
        ],
        "Compare and report": [
            page("compare", "Compare", ":material/compare_arrows:"),
            page("failures", "Failures", ":material/report:"),
            page("report", "Report", ":material/description:"),
        ],
        "Try it": [
            page("classify", "Classify", ":material/upload:"),
            page("data", "Data", ":material/photo_library:"),
            # Read-only: not listed, and its URL answers with the refusal (the page checks before any widget).
            page("add_model", "Add a model", ":material/add_circle:", visible=access_gate.add_model_visible(access)),
        ],
    },
    expanded=True,
)
# Images are upscaled with nearest neighbour; without this the browser's own
# smoothing, when it fits an image to its column, would blur the pixels again.
st.html("<style>[data-testid=stImage] img { image-rendering: pixelated; }</style>")
with st.sidebar:
    st.markdown("### :material/science: CIFAR-10 model lab")
state.render_sidebar()
access_gate.render_sidebar(access)


# Seconds between the page that starts the warm-up and the warm-up itself (see serving.warmup.start_warmup).
WARMUP_DELAY_SECONDS = 5.0


def start_classify_warmup() -> None:
    """Once per process: load the finished runs' models (``state.warmup_order``) and trace inference in the background.

    The focus run (Classify's default model) goes first. The loader is the cached one Classify
    uses, so its first answer finds the models ready (see ``serving.warmup``).
    """
    import os

    from serving.warmup import start_warmup, warmup_started

    # DASHBOARD_WARMUP=0 switches it off (bench/first_answer.py measures with and without).
    if warmup_started() or os.environ.get("DASHBOARD_WARMUP", "1") == "0":
        return
    ctx = state.context()
    if not ctx.complete:
        return  # nothing to warm yet; a later rerun starts it once a run has finished
    start_warmup(state.warmup_order(ctx), lambda run_id: state.model(ctx.info(run_id)),
                 modules=("serving.uploads", "analysis.answers", "analysis.figures"), delay_seconds=WARMUP_DELAY_SECONDS,
                 then=freeze_long_lived_objects)


try:
    navigation.run()
finally:
    # After the page, never before it: the first page a visitor opens must not wait for TensorFlow.
    start_classify_warmup()
