"""Compare: is B really better than A on the same test images, and where do they differ?

A and B are each a run or a replicate group (``analysis.sides``). UI only:
statistics in ``analysis.stats`` (two runs) and ``analysis.replicates`` (groups),
sentences in ``analysis.findings``, the settings check in ``analysis.controlled``,
calibration in ``analysis.calibration``, costs in ``analysis.pareto``, figures in
``analysis.comparison_figures``.
"""

import pandas as pd
import streamlit as st

from analysis.calibration import calibration_summary, confidence_and_correct, confidence_histogram, reliability_bins
from analysis.controlled import comparison_check, group_member_warning
from analysis.comparison_figures import (
    confidence_histogram_figure,
    confusion_difference_figure,
    pareto_figure,
    reliability_figure,
    style_per_class,
)
from analysis.failures import disagreements, filter_disagreements
from analysis.findings import difference_sentence, shared_budget_text, spread_sentence
from analysis.gallery import page_bounds
from analysis.latency_record import latency_entry, store_latency
from analysis.metrics import confusion_matrix
from analysis.pareto import COST_COLUMNS, cost_frame, mark_front
from analysis.replicates import compare_groups
from analysis.sides import comparison_sides, default_pair, overlap
from analysis.stats import compare_runs, per_class_comparison
from analysis.trajectory import budget_sentence, curve_reader, difference_figure, pair_trajectory, still_rising
from dashboard import access_gate
from dashboard import comparison_widgets as widgets
from dashboard import state
from runstore import BrokenRun
from runstore.images_seen import read_images_seen

CLASSES = list(state.class_names())
PAGE_SIZE = 30
WHO_OPTIONS = {"either or neither": None, "only A right": "A", "only B right": "B", "neither right": "neither"}

MEASURE_MESSAGES_KEY = "measure_messages"


def measure_latency_of(run_ids: list[str]) -> None:
    """Measure and store the latency of ``run_ids`` (a button callback); messages go to session state."""
    from serving.models import ModelRefused
    from serving.predict import measure_latency

    if not access_gate.may_write():  # the callback runs on the server, whatever button the browser sent
        st.session_state[MEASURE_MESSAGES_KEY] = [("error", access_gate.current().refusal("Measuring latency"))]
        return
    current = state.context()
    messages = []
    with st.spinner(f"Measuring {len(run_ids)} model(s) on the CPU…"):
        for run_id in run_ids:
            info = current.info(run_id)
            try:
                model = state.model(info)
                entry = latency_entry(measure_latency(model, int(info.record.get("input_size") or 32)))
                store_latency(info.path, entry)
            except ModelRefused as refusal:
                messages.append(("error", f"{run_id}: {refusal}"))
            except (ValueError, OSError, BrokenRun) as error:
                messages.append(("error", f"{run_id}: the latency could not be measured or stored ({error})."))
            else:
                messages.append(("success", f"{run_id}: {entry['single_ms']:.1f} ms for one image, "
                                            f"{entry['images_per_second']:,.0f} images per second in batches of 256."))
    st.session_state[MEASURE_MESSAGES_KEY] = messages


ctx = state.context()
st.title("Compare runs or groups")
state.require_runs(ctx)
complete = sorted(ctx.complete, key=lambda run_id: -(ctx.info(run_id).record.get("test_accuracy") or 0))
if len(complete) < 2:
    st.info("Comparing needs two finished runs, and there "
            + ("is only one" if complete else "is none") + " so far. Train another model "
            "(for example `python -m training run --model simple_cnn --blocks 1 --epochs 3 --train-limit 5000`) and come back.")
    st.stop()

sides = comparison_sides({run_id: ctx.info(run_id).record for run_id in complete})
side_keys = list(sides)
default_a, default_b = default_pair(sides)
pickers = st.columns(2)
key_a = widgets.side_picker(pickers[0], "A (baseline): a group or a run", sides, "compare_a", default_a,
                            help="Groups (replicates of one setting, n seeds) are listed first, then single runs.")
key_b = widgets.side_picker(pickers[1], "B (challenger): a group or a run", sides, "compare_b", default_b)
side_a, side_b = sides[key_a], sides[key_b]
if key_a == key_b:
    st.warning("A and B are the same. Pick two different runs or groups to compare.")
    st.stop()
if overlap(side_a, side_b):
    st.warning(f"A and B share run(s) {', '.join(overlap(side_a, side_b))}. Pick two different runs or groups "
               "(for example a group against another group, not against one of its own runs).")
    st.stop()
records_a = [ctx.info(run_id).record for run_id in side_a.run_ids]
records_b = [ctx.info(run_id).record for run_id in side_b.run_ids]
# What else differs comes before any verdict: a test says which is better here, not why.
check = comparison_check(records_a, records_b, name_a=f"A · {side_a.name}", name_b=f"B · {side_b.name}")
(st.warning if check.warning else st.caption)(check.summary)
if not check.table.empty:
    with st.expander("Settings that differ", expanded=bool(check.warning)):
        st.dataframe(check.table, hide_index=True, width="stretch")

grouped = side_a.is_group or side_b.is_group
if grouped:
    # The per-image views (per class, confusion, disagreements) need one run per side: a member stands in.
    members = st.columns(2)
    run_a = members[0].selectbox("Run of A shown in the per-image tabs", side_a.run_ids, key="compare_member_a",
                                 disabled=len(side_a.run_ids) == 1)
    run_b = members[1].selectbox("Run of B shown in the per-image tabs", side_b.run_ids, key="compare_member_b",
                                 disabled=len(side_b.run_ids) == 1)
else:
    run_a, run_b = side_a.run_ids[0], side_b.run_ids[0]

y_true, probs_by_run = widgets.aligned_or_stop({
    run_a: widgets.predictions_or_stop(ctx.info(run_a)),
    run_b: widgets.predictions_or_stop(ctx.info(run_b)),
})
probs_a, probs_b = probs_by_run[run_a], probs_by_run[run_b]
predicted_a, predicted_b = probs_a.argmax(axis=1), probs_b.argmax(axis=1)
if not grouped:
    st.caption(f"Both runs are judged on the same {len(y_true):,} test images, so every difference below is "
               "measured image by image, not from two separate scores.")


def show_group_significance() -> None:
    """Difference of the sides' mean accuracy with a 95% interval over seeds and test images, and the verdict."""
    loaded = widgets.predictions_of(ctx, side_a.run_ids + side_b.run_ids)
    try:
        result = compare_groups(side_a.name, {run_id: loaded[run_id] for run_id in side_a.run_ids if run_id in loaded},
                                side_b.name, {run_id: loaded[run_id] for run_id in side_b.run_ids if run_id in loaded})
    except ValueError as error:
        st.error(f"These two cannot be compared: {error}")
        return
    metrics = st.columns(3)
    for column, letter, mean, sd, runs, name in (
            (metrics[0], "A", result.mean_a, result.sd_a, result.runs_a, side_a.name),
            (metrics[1], "B", result.mean_b, result.sd_b, result.runs_b, side_b.name)):
        column.metric(f"{letter} · {name} (n={runs})", f"{mean:.2%}", border=True,
                      help=f"Mean test accuracy of {runs} run(s) on the {result.images:,} test images all runs share.")
        column.caption("a single run: seed variation unknown" if sd is None
                       else f"sd over seeds {sd * 100:.2f} points")
    difference = result.difference
    metrics[2].metric("B − A (means)", f"{difference.estimate * 100:+.2f} points", border=True,
                      help="t interval counting seed-to-seed variation and test-image sampling (docs/statistics.md)"
                      if result.seeds_counted else "This interval covers test-image sampling only.")
    metrics[2].caption(f"95% interval {difference.lower * 100:+.2f} to {difference.upper * 100:+.2f} points")
    # The same budget words as the finding that may have linked here.
    infos = [ctx.info(run_id) for run_id in side_a.run_ids + side_b.run_ids]
    sentence = difference_sentence(result, shared_budget_text(infos, read_images_seen(infos)))
    (st.success if result.detectable else st.info)(sentence)
    st.markdown(spread_sentence(result))
    for side, records in ((side_a, records_a), (side_b, records_b)):
        if side.is_group and (warning := group_member_warning(records, side.name)):
            st.warning(warning)
    seeds = {record["run_id"]: record.get("seed") for record in records_a + records_b}
    st.dataframe(
        [{"side": letter, "run": run_id, "seed": seeds.get(run_id), "test accuracy": accuracy}
         for letter, run_ids, accuracies in (("A", side_a.run_ids, result.accuracies_a),
                                             ("B", side_b.run_ids, result.accuracies_b))
         for run_id, accuracy in zip([run_id for run_id in run_ids if run_id in loaded], accuracies)],
        hide_index=True, width="content",
        column_config={"test accuracy": st.column_config.NumberColumn(format="percent")},
    )
    st.caption(f"Each run's accuracy on the {result.images:,} test images every run shares. "
               + ("The interval counts both how much another seed moves a group's accuracy and how much another "
                  "draw of test images would move the difference." if result.seeds_counted else
                  "With a single run on a side, another seed could move it by more than the interval shows."))
    show_budget_trajectory()


def show_budget_trajectory() -> None:
    """How B − A moved along the validation curves: the budget sentence and the difference against images seen."""
    curve = curve_reader(state.history)
    curves = {side.name: [c for c in (curve(ctx.info(run_id)) for run_id in side.run_ids) if c is not None]
              for side in (side_a, side_b)}
    st.markdown("**How the difference moved with budget** (validation accuracy along training; the test set above "
                "is used only at the end)")
    if not all(curves.values()):
        st.caption("A side has no validation curve (an imported model without a history), so how the order moved "
                   "with budget cannot be shown.")
        return
    try:
        trajectory = pair_trajectory(side_a.name, curves[side_a.name], side_b.name, curves[side_b.name])
    except ValueError as error:
        st.caption(f"How the order moved with budget cannot be said: {error}.")
        return
    suites = {record.get("suite") for record in records_a + records_b}
    st.markdown(budget_sentence([trajectory], still_rising(curves), suite=suites.pop() if len(suites) == 1 else None))
    st.plotly_chart(difference_figure(trajectory), width="stretch", key="compare_budget_chart")
    st.caption("Above zero: B was ahead at that budget. The band is the 95% interval across seeds at each point; "
               "a lead is named only where it excludes zero at every later point (docs/statistics.md).")


def show_significance() -> None:
    """Accuracy of both runs with bootstrap intervals, and McNemar's test on the paired answers."""
    comparison = compare_runs(run_a, run_b, y_true, probs_a, probs_b)
    metrics = st.columns(3)
    for column, label, interval in ((metrics[0], f"A · {run_a}", comparison.accuracy_a),
                                    (metrics[1], f"B · {run_b}", comparison.accuracy_b)):
        column.metric(label, f"{interval.estimate:.2%}", border=True,
                      help="Test accuracy with its 95% interval: " + (
                          "exact (Clopper-Pearson), as there are fewer than 1,000 test images."
                          if interval.method == "exact" else "bootstrap, test images resampled 10,000 times."))
        column.caption(f"95% interval {interval.lower:.2%} – {interval.upper:.2%}")
    difference = comparison.difference
    metrics[2].metric("B − A", f"{difference.estimate * 100:+.2f} points", border=True,
                      help="Paired bootstrap: each resample draws the same images for both runs.")
    metrics[2].caption(f"95% interval {difference.lower * 100:+.2f} to {difference.upper * 100:+.2f} points")
    significant = comparison.test.p_value < 0.05
    (st.success if significant else st.info)(comparison.sentence)
    st.caption("Each side is a single run, so seed variation is unknown: this test covers the test images only, "
               "and another seed of either config could move its accuracy by more than these intervals show.")
    st.markdown("**McNemar's 2×2 table** (number of test images)")
    table = pd.DataFrame(comparison.test.table, index=["A right", "A wrong"], columns=["B right", "B wrong"])
    st.table(table, width="content")
    st.caption("Only the off-diagonal cells (one run right, the other wrong) carry evidence about which run is better; "
               f"the test uses the {comparison.test.method}.")
    show_budget_trajectory()

def show_per_class() -> None:
    """Precision, recall and F1 per class for both runs, and their differences."""
    st.markdown(f"Precision, recall and F1 of **A = {run_a}** and **B = {run_b}** per class; "
                "Δ = B − A, green where B is better, red where it is worse.")
    per_class = per_class_comparison(y_true, predicted_a, predicted_b, CLASSES)
    st.dataframe(style_per_class(per_class), hide_index=True, width="stretch")
    best, worst = per_class.loc[per_class["f1_delta"].idxmax()], per_class.loc[per_class["f1_delta"].idxmin()]
    st.caption(f"Biggest F1 gain for B: **{best['class']}** ({best['f1_delta']:+.1%}); "
               f"biggest loss: **{worst['class']}** ({worst['f1_delta']:+.1%}).")

def show_confusion_difference() -> None:
    """B's confusion matrix minus A's."""
    percentages = st.toggle("Row percentages (off: image counts)", value=True, key="compare_confusion_percent")
    matrix_a = confusion_matrix(y_true, predicted_a, num_classes=len(CLASSES))
    matrix_b = confusion_matrix(y_true, predicted_b, num_classes=len(CLASSES))
    st.plotly_chart(confusion_difference_figure(matrix_a, matrix_b, CLASSES, run_a, run_b, percentages),
                    width="stretch", key="compare_confusion_chart")
    st.caption("Numbers are B minus A. On the diagonal a positive number means B recognises more of that class; "
               "off the diagonal a negative number means B makes that mistake less often. Blue is better for B.")

def show_disagreements() -> None:
    """The test images where A and B answer differently, filterable, with Grad-CAM."""
    # Calibrated, so "most confident first" orders by how often such an answer is right (answers do not change).
    frame = disagreements(y_true, state.trust(ctx.info(run_a)).calibrate(probs_a),
                          state.trust(ctx.info(run_b)).calibrate(probs_b))
    counts = frame["who_was_right"].value_counts()
    st.markdown(f"A and B give different answers on **{len(frame):,}** test images: A right on "
                f"**{counts.get('A', 0):,}**, B right on **{counts.get('B', 0):,}**, neither on "
                f"**{counts.get('neither', 0):,}**.")
    filters = st.columns([2, 2, 1])
    true_class = filters[0].selectbox("True class", ["all classes"] + CLASSES, key="disagree_class")
    who = filters[1].selectbox("Who was right", list(WHO_OPTIONS), key="disagree_who")
    shown = filter_disagreements(frame, None if true_class == "all classes" else CLASSES.index(true_class),
                                 WHO_OPTIONS[who])
    page = page_bounds(len(shown), PAGE_SIZE, filters[2].number_input(
        "Page", min_value=1, value=1, step=1, key="disagree_page"))
    st.caption(f"{len(shown):,} image(s) match; page {page.number} of {page.count}, most confident answers first. "
               "Under each image: the true class, then A's and B's answers with their (calibrated) confidence.")
    images = widgets.test_images_for(y_true)
    rows = shown.iloc[page.start:page.stop]
    if images is not None and len(rows):
        mark = {"A": ("✓", "✗"), "B": ("✗", "✓"), "neither": ("✗", "✗")}
        captions = [
            f"**#{row.index} {CLASSES[row.true_label]}**  \nA {mark[row.who_was_right][0]} {CLASSES[row.predicted_a]} "
            f"{row.confidence_a:.0%}  \nB {mark[row.who_was_right][1]} {CLASSES[row.predicted_b]} {row.confidence_b:.0%}"
            for row in rows.itertuples()
        ]
        widgets.show_tiles(images, rows["index"].to_numpy(), captions)
        with st.expander("Where do they look? Grad-CAM for one of these images"):
            chosen = st.selectbox("Test image", rows["index"].tolist(), key="disagree_gradcam_image",
                                  format_func=lambda index: f"#{index} ({CLASSES[y_true[index]]})")
            if st.toggle("Show Grad-CAM for A and B", key="disagree_gradcam_show"):
                widgets.gradcam_panel(ctx, [run_a, run_b], images[chosen], CLASSES)
    elif len(rows):
        st.dataframe(rows.assign(
            true_label=[CLASSES[label] for label in rows["true_label"]],
            predicted_a=[CLASSES[label] for label in rows["predicted_a"]],
            predicted_b=[CLASSES[label] for label in rows["predicted_b"]],
        ), hide_index=True, width="stretch")

def show_calibration() -> None:
    """Reliability diagrams and confidence histograms: how far each run's confidence can be trusted."""
    default_runs = [run_a, run_b] + [run_id for run_id in ctx.compared if run_id in complete and run_id not in (run_a, run_b)]
    calibrated = st.multiselect("Runs", complete, default=default_runs, key="calibration_runs",
                                format_func=lambda run_id: state.run_label(ctx.info(run_id)))
    loaded = widgets.predictions_of(ctx, calibrated)
    if not loaded:
        st.info("Choose at least one run to see how far its confidence can be trusted.")
    else:
        bins, eces, summaries = {}, {}, []
        for run_id, (labels, probs) in loaded.items():
            confidence, correct = confidence_and_correct(labels, probs)
            bins[run_id] = reliability_bins(confidence, correct)
            summary = calibration_summary(labels, probs)
            eces[run_id] = summary["ece"]
            trust = state.trust(ctx.info(run_id))
            summaries.append({"run": run_id, **summary, "temperature": trust.temperature,
                              "ece_calibrated": trust.ece_after, "flagged": trust.test_flag_rate})
        st.plotly_chart(reliability_figure(bins, eces, ctx.colors), width="stretch", key="reliability_chart")
        st.dataframe(pd.DataFrame(summaries), hide_index=True, width="stretch", column_config={
            "ece": st.column_config.NumberColumn("ECE", format="%.3f", help="Expected calibration error; 0 is perfect."),
            "mean_confidence": st.column_config.NumberColumn("mean confidence", format="percent"),
            "accuracy": st.column_config.NumberColumn("accuracy", format="percent"),
            "mean_confidence_when_wrong": st.column_config.NumberColumn("mean confidence when wrong", format="percent"),
            "temperature": st.column_config.NumberColumn("temperature", format="%.2f",
                                                         help="Fitted on the run's validation images; empty: none stored."),
            "ece_calibrated": st.column_config.NumberColumn("ECE calibrated", format="%.3f",
                                                            help="ECE on the test images after the temperature."),
            "flagged": st.column_config.NumberColumn("flagged unlike CIFAR-10", format="percent",
                                                     help="Share of the test images Classify's warning would flag."),
        })
        st.caption("A point below the dotted line means the run is over-confident at that confidence: it is right "
                   "less often than it claims. The chart shows the raw probabilities; Classify and the galleries use "
                   "the calibrated ones (temperature fitted on the validation images, never the test images).")
        histogram_columns = st.columns(2)
        for position, (run_id, (labels, probs)) in enumerate(loaded.items()):
            confidence, correct = confidence_and_correct(labels, probs)
            with histogram_columns[position % 2]:
                st.plotly_chart(confidence_histogram_figure(confidence_histogram(confidence, correct), run_id),
                                width="stretch", key=f"confidence_histogram_{run_id}")

def show_costs() -> None:
    """Accuracy against a cost (latency, parameters, size) with the Pareto front; measures latency on demand."""
    costs = cost_frame([ctx.info(run_id).record for run_id in complete])
    # Start on the first cost that any run has: latency is missing until someone measures it.
    measured = [column for column in COST_COLUMNS if costs[column].notna().any()] or list(COST_COLUMNS)
    axis = st.radio("Accuracy against", list(COST_COLUMNS), format_func=COST_COLUMNS.get, horizontal=True,
                    index=list(COST_COLUMNS).index(measured[0]), key="cost_axis")
    marked = mark_front(costs, axis)
    if marked[axis].notna().any():
        st.plotly_chart(pareto_figure(marked, axis, ctx.colors), width="stretch", key="pareto_chart")
        front = marked.loc[marked["on_front"], "run_id"].tolist()
        st.caption(f"On the Pareto front (no other run is both cheaper and more accurate): {', '.join(front)}.")
    else:
        st.info("No run has this cost measured yet. Measure latency below.")
    st.dataframe(marked.drop(columns=["on_front"]), hide_index=True, width="stretch", column_config={
        "test_accuracy": st.column_config.NumberColumn("test accuracy", format="percent"),
        "single_ms": st.column_config.NumberColumn("1 image (ms)", format="%.2f"),
        "batch256_ms": st.column_config.NumberColumn("256 images (ms)", format="%.1f"),
        "images_per_second": st.column_config.NumberColumn("images / s", format="%.0f"),
        "params_total": st.column_config.NumberColumn("parameters", format="%d"),
        "model_megabytes": st.column_config.NumberColumn("size (MB)", format="%.2f"),
    })
    unmeasured = costs.loc[costs["single_ms"].isna(), "run_id"].tolist()
    for kind, message in st.session_state.pop(MEASURE_MESSAGES_KEY, []):
        (st.success if kind == "success" else st.error)(message)
    if unmeasured and not access_gate.may_write():
        # Measuring stores the result in the run's run.json: a write, refused on a read-only or locked server.
        st.caption(access_gate.current().refusal("Measuring latency"))
    elif unmeasured:
        st.markdown("**Measure latency** on this machine's CPU: one image and a batch of 256, median of 5 timed "
                    "calls after a warm-up. The result is stored with the run, so this happens once.")
        to_measure = st.multiselect("Runs to measure", unmeasured, default=unmeasured, key="measure_runs")
        # The work runs in the button's callback: it happens exactly once per click, before the page redraws
        # with the new numbers.
        st.button("Measure now", key="measure_now", disabled=not to_measure, on_click=measure_latency_of,
                  args=(list(to_measure),))
    else:
        devices = sorted(set(costs["latency_device"].dropna()) - {""})
        st.caption("Latency measured on: " + "; ".join(devices) + ". Timings from other machines are not comparable.")


SECTIONS = {
    "Significance": show_group_significance if grouped else show_significance,
    "Per class": show_per_class,
    "Confusion difference": show_confusion_difference,
    "Disagreements": show_disagreements,
    "Calibration": show_calibration,
    "Cost vs accuracy": show_costs,
}
# Lazy tabs bound to the URL (?compare_view=Calibration): only the open tab's section runs,
# so the page costs one section, not six, and a link opens the section it names.
tabs = st.tabs(list(SECTIONS), key="compare_view", bind="query-params")
for tab, show in zip(tabs, SECTIONS.values()):
    if tab.open is not False:  # None: the tabs do not track state (then every section runs)
        with tab:
            show()
