"""Overview: the study's findings first, then the leaderboard of every run and the chosen run's model card."""

import json
import zlib

import streamlit as st

from analysis.groups import display_table, filter_choices, filter_runs, grouped_leaderboard, groups_of_runs, run_frame
from analysis.leaderboard import data_text, problem_text, weights_text
from analysis.model_card import (
    NO_CURVES, card_events, configuration_title, has_curves, optimizer_text, preprocessing_text, source_text,
)
from dashboard import state
from dashboard.findings_panel import live_findings
from runstore import SUMMARY_FILE
from runstore.status import STATUS_BROKEN, STATUS_COMPLETE, STATUS_FAILED, STATUS_INTERRUPTED, STATUS_RUNNING

st.title("Overview")
# Findings first: each recorded suite question answered in one sentence (nothing when no suite was run).
live_findings()
ctx = state.context()
state.require_runs(ctx)

def sync_compare_from_table(key: str, frame_run_ids: list[str]) -> None:
    """Ticking rows in the leaderboard sets the sidebar's "Runs to compare"."""
    selection = st.session_state[key].selection
    chosen = [frame_run_ids[row] for row in selection.rows if frame_run_ids[row] in ctx.selectable]
    st.session_state[state.COMPARE_KEY] = chosen


def sync_compare_from_groups(key: str, group_runs: list[list[str]]) -> None:
    """Ticking group rows sets "Runs to compare" to every run of those groups (and lists them below)."""
    selection = st.session_state[key].selection
    chosen = [run_id for row in selection.rows for run_id in group_runs[row] if run_id in ctx.selectable]
    st.session_state[state.COMPARE_KEY] = chosen


# Formats by column, for the per-run table and for every statistic of it in the grouped table.
COLUMN_FORMATS = {
    "test accuracy": "percent", "test loss": "%.3f", "learning rate": "%g", "best epoch": "%.1f",
    "epochs run": "%.1f", "trainable params": "localized", "total params": "localized", "size (MB)": "%.2f",
    "training time (min)": "%.1f",
}
RUN_COLUMNS = {
    "run": st.column_config.TextColumn("run", pinned=True),
    "best epoch": st.column_config.NumberColumn(format="%d"),
    "epochs run": st.column_config.NumberColumn(format="%d"),
    "started": st.column_config.TextColumn("started (UTC)"),
    "weights": st.column_config.TextColumn("weights", width="medium"),
    "problem": st.column_config.TextColumn("problem", width="large"),
}


def run_columns() -> dict:
    """Column formats of the per-run table (numbers stay numbers, so clicking a header sorts them)."""
    formats = {column: st.column_config.NumberColumn(format=number) for column, number in COLUMN_FORMATS.items()}
    return formats | RUN_COLUMNS


def group_columns(columns) -> dict:
    """Column formats of the grouped table: each statistic formatted like its column."""
    config = {
        "group": st.column_config.TextColumn("group", pinned=True),
        "runs": st.column_config.NumberColumn("runs", help="n: the group's runs (after the filters). Statistics use "
                                              "the runs that have the number; sd is the sample sd, blank for one run."),
        "weights": st.column_config.TextColumn("weights", width="medium"),
    }
    for column in columns:
        base = column.rpartition(" ")[0]
        if base in COLUMN_FORMATS:
            config[column] = st.column_config.NumberColumn(column, format=COLUMN_FORMATS[base])
    return config


def table_key(prefix: str, *parts) -> str:
    """A key that changes with the sidebar's choice and the rows shown, so the ticks re-sync with both."""
    return prefix + format(zlib.crc32(repr(parts).encode()), "x")


def leaderboard_filters(runs):
    """Text search and the model, optimizer, suite and status filters; returns the matching runs."""
    choices = filter_choices(runs)
    columns = st.columns([2, 1, 1, 1, 1])
    text = columns[0].text_input("Search", key="leaderboard_search", placeholder="run, group, model, suite…")
    chosen = {}
    for column, name in zip(columns[1:], ("model", "optimizer", "suite", "status")):
        chosen[name] = column.multiselect(name.capitalize(), choices[name], key=f"leaderboard_{name}",
                                          placeholder="all")
    return filter_runs(runs, text=text, **chosen)


@st.fragment(run_every=state.LIVE_REFRESH_SECONDS if any(info.status == STATUS_RUNNING for info in ctx.runs) else None)
def leaderboard() -> None:
    """The table, one row per replicate group, refreshed every few seconds while a run is training."""
    live = state.context()
    runs = run_frame(live.runs)
    finished = runs[runs["status"] == STATUS_COMPLETE].dropna(subset=["test accuracy"])
    columns = st.columns([1, 1, 1.2, 2.4, 1])
    columns[0].metric("Runs", len(runs))
    columns[1].metric("Groups", runs["group"].nunique(), help="Replicate groups: runs of one setting that differ "
                      "only in their seed. A run without replicates is a group of one.")
    if not finished.empty:
        best = finished.iloc[0]
        columns[2].metric("Best test accuracy", f"{best['test accuracy']:.1%}", help=f"run {best['run']}")
        columns[3].metric("Best run", best["run"])
    running = sum(info.status == STATUS_RUNNING for info in live.runs)
    columns[4].metric("Training now", running)
    shown = leaderboard_filters(runs)
    options = st.columns(2)
    individual = options[0].toggle("Show individual runs", key="leaderboard_individual",
                                   help="Off: one row per replicate group. On: one row per run.")
    every_statistic = options[1].toggle("sd, min and max of every column", key="leaderboard_every_statistic",
                                        disabled=individual)
    if len(shown) < len(runs):
        st.caption(f"{len(shown)} of {len(runs)} runs match the filters.")
    if individual:
        run_ids = shown["run"].tolist()
        selected_rows = [row for row, run_id in enumerate(run_ids) if run_id in live.compared]
        st.caption("Click a column header to sort. Tick rows to choose the runs the other pages compare.")
        key = table_key("leaderboard_", live.compared, run_ids)
        st.dataframe(
            shown, placeholder="—", hide_index=True, width="stretch", key=key,
            on_select=lambda: sync_compare_from_table(key, run_ids), selection_mode="multi-row",
            selection_default={"selection": {"rows": selected_rows, "columns": []}}, column_config=run_columns(),
        )
    else:
        board = grouped_leaderboard(shown)
        table = display_table(board.groups, every_statistic=every_statistic)
        names = table["group"].tolist()
        members = [board.members[name]["run"].tolist() for name in names]
        ticked = groups_of_runs(board, live.compared)
        st.caption("One row per replicate group: n runs, then mean, sd, min and max over them (test accuracy on "
                   "each run's test images). Click a column header to sort. Tick groups to list their runs below "
                   "and to compare them on the other pages; **Show individual runs** lists every run.")
        key = table_key("leaderboard_groups_", live.compared, names)
        st.dataframe(
            table, placeholder="—", hide_index=True, width="stretch", key=key,
            on_select=lambda: sync_compare_from_groups(key, members), selection_mode="multi-row",
            selection_default={"selection": {"rows": [names.index(name) for name in ticked], "columns": []}},
            column_config=group_columns(table.columns),
        )
        for name in ticked:
            if len(board.members[name]) > 1:
                st.markdown(f"**{name}**: its {len(board.members[name])} runs")
                st.dataframe(board.members[name], placeholder="—", hide_index=True, width="stretch",
                             key=f"leaderboard_members_{name}", column_config=run_columns())
    for info in live.runs:
        if info.status in (STATUS_BROKEN, STATUS_FAILED, STATUS_INTERRUPTED):
            message = f"**{info.run_id}** is {info.status}: {problem_text(info)}"
            (st.warning if info.status == STATUS_INTERRUPTED else st.error)(message)


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
optimizer = optimizer_text(record)  # None when an imported file recorded neither optimizer nor rate

st.markdown(f"**{record['model']}** — {description}")
left, right = st.columns(2)
with left:
    st.markdown(
        "\n".join([
            f"- **Status:** {info.status}" + (f" — {problem_text(info)}" if problem_text(info) else ""),
            f"- **Source:** {source_text(record)}",
            f"- **Weights:** {weights_text(record)}",
            f"- **Input:** {input_side}×{input_side} RGB",
            f"- **Preprocessing:** {preprocessing_text(record)}",
            *([f"- **Optimizer:** {optimizer}"] if optimizer else []),
            f"- **Data:** {data_text(record)}",
            *([f"- **Curves:** {NO_CURVES}"] if not has_curves(record) else []),
        ])
    )
    if record.get("test_accuracy") is not None:
        metrics = st.columns(3)
        metrics[0].metric("Test accuracy", f"{record['test_accuracy']:.2%}")
        metrics[1].metric("Test loss", f"{record['test_loss']:.3f}")
        metrics[2].metric("Parameters", f"{record['params_total']:,}", help=f"{record['params_trainable']:,} trainable")
with right:
    st.markdown("**Training events**")
    events = card_events(record)
    st.markdown("\n".join(f"- {event}" for event in events) if events else "- none yet")
summary_file = info.path / SUMMARY_FILE
with st.expander("Layer summary with parameter counts", expanded=False):
    if summary_file.is_file():
        st.code(summary_file.read_text(encoding="utf-8", errors="replace"), language=None)
    else:
        st.caption("This run saved no layer summary yet (it is written when the model is built).")
with st.expander(configuration_title(record)):
    st.code(json.dumps(record.get("config", {}), indent=2, sort_keys=True), language="json")
