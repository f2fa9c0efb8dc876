"""Curves: accuracy and loss of every compared run on shared axes, live while training."""

import streamlit as st

from analysis.curves import best_epoch_table, curve_events
from analysis.figures import curves_figure
from dashboard import state

st.title("Training curves")
ctx = state.context()
state.require_runs(ctx)
if not ctx.compared:
    st.info("Choose runs under **Runs to compare** in the sidebar (or tick them on the Overview).")
    st.stop()

controls = st.columns([2, 1, 1])
smoothing = controls[0].slider(
    "Smoothing", 0.0, 0.95, 0.0, 0.05, key="smoothing",
    help="Exponential moving average, as in TensorBoard; the raw line stays faint underneath.",
)
x_axis = controls[1].radio("X axis", ["epoch", "time"], horizontal=True, key="x_axis",
                           format_func=lambda value: "Epoch" if value == "epoch" else "Wall time")
log_loss = controls[2].toggle("Log scale for loss", value=False, key="log_loss")
st.caption("Solid = training, dashed = validation. On the validation curve: ★ best epoch (the saved model), "
           "▼ learning-rate drop, ✕ early stopping fired. Click legend entries to hide runs.")

live_runs = any(ctx.info(run_id).status == "running" for run_id in ctx.compared)


@st.fragment(run_every=state.LIVE_REFRESH_SECONDS if live_runs else None)
def charts() -> None:
    """The two charts and the best-epoch table; re-run every few seconds while a run trains."""
    live = state.context()
    histories, records, missing = {}, {}, []
    for run_id in live.compared:
        info = live.info(run_id)
        history = state.history(info)
        if history is None or history.empty:
            missing.append(run_id)
            continue
        histories[run_id], records[run_id] = history, info.record
    if missing:
        st.caption(f"No finished epoch yet for: {', '.join(missing)}.")
    if not histories:
        st.info("None of the chosen runs has finished an epoch yet. This page refreshes itself.")
        return
    events = {run_id: curve_events(records[run_id], history) for run_id, history in histories.items()}
    for metric in ("accuracy", "loss"):
        figure = curves_figure(histories, metric, events=events, colors=live.colors, smoothing=smoothing,
                               x_axis=x_axis, log_y=log_loss and metric == "loss")
        st.plotly_chart(figure, width="stretch", key=f"curve_{metric}")
    st.subheader("At the best epoch")
    st.caption("The numbers to quote: each run's saved model holds its best epoch's weights, not the last epoch's.")
    table = best_epoch_table({run_id: (records[run_id], history) for run_id, history in histories.items()})
    st.dataframe(
        table, hide_index=True, width="stretch", placeholder="—",
        column_config={column: st.column_config.NumberColumn(format="percent")
                       for column in ("val accuracy", "train accuracy", "test accuracy")}
        | {column: st.column_config.NumberColumn(format="%.3f") for column in ("val loss", "train loss")},
    )
    if any(live.info(run_id).status == "running" for run_id in histories):
        st.caption(f"Live: refreshing every {state.LIVE_REFRESH_SECONDS} s while a run is training.")


charts()
