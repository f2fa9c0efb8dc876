"""Misclassified: a paged gallery of the test images the focus run got wrong."""

import streamlit as st

from analysis.gallery import misclassified_frame, page_bounds
from analysis.images import upscale_nearest
from analysis.loading import images_match_predictions
from dashboard import state
from runstore import BrokenRun

CLASSES = list(state.class_names())
COLUMNS = 6
ctx = state.context()
st.title("Misclassified test images")
info = state.require_focus_complete(ctx)
try:
    # Calibrated, so "most confident" orders by how often such an answer is right.
    y_true, probs = state.calibrated_predictions(info)
except BrokenRun as error:
    st.error(f"This run's predictions cannot be read: {error}. Pick another focus run.")
    st.stop()

filters = st.columns([2, 2, 1, 1])
true_filter = filters[0].multiselect("True class", CLASSES, key="wrong_true", placeholder="all classes")
predicted_filter = filters[1].multiselect("Predicted class", CLASSES, key="wrong_predicted", placeholder="all classes")
order = filters[2].radio("Order", ["most confident first", "least confident first"], key="wrong_order")
page_size = filters[3].selectbox("Per page", [24, 48, 96], key="wrong_page_size")

wrong = misclassified_frame(
    y_true, probs, CLASSES,
    true_classes=[CLASSES.index(name) for name in true_filter],
    predicted_classes=[CLASSES.index(name) for name in predicted_filter],
)
if order == "least confident first":
    wrong = wrong.iloc[::-1].reset_index(drop=True)
total_wrong = int((probs.argmax(axis=1) != y_true).sum())
st.caption(f"Run **{info.run_id}** got {total_wrong:,} of {len(y_true):,} test images wrong; "
           f"{len(wrong):,} match the filters. Confidence = the (calibrated) probability the model gave its wrong answer.")
if wrong.empty:
    st.success("No misclassified images match these filters.")
    st.stop()

loaded = state.test_set()
if isinstance(loaded, str):
    st.warning(f"Test images are not available, so the list is shown without pictures. {loaded}")
    st.dataframe(wrong.head(200), hide_index=True)
    st.stop()
images, labels = loaded
if not images_match_predictions(labels, y_true):
    st.warning("The test images found here are not the ones this run was evaluated on, so they are not shown. "
               "Point CIFAR10_DIR at the data the run was trained with.")
    st.stop()

pages_total = page_bounds(len(wrong), page_size, 1).count
# A new filter makes a new pager (key includes the result size), which starts again at page 1.
page_number = st.pagination(pages_total, key=f"wrong_page_{len(wrong)}_{page_size}") if pages_total > 1 else 1
page = page_bounds(len(wrong), page_size, page_number)
st.caption(f"Page {page.number} of {page.count}: images {page.start + 1}–{page.stop} of {page.total:,}.")
rows = wrong.iloc[page.start:page.stop]
grid = st.columns(COLUMNS)
for position, row in enumerate(rows.itertuples(index=False)):
    with grid[position % COLUMNS]:
        st.image(upscale_nearest(images[row.index], 4), width="stretch")
        st.markdown(f"**{row.predicted}** {row.confidence:.0%}  \ntrue: {row.true} ({row.true_probability:.0%}) · #{row.index}")

st.divider()
explained = st.selectbox(
    "Explain one of these images with Grad-CAM", [None] + rows["index"].tolist(), key="wrong_gradcam",
    format_func=lambda index: "choose an image…" if index is None else f"#{index}",
    help="Shows where the focus run (and the other compared runs) looked when answering.",
)
if explained is not None:
    from dashboard.comparison_widgets import gradcam_panel

    explain_runs = [info.run_id] + [run_id for run_id in ctx.compared if run_id in ctx.complete and run_id != info.run_id]
    gradcam_panel(ctx, explain_runs[:4], images[explained], CLASSES)
