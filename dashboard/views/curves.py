"""Curves: accuracy and loss of every compared run on shared axes, live while training.

Replicates of one setting (a group) draw as their mean and a band on the exact
epochs they share (``analysis.group_curves``); each run alone on demand. At most
``MAX_GROUPS_DRAWN`` groups are drawn (the first chosen), so ticking every group of
hundreds of runs neither reads every history nor draws an unreadable chart.
"""

import streamlit as st

from analysis.curves import best_epoch_table, curve_events
from analysis.figures import curves_figure
from analysis.group_curves import averaging_note, group_curve, group_curves_figure, images_seen, training_images
from analysis.model_card import NO_CURVES, has_curves
from dashboard import state
from runstore.groups import group_runs
from runstore.status import STATUS_RUNNING

# More bands than this are unreadable on one chart, and each costs its members' histories.
MAX_GROUPS_DRAWN = 12


def runs_to_draw(compared: list[str], records: dict) -> list[str]:
    """The runs of the first ``MAX_GROUPS_DRAWN`` groups among ``compared`` (run id -> record), in their order."""
    groups = list(group_runs(records[run_id] for run_id in compared).values())[:MAX_GROUPS_DRAWN]
    return [record["run_id"] for members in groups for record in members]


st.title("Training curves")
ctx = state.context()
state.require_runs(ctx)
if not ctx.compared:
    st.info("Choose runs under **Runs to compare** in the sidebar (or tick them on the Overview).")
    st.stop()

compared_groups = group_runs(ctx.info(run_id).record for run_id in ctx.compared)
if len(compared_groups) > MAX_GROUPS_DRAWN:
    drawn = runs_to_draw(ctx.compared, {run_id: ctx.info(run_id).record for run_id in ctx.compared})
    st.caption(f"Drawing the first {MAX_GROUPS_DRAWN} of the {len(compared_groups)} groups chosen ({len(drawn)} of "
               f"{len(ctx.compared)} runs). Choose fewer under **Runs to compare** to see the others.")
has_replicates = any(len(members) > 1 for members in compared_groups.values())
grouped = st.toggle(
    "Group replicates (mean and band)", value=has_replicates, key="group_curves", disabled=not has_replicates,
    help="Runs of one setting that differ only in their seed draw as one line, their mean, over a band."
    if has_replicates else "None of the chosen runs has a replicate (another seed of the same setting) chosen too.",
)
if grouped:
    controls = st.columns([1, 1, 1, 1])
    band = controls[0].radio("Band", ["minmax", "sd"], horizontal=True, key="group_band",
                             format_func=lambda value: "min–max" if value == "minmax" else "±1 sd")
    x_axis = controls[1].radio("X axis", ["epoch", "images seen"], horizontal=True, key="group_x_axis",
                               format_func=lambda value: "Epoch" if value == "epoch" else "Training images seen")
    split = controls[2].radio("Curves of", ["validation", "training"], horizontal=True, key="group_split")
    show_members = controls[3].toggle("Individual runs", value=False, key="group_members",
                                      help="Each member's own line, faint, under its group's mean.")
    st.caption("Line: the mean of a group's runs at each epoch they finished (exact epochs, no interpolation); "
               "shaded: their " + ("min–max" if band == "minmax" else "mean ± 1 sd")
               + ". Hover a point to see how many runs it averages.")
else:
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

live_runs = any(ctx.info(run_id).status == STATUS_RUNNING for run_id in ctx.compared)


def group_charts(histories: dict, records: dict) -> None:
    """Each group's mean and band for accuracy and loss, with a note where members stopped early."""
    groups = group_runs(records[run_id] for run_id in histories)
    sizes = {run_id: training_images(record) for run_id, record in records.items()}
    unknown = [run_id for run_id in histories if sizes[run_id] is None and "images_seen" not in histories[run_id]]
    axis = x_axis
    if axis == "images seen" and unknown:
        st.warning(f"Training images seen are unknown for {', '.join(unknown)} (no training-set size in its "
                   "run.json), so the curves are drawn by epoch.")
        axis = "epoch"
    note = None
    for metric in ("accuracy", "loss"):
        column = metric if split == "training" else f"val_{metric}"
        curves, members, member_x = {}, {}, {}
        for group, member_records in groups.items():
            run_ids = [record["run_id"] for record in member_records]
            if any(column not in histories[run_id] for run_id in run_ids):
                continue
            curves[group] = group_curve([histories[run_id] for run_id in run_ids], column, axis,
                                        [sizes[run_id] for run_id in run_ids])
            if show_members:
                members[group] = {run_id: histories[run_id] for run_id in run_ids}
                if axis == "images seen":
                    member_x[group] = {run_id: images_seen(histories[run_id], sizes[run_id]) for run_id in run_ids}
        if not curves:
            st.info(f"No chosen run has recorded {column.replace('_', ' ')} yet.")
            continue
        figure = group_curves_figure(curves, column, band=band, x_axis=axis, members=members, member_x=member_x)
        st.plotly_chart(figure, width="stretch", key=f"group_curve_{metric}")
        note = note or averaging_note(curves)
    if note:
        st.caption(note)


@st.fragment(run_every=state.LIVE_REFRESH_SECONDS if live_runs else None)
def charts() -> None:
    """The two charts and the best-epoch table; re-run every few seconds while a run trains."""
    live = state.context()
    histories, records, missing, without_curves = {}, {}, [], []
    for run_id in runs_to_draw(live.compared, {run_id: live.info(run_id).record for run_id in live.compared}):
        info = live.info(run_id)
        if not has_curves(info.record or {}):
            without_curves.append(run_id)
            continue
        history = state.history(info)
        if history is None or history.empty:
            missing.append(run_id)
            continue
        histories[run_id], records[run_id] = history, info.record
    if without_curves:
        st.caption(f"{', '.join(without_curves)}: {NO_CURVES} (its test results are on the other pages).")
    if missing:
        st.caption(f"No finished epoch yet for: {', '.join(missing)}.")
    if not histories:
        st.info("None of the chosen runs has curves. A model imported without a history gets them when imported "
                "again with `--history` (a CSVLogger file or a TensorBoard log folder)." if without_curves and not missing
                else "None of the chosen runs has finished an epoch yet. This page refreshes itself.")
        return
    if grouped:
        group_charts(histories, records)
    else:
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
    if any(live.info(run_id).status == STATUS_RUNNING for run_id in histories):
        st.caption(f"Live: refreshing every {state.LIVE_REFRESH_SECONDS} s while a run is training.")


charts()
