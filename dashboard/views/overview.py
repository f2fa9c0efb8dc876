"""Overview: the leaderboard of every run and the chosen run's model card."""

import json
import zlib

import streamlit as st

from analysis.leaderboard import callback_events, data_text, leaderboard_frame, problem_text, weights_text
from dashboard import state
from runstore import SUMMARY_FILE
from runstore.preprocessing import PREPROCESSING_MODES, run_preprocessing

st.title("Leaderboard")
ctx = state.context()
state.require_runs(ctx)

def sync_compare_from_table(key: str, frame_run_ids: list[str]) -> None:
    """Ticking rows in the leaderboard sets the sidebar's "Runs to compare"."""
    selection = st.session_state[key].selection
    chosen = [frame_run_ids[row] for row in selection.rows if frame_run_ids[row] in ctx.selectable]
    st.session_state[state.COMPARE_KEY] = chosen


@st.fragment(run_every=state.LIVE_REFRESH_SECONDS if any(info.status == "running" for info in ctx.runs) else None)
def leaderboard() -> None:
    """The table, refreshed every few seconds while a run is training."""
    live = state.context()
    frame = leaderboard_frame(live.runs)
    finished = frame[frame["status"] == "complete"].dropna(subset=["test accuracy"])
    columns = st.columns([1, 1.2, 2.4, 1])
    columns[0].metric("Runs", len(frame))
    if not finished.empty:
        best = finished.iloc[0]
        columns[1].metric("Best test accuracy", f"{best['test accuracy']:.1%}", help=f"run {best['run']}")
        columns[2].metric("Best run", best["run"])
    running = sum(info.status == "running" for info in live.runs)
    columns[3].metric("Training now", running)
    run_ids = frame["run"].tolist()
    selected_rows = [row for row, run_id in enumerate(run_ids) if run_id in live.compared]
    st.caption("Click a column header to sort. Tick rows to choose the runs the other pages compare.")
    # The key follows the sidebar's choice, so the ticks re-sync whenever the sidebar changes it.
    key = "leaderboard_" + format(zlib.crc32("|".join(live.compared).encode()), "x")
    st.dataframe(
        frame,
        placeholder="—",
        hide_index=True,
        width="stretch",
        key=key,
        on_select=lambda: sync_compare_from_table(key, run_ids),
        selection_mode="multi-row",
        selection_default={"selection": {"rows": selected_rows, "columns": []}},
        column_config={
            "run": st.column_config.TextColumn("run", pinned=True),
            "test accuracy": st.column_config.NumberColumn("test accuracy", format="percent"),
            "test loss": st.column_config.NumberColumn(format="%.3f"),
            "learning rate": st.column_config.NumberColumn(format="%g"),
            "trainable params": st.column_config.NumberColumn(format="localized"),
            "total params": st.column_config.NumberColumn(format="localized"),
            "size (MB)": st.column_config.NumberColumn(format="%.2f"),
            "training time (min)": st.column_config.NumberColumn(format="%.1f"),
            "started": st.column_config.TextColumn("started (UTC)"),
            "weights": st.column_config.TextColumn("weights", width="medium"),
            "problem": st.column_config.TextColumn("problem", width="large"),
        },
    )
    for info in live.runs:
        if info.status in ("broken", "failed", "interrupted"):
            message = f"**{info.run_id}** is {info.status}: {problem_text(info)}"
            (st.warning if info.status == "interrupted" else st.error)(message)


leaderboard()

st.header("Model card")
card_options = [info.run_id for info in ctx.runs if info.record is not None]
if not card_options:
    st.info("No run has a readable run.json yet.")
    st.stop()


def follow_card_choice() -> None:
    """Choosing a model card makes that run the focus run of the other pages too."""
    chosen = st.session_state["card_run"]
    if chosen in ctx.selectable:
        st.session_state[state.FOCUS_KEY] = chosen


default_card = ctx.focus if ctx.focus in card_options else card_options[0]
card_run = st.selectbox(
    "Run", card_options, index=card_options.index(default_card), key="card_run",
    format_func=lambda run_id: state.run_label(ctx.info(run_id)), on_change=follow_card_choice,
)
info = ctx.info(card_run)
record = info.record
# Everything the card says comes from the run's own record, never from the training registry.
description = record.get("description") or "no description recorded"
input_side = record.get("input_size") or "?"
preprocessing = PREPROCESSING_MODES[run_preprocessing(record)]  # run.json was validated: the mode is known

st.markdown(f"**{record['model']}** — {description}")
left, right = st.columns(2)
with left:
    st.markdown(
        "\n".join([
            f"- **Status:** {info.status}" + (f" — {problem_text(info)}" if problem_text(info) else ""),
            f"- **Weights:** {weights_text(record)}",
            f"- **Input:** {input_side}×{input_side} RGB; {preprocessing}",
            f"- **Optimizer:** {record['optimizer']} at learning rate {record['learning_rate']:g}",
            f"- **Data:** {data_text(record)}",
        ])
    )
    if record.get("test_accuracy") is not None:
        metrics = st.columns(3)
        metrics[0].metric("Test accuracy", f"{record['test_accuracy']:.2%}")
        metrics[1].metric("Test loss", f"{record['test_loss']:.3f}")
        metrics[2].metric("Parameters", f"{record['params_total']:,}", help=f"{record['params_trainable']:,} trainable")
with right:
    st.markdown("**Callbacks' events**")
    events = callback_events(record)
    st.markdown("\n".join(f"- {event}" for event in events) if events else "- none yet")
summary_file = info.path / SUMMARY_FILE
with st.expander("Layer summary with parameter counts", expanded=False):
    if summary_file.is_file():
        st.code(summary_file.read_text(encoding="utf-8", errors="replace"), language=None)
    else:
        st.caption("This run saved no layer summary yet (it is written when the model is built).")
with st.expander("Full configuration (as given to `python -m training run`)"):
    st.code(json.dumps(record.get("config", {}), indent=2, sort_keys=True), language="json")
