"""The stakeholder report from the command line, without a browser (for a scheduled job or CI).

Usage::

    python -m analysis report --artifacts-dir artifacts --out report.html
    python -m analysis report --out report.html --runs demo-fast_cnn-s0 demo-simple_cnn-b3-s0 --notes-file notes.txt
    python -m analysis report --format pdf --out report.pdf --paper Letter   # printed by headless Chromium

It writes the same HTML file as the dashboard's Report page: the findings of
every recorded suite first (``analysis.findings``), then the chosen runs (all
finished runs by default), compared on the test images they all share. The
CIFAR-10 test images (``CIFAR10_DIR``) add example pictures when present.
Reading side only: nothing here imports ``training``. Exit status 0 on success,
2 with a message saying what to do otherwise.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from analysis.findings import runs_asked_about, suite_findings
from analysis.loading import DifferentTestImages, align_on_common_test_images, images_match_predictions
from analysis.report import DEFAULT_TITLE, ReportRun, build_report_html
from analysis.report_pdf import DEFAULT_PAPER, PAPERS, PdfError, write_report_pdf
from analysis.trajectory import curve_reader
from runstore import BrokenRun, list_runs, read_history, read_predictions, resolve_artifacts_dir
from runstore.cifar import DataError, load_test_set
from runstore.images_seen import read_images_seen
from runstore.suite_record import read_suite_records
from runstore.status import STATUS_COMPLETE


class ReportError(Exception):
    """A report that cannot be written; the message says what to do."""


def _parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    report = commands.add_parser("report", help="write the self-contained HTML report of the runs and findings")
    report.add_argument("--artifacts-dir", help="the artifacts folder (default: $ARTIFACTS_DIR or ./artifacts)")
    report.add_argument("--out", required=True, help="the file to write")
    report.add_argument("--format", choices=("html", "pdf"),
                        help="html (self-contained, interactive) or pdf (printed by headless Chromium, which must be "
                             "installed); default: pdf when --out ends in .pdf, html otherwise")
    report.add_argument("--paper", choices=PAPERS, default=DEFAULT_PAPER, help="the PDF's paper size (default: A4)")
    report.add_argument("--runs", nargs="+", metavar="RUN_ID", help="runs to include (default: every finished run)")
    report.add_argument("--title", default=DEFAULT_TITLE, help="the report's title")
    report.add_argument("--notes-file", help="a text file whose contents open the report as notes (shown as plain text)")
    return parser


def _chosen_runs(infos, wanted: list[str] | None):
    finished = [info for info in infos if info.status == STATUS_COMPLETE]
    if wanted:
        by_id = {info.run_id: info for info in infos}
        unknown = [run_id for run_id in wanted if run_id not in by_id]
        if unknown:
            raise ReportError(f"No run named {', '.join(unknown)}; the runs here are: "
                              f"{', '.join(sorted(by_id)) or 'none'}.")
        unfinished = [run_id for run_id in wanted if by_id[run_id].status != STATUS_COMPLETE]
        if unfinished:
            raise ReportError(f"Run(s) {', '.join(unfinished)} have not finished (or are broken), so they have no "
                              "test predictions; leave them out or wait for them.")
        return [by_id[run_id] for run_id in wanted]
    return finished


def write_report(artifacts_dir: str | Path | None, out: str | Path, runs: list[str] | None = None,
                 title: str = DEFAULT_TITLE, notes: str = "", format: str | None = None,
                 paper: str = DEFAULT_PAPER) -> tuple[Path, str]:
    """Write the report of ``artifacts_dir`` to ``out``; return the file and a one-line summary. Raises ``ReportError``.

    ``format`` is "html" or "pdf" (None: pdf when ``out`` ends in .pdf); a PDF is printed on ``paper``.
    """
    format = report_format(out, format)
    folder = resolve_artifacts_dir(artifacts_dir)
    infos = list_runs(folder)
    chosen = _chosen_runs(infos, runs)
    if not chosen:
        raise ReportError(f"No finished run in {folder / 'runs'}, so there is nothing to report. Train one first "
                          "(for example `python -m training suite demo`) or pass --artifacts-dir.")
    records, problems = read_suite_records(folder)
    suites = suite_findings(records, infos, lambda info: read_predictions(info.path),
                            read_images_seen(runs_asked_about(records, infos)),
                            curve_reader(lambda info: read_history(info.path)))
    loaded = {}
    for info in chosen:
        try:
            loaded[info.run_id] = read_predictions(info.path)
        except BrokenRun as error:
            raise ReportError(f"The predictions of run {info.run_id} cannot be read: {error}. Leave it out with --runs.")
    try:
        y_true, probs_by_run = align_on_common_test_images(loaded)
    except DifferentTestImages as error:
        raise ReportError(f"{error} Choose runs with --runs.") from None
    report_runs = []
    for info in chosen:
        try:
            history = read_history(info.path)
        except BrokenRun:
            history = None  # an imported model may come without curves
        report_runs.append(ReportRun(info=info, history=history, y_true=y_true, probs=probs_by_run[info.run_id]))
    try:
        images, labels = load_test_set()
        test_images = images[: len(y_true)] if images_match_predictions(labels, y_true) else None
    except (DataError, OSError):
        test_images = None  # the report says the examples are left out
    try:
        page = build_report_html(report_runs, notes=notes, test_images=test_images, title=title,
                                 findings=suites, findings_problems=problems)
    except ValueError as error:
        raise ReportError(f"The report could not be built: {error}") from None
    out = Path(out)
    if format == "pdf":
        try:
            out, size = write_report_pdf(page, out, paper=paper)
        except PdfError as error:
            raise ReportError(str(error)) from None
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(page, encoding="utf-8")
        size = len(page)
    questions = sum(len(suite.findings) for suite in suites)
    summary = (f"Wrote {out} ({size / 1e6:.1f} MB): {len(report_runs)} run(s) on {len(y_true):,} shared test "
               f"images, {questions} finding(s) from {len(suites)} suite(s).")
    return out, summary


def report_format(out: str | Path, format: str | None) -> str:
    """The report's format: ``format`` when given, else pdf for an ``out`` ending in .pdf and html otherwise."""
    if format is None:
        return "pdf" if Path(out).suffix.lower() == ".pdf" else "html"
    if format not in ("html", "pdf"):
        raise ReportError(f"The format {format!r} is not html or pdf.")
    return format


def main(argv: list[str] | None = None, prog: str = "python -m analysis") -> int:
    """Run the command line; return the exit status (``prog``: the command's name in usage lines)."""
    arguments = _parser(prog).parse_args(argv)
    try:
        notes = Path(arguments.notes_file).read_text(encoding="utf-8") if arguments.notes_file else ""
    except OSError as error:
        print(f"The notes file cannot be read: {error}", file=sys.stderr)
        return 2
    try:
        _, summary = write_report(arguments.artifacts_dir, arguments.out, arguments.runs, arguments.title, notes,
                                  arguments.format, arguments.paper)
    except (ReportError, OSError) as error:
        print(f"No report written: {error}", file=sys.stderr)
        return 2
    print(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
