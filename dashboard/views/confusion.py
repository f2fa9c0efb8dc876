"""Confusion: the focus run's confusion matrix, per-class metrics and most confused pairs."""

import numpy as np
import streamlit as st

from analysis.figures import confusion_figure
from analysis.images import upscale_nearest
from analysis.metrics import cell_indices, confusion_matrix, most_confused_pairs, per_class_metrics, row_percentages
from dashboard import state
from dashboard.comparison_widgets import test_images_for
from runstore import BrokenRun

CLASSES = list(state.class_names())
ctx = state.context()
st.title("Confusion")
info = state.require_focus_complete(ctx)
st.caption(f"Run **{info.run_id}** ({info.record['model']}) on the test set. Change it with **Focus run** in the sidebar.")
try:
    y_true, probs = state.predictions(info)
except BrokenRun as error:
    st.error(f"This run's predictions cannot be read: {error}. Pick another focus run.")
    st.stop()
y_pred = probs.argmax(axis=1)
matrix = confusion_matrix(y_true, y_pred, num_classes=len(CLASSES))

CELL_TRUE, CELL_PREDICTED = "cell_true", "cell_predicted"


def choose_cell_from_chart() -> None:
    """Clicking a heatmap cell fills the two class pickers below it."""
    points = st.session_state["confusion_chart"].selection.points
    if points:
        st.session_state[CELL_TRUE] = points[0]["y"]
        st.session_state[CELL_PREDICTED] = points[0]["x"]


def choose_cell_from_pairs(pairs) -> None:
    """Choosing a row of the confused-pairs table fills the class pickers."""
    rows = st.session_state["pairs_table"].selection.rows
    if rows:
        st.session_state[CELL_TRUE] = pairs.iloc[rows[0]]["true class"]
        st.session_state[CELL_PREDICTED] = pairs.iloc[rows[0]]["predicted as"]


percentages = st.toggle("Show % of each true class instead of counts", value=True, key="confusion_percent")
shown = row_percentages(matrix) if percentages else matrix
left, right = st.columns([3, 2])
with left:
    st.plotly_chart(
        confusion_figure(shown, CLASSES, percentages=percentages), width="stretch", key="confusion_chart",
        on_select=choose_cell_from_chart, selection_mode="points",
    )
    st.caption("Click a cell to see its test images below.")
with right:
    st.subheader("Most confused pairs")
    pairs = most_confused_pairs(matrix, CLASSES, top=10)
    st.dataframe(
        pairs.drop(columns=["true_index", "predicted_index"]), hide_index=True, width="stretch",
        key="pairs_table", on_select=lambda: choose_cell_from_pairs(pairs), selection_mode="single-row",
        column_config={"share_of_true_class": st.column_config.NumberColumn("% of true class", format="%.1f%%")},
    )
    st.caption("Tick a pair to see its images below.")

st.subheader("Per-class precision, recall and F1")
metrics = per_class_metrics(matrix, CLASSES)
st.dataframe(
    metrics, hide_index=True, width="stretch",
    column_config={column: st.column_config.ProgressColumn(column, format="percent", min_value=0.0, max_value=1.0)
                   for column in ("precision", "recall", "f1")},
)

st.subheader("Images of one cell")
if CELL_TRUE not in st.session_state and not pairs.empty:
    st.session_state[CELL_TRUE] = pairs.iloc[0]["true class"]
    st.session_state[CELL_PREDICTED] = pairs.iloc[0]["predicted as"]
pickers = st.columns(2)
true_name = pickers[0].selectbox("True class", CLASSES, key=CELL_TRUE)
predicted_name = pickers[1].selectbox("Predicted as", CLASSES, key=CELL_PREDICTED)
indices = cell_indices(y_true, y_pred, CLASSES.index(true_name), CLASSES.index(predicted_name))
images = test_images_for(y_true)
if images is None:
    st.stop()
MAX_SHOWN = 40
st.caption(f"{len(indices)} test image(s) of class **{true_name}** predicted as **{predicted_name}**"
           + (f"; the {MAX_SHOWN} most confident shown." if len(indices) > MAX_SHOWN else "."))
if len(indices):
    order = indices[np.argsort(-probs[indices, CLASSES.index(predicted_name)], kind="stable")][:MAX_SHOWN]
    st.image(
        [upscale_nearest(images[index], 3) for index in order],
        caption=[f"#{index} · {probs[index, CLASSES.index(predicted_name)]:.0%}" for index in order],
    )
