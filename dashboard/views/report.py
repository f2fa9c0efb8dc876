"""Report: one click exports a self-contained HTML report and CSV files for stakeholders, and a PDF of it.

UI only: the report is built by ``analysis.report`` and printed by ``analysis.report_pdf``
(headless Chromium), the same functions as ``python -m analysis report``.
"""

from datetime import datetime, timezone

import streamlit as st

from analysis.report import (DEFAULT_TITLE, MAX_NOTES_CHARACTERS, ReportRun, build_report_html, group_pairs,
                             leaderboard_csv, per_class_csv)
from analysis.report_pdf import ChromiumMissing, PdfError, print_report_pdf
from dashboard import comparison_widgets as widgets
from dashboard import state
from dashboard.findings_panel import current_findings, show_findings

REPORT_KEY = "report_files"

ctx = state.context()
st.title("Report for stakeholders")
state.require_runs(ctx)
complete = ctx.complete
if not complete:
    st.info("No run has finished yet, so there is nothing to report. This page fills in when the first run completes.")
    st.stop()

st.markdown("One HTML file with everything a stakeholder needs: the study's findings (below, when a suite was run), "
            "the headline table with confidence intervals, "
            "replicate groups with their spread over seeds, "
            "whether the differences are real (in plain words), training curves, confusion matrices, calibration, "
            "and the most confused class pairs with example images. Charts stay interactive and the file opens "
            "offline: send it by e-mail or put it on a share.")
# The report opens with the same findings as the Overview, in the same words.
show_findings(link_to_compare=False)
default_runs = [run_id for run_id in ctx.compared if run_id in complete] or complete
chosen = st.multiselect("Runs in the report", complete, default=default_runs, key="report_runs",
                        format_func=lambda run_id: state.run_label(ctx.info(run_id)))
pair_options, pair_defaults = group_pairs([ctx.info(run_id).record for run_id in chosen])
comparisons = []
if pair_options:
    comparisons = st.multiselect(
        "Group comparisons", pair_options, default=pair_defaults, key="report_group_pairs",
        format_func=lambda pair: f"{pair[1]} vs {pair[0]}",
        help="Each says first what else differs between the two groups, then the difference of their mean test "
             "accuracy with a 95% interval counting seeds and test images, with n on each side.")
title = st.text_input("Title", value=DEFAULT_TITLE, max_chars=120, key="report_title")
notes = st.text_area("Notes for the reader", key="report_notes", max_chars=MAX_NOTES_CHARACTERS, height=150,
                     placeholder="What was tried, what you conclude, what comes next. Shown as plain text at the top.")

if st.button("Build report", type="primary", key="build_report", disabled=not chosen):
    loaded = widgets.predictions_of(ctx, chosen)
    if not loaded:
        st.error("None of the chosen runs has readable predictions, so no report was made. Pick other runs.")
        st.stop()
    y_true, probs_by_run = widgets.aligned_or_stop(loaded)
    runs = [ReportRun(info=ctx.info(run_id), history=state.history(ctx.info(run_id)), y_true=y_true, probs=probs)
            for run_id, probs in probs_by_run.items()]
    suites, suite_problems = current_findings()
    with st.spinner("Building the report…"):
        try:
            html_text = build_report_html(runs, notes=notes or "", test_images=widgets.test_images_for(y_true),
                                          title=title.strip() or DEFAULT_TITLE, group_comparisons=comparisons,
                                          findings=suites, findings_problems=suite_problems)
            files = {
                "html": html_text.encode("utf-8"),
                "leaderboard": leaderboard_csv(runs).encode("utf-8"),
                "per_class": per_class_csv(runs).encode("utf-8"),
            }
        except ValueError as error:
            st.error(f"The report could not be built: {error}")
            st.stop()
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M")
    st.session_state[REPORT_KEY] = {"files": files, "stamp": stamp, "runs": [run.run_id for run in runs]}

built = st.session_state.get(REPORT_KEY)
if built:
    size_mb = len(built["files"]["html"]) / 1e6
    st.success(f"Report ready for {len(built['runs'])} run(s): {', '.join(built['runs'])} "
               f"({size_mb:.1f} MB, most of it the embedded charting library that lets it work offline).")
    buttons = st.columns(4)
    buttons[0].download_button("Download report (HTML)", built["files"]["html"], key="download_report",
                               file_name=f"cifar10-report-{built['stamp']}.html", mime="text/html", type="primary",
                               on_click="ignore", icon=":material/download:")
    buttons[1].download_button("Leaderboard (CSV)", built["files"]["leaderboard"], key="download_leaderboard",
                               file_name=f"cifar10-leaderboard-{built['stamp']}.csv", mime="text/csv",
                               on_click="ignore", icon=":material/table:")
    buttons[2].download_button("Per-class metrics (CSV)", built["files"]["per_class"], key="download_per_class",
                               file_name=f"cifar10-per-class-{built['stamp']}.csv", mime="text/csv",
                               on_click="ignore", icon=":material/table:")
    # Printing takes Chromium a few seconds, so only on request; the PDF then stays with the built report.
    if "pdf" in built["files"]:
        buttons[3].download_button("Download report (PDF)", built["files"]["pdf"], key="download_report_pdf",
                                   file_name=f"cifar10-report-{built['stamp']}.pdf", mime="application/pdf",
                                   on_click="ignore", icon=":material/picture_as_pdf:")
    elif buttons[3].button("Make a PDF", key="make_pdf", icon=":material/picture_as_pdf:",
                           help="Prints this report through headless Chromium: A4, page numbers, the findings "
                                "on page one."):
        with st.spinner("Printing the PDF…"):
            try:
                built["files"]["pdf"] = print_report_pdf(built["files"]["html"].decode("utf-8"))
                built.pop("pdf_problem", None)
            except PdfError as error:
                built["pdf_problem"] = (isinstance(error, ChromiumMissing), str(error))
        st.rerun()
    if built.get("pdf_problem"):
        missing, message = built["pdf_problem"]
        (st.info if missing else st.error)(f"No PDF: {message}", icon=":material/picture_as_pdf:")
    if built["runs"] != chosen:
        st.caption("The choice of runs changed since the report was built: press **Build report** again to update it.")
else:
    st.caption("Press **Build report** to make the files; the download buttons appear here.")
