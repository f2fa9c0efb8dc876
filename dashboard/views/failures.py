"""Failures: test images most runs get wrong, and images whose label is probably wrong.

UI only: the selection rules live in ``analysis.failures``.
"""

import numpy as np
import streamlit as st

from analysis.failures import hardest_images, likely_label_errors
from analysis.gallery import page_bounds
from analysis.leaderboard import leave_out_at_chance
from dashboard import comparison_widgets as widgets
from dashboard import state

CLASSES = list(state.class_names())
PAGE_SIZE = 30

ctx = state.context()
st.title("Where models fail together")
state.require_runs(ctx)
complete = ctx.complete
if not complete:
    st.info("No run has finished yet, so there are no test-set predictions to look at. "
            "This page fills in when the first run completes.")
    st.stop()

# The runs being compared; else every finished run that learned something (at-chance models only add noise).
chosen_default = ([run_id for run_id in ctx.compared if run_id in complete]
                  or [info.run_id for info in leave_out_at_chance([ctx.info(run_id) for run_id in complete])])
chosen = st.multiselect("Runs that vote", complete, default=chosen_default, key="failure_runs",
                        format_func=lambda run_id: state.run_label(ctx.info(run_id)),
                        help="Every finished run you choose votes on each test image.")
loaded = widgets.predictions_of(ctx, chosen)
if not loaded:
    st.info("Choose at least one finished run above.")
    st.stop()
y_true, probs_by_run = widgets.aligned_or_stop(loaded)
run_count = len(probs_by_run)
if run_count < 3:
    st.caption(f"Only {run_count} run(s) vote. With three or more runs, agreement between models says much more.")
images = widgets.test_images_for(y_true)

def gradcam_expander(indices, key: str) -> None:
    """An expander with Grad-CAM of one of ``indices`` for every voting run."""
    with st.expander("Where do the models look? Grad-CAM for one of these images"):
        picked = st.selectbox("Test image", list(indices), key=f"{key}_image",
                              format_func=lambda index: f"#{index} (labelled {CLASSES[y_true[index]]})")
        if st.toggle("Show Grad-CAM for every voting run", key=f"{key}_show"):
            widgets.gradcam_panel(ctx, list(probs_by_run), images[picked], CLASSES)


def show_hardest() -> None:
    """Test images that most runs get wrong, hardest first."""
    minimum = 1 if run_count == 1 else st.slider(
        "Wrong in at least this many runs", 1, run_count, value=run_count // 2 + 1, key="hard_min_wrong")
    hard = hardest_images(y_true, probs_by_run, min_wrong_share=minimum / run_count)
    everyone = int((hard["wrong_count"] == run_count).sum()) if len(hard) else 0
    st.markdown(f"**{len(hard):,}** test images are wrong in at least {minimum} of {run_count} runs; "
                f"**{everyone:,}** are wrong in every one.")
    page = page_bounds(len(hard), PAGE_SIZE, st.columns([1, 4])[0].number_input(
        "Page", min_value=1, value=1, step=1, key="hard_page"))
    rows = hard.iloc[page.start:page.stop]
    st.caption(f"Page {page.number} of {page.count}, hardest first. Under each image: its label, how many runs "
               "got it wrong, and the runs' most common answer.")
    if images is not None and len(rows):
        widgets.show_tiles(images, rows["index"].to_numpy(), [
            f"**#{row.index} {CLASSES[row.true_label]}**  \nwrong in {row.wrong_count}/{row.run_count}  \n"
            f"most say {CLASSES[row.common_prediction]}"
            for row in rows.itertuples()
        ])
        gradcam_expander(rows["index"].tolist(), "hard_gradcam")
    elif len(rows):
        st.dataframe(rows, hide_index=True, width="stretch")

def show_label_errors() -> None:
    """Test images whose label most runs confidently dispute."""
    st.markdown("Test images where most runs agree, confidently, on a class other than the given label. "
                "CIFAR-10's test set has a few dozen mislabelled images; these are the first to check "
                "before blaming the models.")
    controls = st.columns(2)
    agreement = controls[0].slider("More than this share of runs agree", 0.0, 0.95, value=0.5, step=0.05,
                                   key="label_agreement")
    confidence = controls[1].slider("Each with at least this confidence", 0.5, 0.99, value=0.8, step=0.01,
                                    key="label_confidence")
    suspects = likely_label_errors(y_true, probs_by_run, min_agreement=agreement, min_confidence=confidence)
    needed = int(np.floor(agreement * run_count)) + 1
    st.markdown(f"**{len(suspects):,}** image(s) where at least {needed} of {run_count} runs say the same other class "
                f"with at least {confidence:.0%} confidence.")
    if len(suspects) == 0:
        st.info("No image passes these thresholds. Lower them, or add more runs to the vote.")
    page = page_bounds(len(suspects), PAGE_SIZE, st.columns([1, 4])[0].number_input(
        "Page", min_value=1, value=1, step=1, key="label_page"))
    rows = suspects.iloc[page.start:page.stop]
    if images is not None and len(rows):
        widgets.show_tiles(images, rows["index"].to_numpy(), [
            f"**#{row.index}** labelled {CLASSES[row.given_label]}  \n{row.agreeing_runs}/{row.run_count} runs say "
            f"**{CLASSES[row.suggested_label]}** ({row.mean_confidence:.0%})"
            for row in rows.itertuples()
        ])
        gradcam_expander(rows["index"].tolist(), "label_gradcam")
    elif len(rows):
        st.dataframe(rows.assign(
            given_label=[CLASSES[label] for label in rows["given_label"]],
            suggested_label=[CLASSES[label] for label in rows["suggested_label"]],
        ), hide_index=True, width="stretch")


SECTIONS = {"Images most runs get wrong": show_hardest, "Likely label errors": show_label_errors}
# Lazy tabs bound to the URL (?failures_view=...): only the open tab's section runs.
for tab, show in zip(st.tabs(list(SECTIONS), key="failures_view", bind="query-params"), SECTIONS.values()):
    if tab.open is not False:  # None: the tabs do not track state (then every section runs)
        with tab:
            show()
