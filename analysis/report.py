"""The stakeholder report: one self-contained HTML file, plus CSV exports.

The HTML file needs no network to open: plotly.js is inlined once in the
page head, every chart is an interactive Plotly div, and every image is a
base64 ``data:`` URI. Free-text notes are HTML-escaped.

Usage::

    from analysis.report import ReportRun, build_report_html, leaderboard_csv, per_class_csv
    runs = [ReportRun(info=info, history=read_history(info.path), y_true=y, probs=p) for ...]
    html_text = build_report_html(runs, notes="Trained overnight on the lab box.", test_images=x_test)
    Path("report.html").write_text(html_text, encoding="utf-8")

Contents: the study's findings first (each recorded suite question answered in
the words of ``analysis.findings``, when findings are given), notes, headline table, replicate groups (n, mean, sd, min-max, and each
chosen group comparison: what else differed first, then the difference with its
95% interval over seeds and test images, in the words of ``analysis.findings``),
significance of each run against the most accurate one in plain words, training
curves, row-normalized confusion matrices, calibration, and the most confused
class pairs with example images.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.offline
from PIL import Image

from analysis.calibration import confidence_and_correct, expected_calibration_error, reliability_bins
from analysis.comparison_figures import reliability_figure
from analysis.curves import curve_events
from analysis.controlled import comparison_check
from analysis.figures import confusion_figure, curves_figure, run_colors
from analysis.findings import SuiteFindings, difference_sentence, shared_budget_text, spread_sentence
from analysis.trajectory import difference_figure
from analysis.groups import group_statistics
from analysis.images import upscale_nearest
from analysis.leaderboard import leaderboard_frame
from analysis.metrics import confusion_matrix, most_confused_pairs, per_class_metrics, row_percentages
from analysis.replicates import compare_groups
from analysis.stats import EXACT_INTERVAL_BELOW, accuracy_interval, compare_runs
from runstore.groups import group_runs
from runstore.images_seen import last_images_seen
from runstore.reader import RunInfo
from runstore.cifar import CLASS_NAMES

DEFAULT_TITLE = "CIFAR-10 model comparison"
CONFUSED_PAIRS_PER_RUN = 3
EXAMPLES_PER_PAIR = 6
EXAMPLE_SCALE = 3  # 32x32 test images shown at 96x96, pixels kept sharp
REPORT_RESAMPLES = 5000
MAX_NOTES_CHARACTERS = 20_000


@dataclass(frozen=True)
class ReportRun:
    """One run's data for the report: its folder info, history and test-set predictions."""

    info: RunInfo
    history: pd.DataFrame | None
    y_true: np.ndarray
    probs: np.ndarray

    @property
    def run_id(self) -> str:
        """The run's id."""
        return self.info.run_id

    @property
    def record(self) -> dict:
        """The run's run.json record (empty for a broken run)."""
        return self.info.record or {}

    @property
    def predicted(self) -> np.ndarray:
        """The predicted class of every test image."""
        return self.probs.argmax(axis=1)


def _check_runs(runs: Sequence[ReportRun]) -> None:
    if not runs:
        raise ValueError("Choose at least one complete run to put in the report.")
    ids = [run.run_id for run in runs]
    if len(set(ids)) != len(ids):
        raise ValueError("Each run can appear in the report only once.")
    lengths = {run.y_true.shape[0] for run in runs}
    if len(lengths) > 1 or any(run.probs.shape[0] != run.y_true.shape[0] for run in runs):
        raise ValueError("The chosen runs were not scored on the same test images, so they cannot be compared.")


def _ordered(runs: Sequence[ReportRun]) -> list[ReportRun]:
    """Most accurate first: the report's reference run is the best one."""
    return sorted(runs, key=lambda run: -float(np.mean(run.predicted == run.y_true)))


def headline_frame(runs: Sequence[ReportRun], resamples: int = REPORT_RESAMPLES) -> pd.DataFrame:
    """One row per run with the numbers a stakeholder asks for first (fractions, not percent)."""
    rows = []
    for run in runs:
        record = run.record
        correct = run.predicted == run.y_true
        interval = accuracy_interval(correct, resamples=resamples)
        confidence, _ = confidence_and_correct(run.y_true, run.probs)
        latency = record.get("latency") or {}
        best = record.get("best_epoch")
        model_bytes = record.get("model_bytes")
        train_seconds = record.get("train_seconds")
        rows.append({
            "run": run.run_id,
            "model": record.get("model"),
            "weights": record.get("weights"),
            "epochs run": record.get("epochs_run"),
            "best epoch": None if best is None else best + 1,
            "test accuracy": interval.estimate,
            "accuracy 95% low": interval.lower,
            "accuracy 95% high": interval.upper,
            "test loss": record.get("test_loss"),
            "ECE": expected_calibration_error(confidence, correct),
            "total params": record.get("params_total"),
            "size (MB)": None if model_bytes is None else model_bytes / 1e6,
            "training time (min)": None if train_seconds is None else train_seconds / 60,
            "latency 1 image (ms)": latency.get("single_ms"),
            "images per second": latency.get("images_per_second"),
        })
    return pd.DataFrame(rows)


def leaderboard_csv(runs: Sequence[ReportRun]) -> str:
    """The leaderboard of the chosen runs as CSV: the Overview columns plus intervals, ECE and latency."""
    _check_runs(runs)
    board = leaderboard_frame([run.info for run in runs])
    extra = headline_frame(runs).drop(columns=["model", "weights", "epochs run", "best epoch", "test accuracy",
                                               "test loss", "total params", "size (MB)", "training time (min)"])
    merged = board.merge(extra, on="run", how="left")
    # Most accurate first, as in the report, whatever order the Overview uses.
    merged = merged.sort_values("test accuracy", ascending=False, na_position="last", kind="stable")
    return merged.to_csv(index=False)


def per_class_frame(runs: Sequence[ReportRun], class_names: Sequence[str] = CLASS_NAMES) -> pd.DataFrame:
    """Precision, recall, F1 and support of every class for every run (long format, one row per run and class)."""
    frames = []
    for run in runs:
        matrix = confusion_matrix(run.y_true, run.predicted, num_classes=len(class_names))
        table = per_class_metrics(matrix, class_names)
        table.insert(0, "run", run.run_id)
        frames.append(table)
    return pd.concat(frames, ignore_index=True)


def per_class_csv(runs: Sequence[ReportRun], class_names: Sequence[str] = CLASS_NAMES) -> str:
    """``per_class_frame`` as CSV text."""
    _check_runs(runs)
    return per_class_frame(runs, class_names).to_csv(index=False)


def report_groups(runs: Sequence[ReportRun]) -> dict[str, list[ReportRun]]:
    """The chosen runs by replicate group (a run without replicates is a group of one), best mean accuracy first."""
    by_id = {run.run_id: run for run in runs}
    groups = {name: [by_id[record["run_id"]] for record in records]
              for name, records in group_runs(run.record or {"run_id": run.run_id} for run in runs).items()}
    return dict(sorted(groups.items(), key=lambda item: -np.mean([np.mean(run.predicted == run.y_true)
                                                                  for run in item[1]])))


def groups_frame(runs: Sequence[ReportRun]) -> pd.DataFrame:
    """One row per group: n runs, model, and the mean, sd, min and max of test accuracy on the shared test images."""
    rows = []
    for name, members in report_groups(runs).items():
        accuracy = group_statistics(float(np.mean(run.predicted == run.y_true)) for run in members)
        models = sorted({str(run.record.get("model")) for run in members})
        rows.append({"group": name, "runs": accuracy["n"], "model": ", ".join(models),
                     **{f"test accuracy {statistic}": accuracy[statistic] for statistic in ("mean", "sd", "min", "max")}})
    return pd.DataFrame(rows, columns=["group", "runs", "model", "test accuracy mean", "test accuracy sd",
                                       "test accuracy min", "test accuracy max"])


def group_pairs(records: Sequence[Mapping]) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Group comparisons a report can hold, from run.json records: ``(options, defaults)`` of ``(A, B)`` names.

    Options pair every two groups, B the one with the higher mean recorded test
    accuracy; defaults compare each group against the best. Both are empty
    when no group has replicates (the per-run significance section covers single runs).
    """
    groups = group_runs(records)
    if len(groups) < 2 or all(len(members) < 2 for members in groups.values()):
        return [], []
    ranked = sorted(groups, key=lambda name: -np.mean([member.get("test_accuracy") or 0.0 for member in groups[name]]))
    options = [(ranked[low], ranked[high]) for high in range(len(ranked)) for low in range(high + 1, len(ranked))]
    return options, [(other, ranked[0]) for other in ranked[1:]]


def default_group_comparisons(runs: Sequence[ReportRun]) -> list[tuple[str, str]]:
    """``(A, B)`` group pairs the report compares unless told otherwise: each group against the best one."""
    return group_pairs([run.record or {"run_id": run.run_id} for run in runs])[1]


@dataclass(frozen=True)
class GroupFinding:
    """One group comparison as the report states it: the settings check first, then the verdict and the spread."""

    name_a: str
    name_b: str
    check: str
    controlled: bool
    sentence: str
    spread: str


def group_findings(runs: Sequence[ReportRun], comparisons: Sequence[tuple[str, str]]) -> list[GroupFinding]:
    """The findings for each ``(A, B)`` pair of group names (analysis.controlled, replicates and findings)."""
    groups = report_groups(runs)
    findings = []
    for name_a, name_b in comparisons:
        missing = [name for name in (name_a, name_b) if name not in groups]
        if missing:
            raise ValueError(f"No chosen run belongs to group {', '.join(missing)}: choose its runs or another pair.")
        if name_a == name_b:
            raise ValueError(f"Group {name_a} cannot be compared with itself.")
        check = comparison_check([run.record for run in groups[name_a]], [run.record for run in groups[name_b]],
                                 name_a=name_a, name_b=name_b)
        result = compare_groups(name_a, {run.run_id: (run.y_true, run.probs) for run in groups[name_a]},
                                name_b, {run.run_id: (run.y_true, run.probs) for run in groups[name_b]})
        findings.append(GroupFinding(name_a, name_b, check.summary, check.warning is None,
                                     # The budget in the words the Overview's findings and Compare use.
                                     difference_sentence(result, shared_budget_text(
                                         [run.info for run in groups[name_a] + groups[name_b]],
                                         {run.run_id: last_images_seen(run.history) for run in runs})),
                                     spread_sentence(result)))
    return findings


def png_data_uri(image: np.ndarray) -> str:
    """A uint8 image (H, W[, 3]) as a ``data:image/png;base64,...`` URI."""
    buffer = io.BytesIO()
    Image.fromarray(np.asarray(image, dtype=np.uint8)).save(buffer, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _figure_div(figure: go.Figure) -> str:
    # plotly.js is inlined once in <head>; each chart only carries its data.
    return figure.to_html(full_html=False, include_plotlyjs=False, config={"displaylogo": False, "responsive": True})


def _escape(value) -> str:
    return html.escape("" if value is None else str(value))


def _format_cell(column: str, value) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "—"
    if column in ("test accuracy", "accuracy 95% low", "accuracy 95% high"):
        return f"{value:.1%}"
    if column in ("test loss", "ECE"):
        return f"{value:.3f}"
    if column == "total params":
        return f"{int(value):,}"
    if column in ("size (MB)", "training time (min)", "latency 1 image (ms)"):
        return f"{value:.1f}"
    if column == "images per second":
        return f"{value:,.0f}"
    return _escape(value)


def interval_wording(test_images: int) -> str:
    """How the headline's accuracy intervals were computed, as ``analysis.stats.accuracy_interval`` does it."""
    if test_images < EXACT_INTERVAL_BELOW:
        return (f"exact (Clopper–Pearson), as there are fewer than {EXACT_INTERVAL_BELOW:,} test images; "
                "it covers test-image sampling only")
    return "a bootstrap over the test images; it covers test-image sampling only, not another seed"


def _headline_table(frame: pd.DataFrame) -> str:
    columns = [column for column in frame.columns if column not in ("accuracy 95% low", "accuracy 95% high")]
    head = "".join(f"<th>{_escape(column)}</th>" for column in columns)
    body = []
    for _, row in frame.iterrows():
        cells = []
        for column in columns:
            text = _format_cell(column, row[column])
            if column == "test accuracy":
                text += (f' <span class="ci">({_format_cell(column, row["accuracy 95% low"])}–'
                         f'{_format_cell(column, row["accuracy 95% high"])})</span>')
            cells.append(f"<td>{text}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f'<table class="headline"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def _groups_section(runs: list[ReportRun], comparisons: Sequence[tuple[str, str]]) -> str:
    frame = groups_frame(runs)
    if (frame["runs"] < 2).all():
        return ("<p>Every chosen run is a single run (no replicates with other seeds), so seed-to-seed variation is "
                "unknown: the per-run intervals below cover the test images only.</p>")
    head = "".join(f"<th>{_escape(column)}</th>" for column in frame.columns)
    body = []
    for _, row in frame.iterrows():
        cells = [_escape(row["group"]), f"{int(row['runs'])}", _escape(row["model"])]
        cells += [_format_cell("test accuracy", row[column]) for column in frame.columns[3:]]
        body.append("<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>")
    parts = ["<p>Runs of one setting that differ only in their seed form a group. Test accuracy over the group's "
             "runs, on the test images they share: n runs, mean, standard deviation over seeds, min and max.</p>",
             f'<table class="headline"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>']
    findings = group_findings(runs, comparisons)
    if findings:
        items = []
        for finding in findings:
            # What else differed comes before the verdict.
            check = _escape(finding.check) if finding.controlled else f"<strong>{_escape(finding.check)}</strong>"
            items.append(f"<li><strong>{_escape(finding.name_b)} vs {_escape(finding.name_a)}.</strong> "
                         f"{check} {_escape(finding.sentence)} {_escape(finding.spread)}</li>")
        parts.append("<p>Group comparisons (95% interval counting seed-to-seed variation and test-image sampling; "
                     "with a single run on a side, test images only):</p>"
                     f"<ul class='significance'>{''.join(items)}</ul>")
    return "".join(parts)


def _significance_section(runs: list[ReportRun]) -> str:
    if len(runs) < 2:
        return "<p>Only one run was chosen, so there is nothing to compare it with.</p>"
    reference = runs[0]
    items = []
    for other in runs[1:]:
        comparison = compare_runs(other.run_id, reference.run_id, reference.y_true, other.probs, reference.probs,
                                  resamples=REPORT_RESAMPLES)
        items.append(f"<li><strong>{_escape(reference.run_id)} vs {_escape(other.run_id)}.</strong> "
                     f"{_escape(comparison.sentence)}</li>")
    return (f"<p>Each run against the most accurate one, <strong>{_escape(reference.run_id)}</strong>, "
            "on the same test images (paired bootstrap intervals, McNemar's test; these cover test-image sampling "
            "only, not another seed):</p>"
            f"<ul class='significance'>{''.join(items)}</ul>")


def _curves_section(runs: list[ReportRun], colors: dict[str, str]) -> str:
    histories = {run.run_id: run.history for run in runs if run.history is not None and not run.history.empty}
    if not histories:
        return "<p>No training history was found for the chosen runs.</p>"
    events = {run.run_id: curve_events(run.record, run.history) for run in runs if run.run_id in histories}
    parts = [_figure_div(curves_figure(histories, metric, events=events, colors=colors)) for metric in ("accuracy", "loss")]
    return ("<p>Solid lines: training; dashed: validation. Stars mark each run's best epoch, whose weights "
            "were saved and tested.</p>" + "".join(parts))


def _confusion_section(runs: list[ReportRun], class_names: Sequence[str]) -> str:
    parts = []
    for run in runs:
        matrix = confusion_matrix(run.y_true, run.predicted, num_classes=len(class_names))
        figure = confusion_figure(row_percentages(matrix), class_names, percentages=True,
                                  title=f"{run.run_id}: % of each true class")
        parts.append(_figure_div(figure))
    return "<p>Each row is a true class and sums to 100%: the diagonal is the share of that class recognised.</p>" + "".join(parts)


def _calibration_section(runs: list[ReportRun], colors: dict[str, str]) -> str:
    bins, eces = {}, {}
    for run in runs:
        confidence, correct = confidence_and_correct(run.y_true, run.probs)
        bins[run.run_id] = reliability_bins(confidence, correct)
        eces[run.run_id] = expected_calibration_error(confidence, correct)
    return ("<p>How far each model's confidence can be trusted. A calibrated model is right on 80% of the images it is "
            "80% sure about (the dotted line); ECE is the average gap, 0 is perfect.</p>"
            + _figure_div(reliability_figure(bins, eces, colors)))


def _confused_pairs_section(runs: list[ReportRun], class_names: Sequence[str], test_images: np.ndarray | None) -> str:
    parts = []
    if test_images is None:
        parts.append("<p class='note'>Test images were not available when this report was made, so the examples "
                     "are left out.</p>")
    for run in runs:
        matrix = confusion_matrix(run.y_true, run.predicted, num_classes=len(class_names))
        pairs = most_confused_pairs(matrix, class_names, top=CONFUSED_PAIRS_PER_RUN)
        parts.append(f"<h3>{_escape(run.run_id)}</h3>")
        if pairs.empty:
            parts.append("<p>This run made no mistakes.</p>")
            continue
        for _, pair in pairs.iterrows():
            true_index, predicted_index = int(pair["true_index"]), int(pair["predicted_index"])
            parts.append(f"<p class='pair'><strong>{_escape(pair['true class'])}</strong> taken for "
                         f"<strong>{_escape(pair['predicted as'])}</strong>: {int(pair['images'])} images "
                         f"({pair['share_of_true_class']:.1f}% of all {_escape(pair['true class'])} images)</p>")
            if test_images is None:
                continue
            indices = np.flatnonzero((run.y_true == true_index) & (run.predicted == predicted_index))
            # Most confidently wrong first: the examples that surprise a reader most.
            indices = indices[np.argsort(-run.probs[indices, predicted_index], kind="stable")][:EXAMPLES_PER_PAIR]
            figures = []
            for index in indices:
                uri = png_data_uri(upscale_nearest(test_images[index], EXAMPLE_SCALE))
                caption = f"#{index} · {run.probs[index, predicted_index]:.0%} sure"
                figures.append(f"<figure><img src='{uri}' alt='test image {index}' width='96' height='96'>"
                               f"<figcaption>{_escape(caption)}</figcaption></figure>")
            parts.append(f"<div class='examples'>{''.join(figures)}</div>")
    return "".join(parts)


def findings_section(suites: Sequence[SuiteFindings], problems: Sequence[str] = ()) -> str:
    """Each suite's questions with their finding sentences, as HTML (the same words as the Overview)."""
    parts = [f"<p class='note'>{_escape(problem)}</p>" for problem in problems]
    for suite in suites:
        parts.append(f"<h3>{_escape(suite.name)} suite</h3>")
        if suite.description:
            parts.append(f"<p class='note'>{_escape(suite.description)}</p>")
        items = []
        for finding in suite.findings:
            note = f" <span class='note'>{_escape(finding.note)}</span>" if finding.note else ""
            # How the answer moved with budget (analysis.trajectory), with the chart of the compared pair.
            budget = (f"<br><span class='budget'>{_escape(finding.budget)}</span>" if finding.budget else "")
            chart = _figure_div(difference_figure(finding.trajectories[0])) if finding.trajectories else ""
            items.append(f"<li class='finding {_escape(finding.status.replace(' ', '-'))}'>"
                         f"<strong>{_escape(finding.title)}</strong> <span class='status'>{_escape(finding.status)}</span>"
                         f"<br>{_escape(finding.sentence)}{note}{budget}{chart}</li>")
        parts.append(f"<ul class='significance'>{''.join(items)}</ul>")
    return "".join(parts)


STYLE = """
body { font-family: 'Source Sans Pro', 'Segoe UI', Helvetica, Arial, sans-serif; margin: 0 auto; max-width: 1100px;
       padding: 24px; color: #262730; line-height: 1.45; }
h1 { margin-bottom: 4px; } h2 { border-bottom: 1px solid #ddd; padding-bottom: 4px; margin-top: 36px; }
.meta { color: #666; margin-top: 0; }
table.headline { border-collapse: collapse; font-size: 14px; width: 100%; }
table.headline th, table.headline td { border: 1px solid #ddd; padding: 4px 8px; text-align: right; }
table.headline th:first-child, table.headline td:first-child { text-align: left; }
table.headline th { background: #f0f2f6; }
.ci { color: #666; font-size: 12px; }
.notes { white-space: pre-wrap; background: #fffbe6; border-left: 4px solid #f5c518; padding: 8px 12px; }
.examples { display: flex; flex-wrap: wrap; gap: 8px; margin-bottom: 12px; }
.examples figure { margin: 0; text-align: center; font-size: 12px; color: #555; }
.examples img { image-rendering: pixelated; border: 1px solid #ccc; }
.significance li { margin-bottom: 8px; }
.note { color: #666; }
.status { font-size: 12px; border-radius: 8px; padding: 1px 8px; background: #f0f2f6; }
.answered .status { background: #dff5e3; } .at-chance .status { background: #fde9d7; }
"""

# Printing (a browser's Print, or analysis.report_pdf): the page's width is the paper's, nothing
# that cannot be cut is split across pages, headings stay with what follows, table headers repeat.
PRINT_STYLE = """
@media print {
  body { max-width: none; padding: 0; font-size: 12px; }
  h1 { margin-top: 0; } h2 { margin-top: 20px; break-after: avoid; } h3 { break-after: avoid; }
  .js-plotly-plot, figure, .examples, tr, li, .notes { break-inside: avoid; }
  .pair { break-after: avoid; }
  table.headline { font-size: 10px; } table.headline th, table.headline td { padding: 2px 4px; }
  table.headline td:first-child { overflow-wrap: break-word; }
  section > p:first-of-type { break-after: avoid; } section > p:first-of-type + div { break-before: avoid; }
  thead { display: table-header-group; }
  .modebar-container { display: none; }
}
"""


def build_report_html(
    runs: Sequence[ReportRun],
    notes: str = "",
    test_images: np.ndarray | None = None,
    title: str = DEFAULT_TITLE,
    class_names: Sequence[str] = CLASS_NAMES,
    generated_at: datetime | None = None,
    group_comparisons: Sequence[tuple[str, str]] | None = None,
    findings: Sequence[SuiteFindings] = (),
    findings_problems: Sequence[str] = (),
) -> str:
    """The whole report as one HTML document (see module docstring); ``notes`` is escaped, never trusted.

    ``group_comparisons`` lists ``(A, B)`` group names to compare; None compares
    each group against the best one (``default_group_comparisons``).
    ``findings`` (``analysis.findings.suite_findings``) open the report when given.
    """
    _check_runs(runs)
    if len(notes) > MAX_NOTES_CHARACTERS:
        raise ValueError(f"The notes are {len(notes):,} characters long; keep them under {MAX_NOTES_CHARACTERS:,}.")
    if test_images is not None and len(test_images) != runs[0].y_true.shape[0]:
        raise ValueError(f"{len(test_images)} test images given for {runs[0].y_true.shape[0]} predictions.")
    ordered = _ordered(runs)
    colors = run_colors([run.run_id for run in ordered])
    generated_at = generated_at or datetime.now(timezone.utc)
    notes_html = (f"<div class='notes'>{_escape(notes)}</div>" if notes.strip()
                  else "<p class='note'>No notes were written.</p>")
    sections = [("Findings", findings_section(findings, findings_problems))] if findings or findings_problems else []
    sections += [
        ("Notes", notes_html),
        ("Headline", f"<p>Test accuracy on the {len(ordered[0].y_true):,} CIFAR-10 test images with its 95% interval "
                     f"(in brackets): {interval_wording(len(ordered[0].y_true))}. ECE is the calibration error, "
                     "0 is perfect.</p>" + _headline_table(headline_frame(ordered))),
        ("Replicate groups", _groups_section(ordered, default_group_comparisons(ordered)
                                             if group_comparisons is None else group_comparisons)),
        ("Is the difference real?", _significance_section(ordered)),
        ("Training curves", _curves_section(ordered, colors)),
        ("Confusion matrices", _confusion_section(ordered, class_names)),
        ("Calibration", _calibration_section(ordered, colors)),
        ("Most confused class pairs", _confused_pairs_section(ordered, class_names, test_images)),
    ]
    body = "".join(f"<section><h2>{_escape(name)}</h2>{content}</section>" for name, content in sections)
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{_escape(title)}</title><style>{STYLE}{PRINT_STYLE}</style>"
        f"<script type='text/javascript'>{plotly.offline.get_plotlyjs()}</script></head><body>"
        f"<h1>{_escape(title)}</h1>"
        f"<p class='meta'>{len(ordered)} run(s): {_escape(', '.join(run.run_id for run in ordered))}. "
        f"Made {generated_at.strftime('%Y-%m-%d %H:%M UTC')} from the saved test-set predictions; nothing was retrained. "
        "This file works offline.</p>"
        f"{body}</body></html>\n"
    )
