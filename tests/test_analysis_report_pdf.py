"""The report as a PDF: printed by real headless Chromium, read back with poppler (pdfinfo, pdftotext, pdftoppm).

The pages are also rendered to test-output/report-pdf/ as PNG, to look at.
Chromium missing, crashing or hanging is each a real executable on $CHROMIUM:
nowhere, a script that dies of SIGSEGV, one that never answers.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from analysis.report_pdf import PdfError, print_report_pdf
from tests import test_analysis_cli
from tests.analysis_fixtures import read_suite_findings
from tests.browser_pages import OUTPUT

REPO = Path(__file__).resolve().parents[1]
PAGES = OUTPUT / "report-pdf"


@pytest.fixture(scope="module")
def poppler():
    """pdftotext and friends (poppler-utils; .ci/run installs it), or a skip (a failure in CI)."""
    if shutil.which("pdftotext") is None or shutil.which("pdftoppm") is None:
        message = "poppler-utils is not installed (apt-get install poppler-utils); .ci/run installs it"
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)


# The CLI tests' runs: three groups, one suite of two questions.
suite_folder = test_analysis_cli.suite_folder


def _cli(*arguments, **environment) -> subprocess.CompletedProcess:
    env = {**os.environ, "CIFAR10_DIR": "/nonexistent-cifar", "PYTHONPATH": str(REPO), **environment}
    env.pop("ARTIFACTS_DIR", None)
    return subprocess.run([sys.executable, "-m", "analysis", "report", *arguments], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)


def _no_chromium(tmp_path) -> dict:
    """An environment where no Chromium can be found: an empty PATH and no Playwright browsers."""
    nowhere = tmp_path / "nowhere"
    nowhere.mkdir(exist_ok=True)
    return {"PATH": str(nowhere), "PLAYWRIGHT_BROWSERS_PATH": str(nowhere), "CHROMIUM": "", "CHROMIUM_PATH": ""}


def _fake_chromium(tmp_path, body: str) -> str:
    script = tmp_path / "chromium"
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(0o755)
    return str(script)


def _words(text: str) -> str:
    return " ".join(text.split())


def test_pdf_report_prints_every_page_with_the_findings_on_page_one(suite_folder, chromium_path, poppler):
    out = PAGES / "report.pdf"
    shutil.rmtree(PAGES, ignore_errors=True)
    done = _cli("--artifacts-dir", str(suite_folder), "--out", str(out), CHROMIUM=chromium_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"Wrote {out}") and "8 run(s)" in done.stdout
    assert out.read_bytes().startswith(b"%PDF-")
    info = subprocess.run(["pdfinfo", str(out)], capture_output=True, text=True, check=True).stdout
    pages = int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))
    assert pages > 1 and "(A4)" in info
    assert [path.name for path in PAGES.iterdir()] == ["report.pdf"], "a temporary file was left behind"

    first_page = _words(subprocess.run(["pdftotext", "-f", "1", "-l", "1", "-layout", str(out), "-"],
                                       capture_output=True, text=True, check=True).stdout)
    first_page_flowing = _words(subprocess.run(["pdftotext", "-f", "1", "-l", "1", str(out), "-"],
                                               capture_output=True, text=True, check=True).stdout)
    assert first_page.startswith("CIFAR-10 model comparison") and "Findings" in first_page
    (suite,), _ = read_suite_findings(suite_folder)
    for finding in suite.findings:  # the very sentences of the Overview, on page one
        assert finding.title in first_page_flowing
        assert _words(finding.sentence) in first_page_flowing
    assert f"page 1 of {pages}" in first_page

    # Every chart was drawn: the text of each chart's axes is in the PDF.
    everything = _words(subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True, check=True).stdout)
    assert "Predicted class" in everything and "Mean confidence in bin" in everything and "Epoch" in everything
    subprocess.run(["pdftoppm", "-r", "60", "-png", str(out), str(PAGES / "page")], check=True)
    assert len(list(PAGES.glob("page-*.png"))) == pages


def test_pdf_on_letter_paper_by_format_whatever_the_name(suite_folder, chromium_path, poppler, tmp_path):
    out = tmp_path / "report.out"
    done = _cli("--artifacts-dir", str(suite_folder), "--out", str(out), "--format", "pdf", "--paper", "Letter",
                "--runs", "b1-s1", "b3-s1", CHROMIUM=chromium_path)
    assert done.returncode == 0, done.stderr
    info = subprocess.run(["pdfinfo", str(out)], capture_output=True, text=True, check=True).stdout
    assert "(letter)" in info


def test_without_chromium_the_command_says_how_to_install_it(suite_folder, tmp_path):
    out = tmp_path / "report.pdf"
    done = _cli("--artifacts-dir", str(suite_folder), "--out", str(out), **_no_chromium(tmp_path))
    assert done.returncode == 2
    assert "Chromium is not installed" in done.stderr
    assert "apt-get install chromium" in done.stderr and "playwright install chromium" in done.stderr
    assert "The HTML report needs no browser" in done.stderr
    assert list(tmp_path.glob("report.pdf*")) == [] and list(tmp_path.glob(".report.pdf*")) == []

    named = _cli("--artifacts-dir", str(suite_folder), "--out", str(out), CHROMIUM=str(tmp_path / "no-such-chrome"))
    assert named.returncode == 2 and f"CHROMIUM={tmp_path / 'no-such-chrome'} is not an executable" in named.stderr


def test_a_crashing_chromium_leaves_the_old_pdf_and_no_half_written_file(suite_folder, tmp_path):
    out = tmp_path / "report.pdf"
    out.write_bytes(b"the PDF of yesterday")
    crashing = _fake_chromium(tmp_path, "kill -SEGV $$")
    done = _cli("--artifacts-dir", str(suite_folder), "--out", str(out), CHROMIUM=crashing)
    assert done.returncode == 2
    assert "No report written: Chromium failed while printing the report" in done.stderr
    assert "send the HTML report" in done.stderr
    assert out.read_bytes() == b"the PDF of yesterday"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["chromium", "report.pdf"]


def test_a_chromium_that_never_answers_is_stopped_with_a_message(tmp_path, monkeypatch):
    monkeypatch.setenv("CHROMIUM", _fake_chromium(tmp_path, "exec sleep 300"))
    with pytest.raises(PdfError, match=r"Chromium did not finish printing the report within 3 s, so no PDF"):
        print_report_pdf("<html><body>hello</body></html>", timeout_s=3)


def test_an_unwritable_out_is_refused_before_printing(suite_folder, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    done = _cli("--artifacts-dir", str(suite_folder), "--out", str(blocker / "report.pdf"), **_no_chromium(tmp_path))
    assert done.returncode == 2
    assert f"Cannot write {blocker / 'report.pdf'}" in done.stderr and "Choose an --out" in done.stderr


def test_an_unknown_paper_is_refused():
    with pytest.raises(ValueError, match="Paper 'A3' is not one of A4, Letter"):
        print_report_pdf("<html></html>", paper="A3")
