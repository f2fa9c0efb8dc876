"""``python -m analysis report``: the stakeholder report written from the command line, in a subprocess, without a browser."""

from __future__ import annotations

import html
import os
import subprocess
import sys
from pathlib import Path

import pytest

from runstore.suite_record import write_suite_record
from tests.analysis_fixtures import read_suite_findings
from tests.test_analysis_suite_findings import make_group

REPO = Path(__file__).resolve().parents[1]


def _cli(*arguments, cwd=REPO) -> subprocess.CompletedProcess:
    environment = {**os.environ, "CIFAR10_DIR": "/nonexistent-cifar", "PYTHONPATH": str(REPO)}
    environment.pop("ARTIFACTS_DIR", None)
    return subprocess.run([sys.executable, "-m", "analysis", *arguments], cwd=cwd, env=environment,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def suite_folder(tmp_path_factory):
    artifacts = tmp_path_factory.mktemp("cli")
    make_group(artifacts, "b1", 0.35)
    make_group(artifacts, "b3", 0.75)
    make_group(artifacts, "vgg", 0.10, seeds=(1, 2), model="vgg16_bn")
    write_suite_record(artifacts, "demo", "The demo suite.", [
        {"title": "Does a third block help?", "factor": "blocks", "groups": ["b1", "b3"]},
        {"title": "Which VGG?", "factor": "model", "groups": ["vgg", "b3"]},
    ])
    return artifacts


def test_report_command_writes_the_html_report_opening_with_the_findings(suite_folder, tmp_path):
    out = tmp_path / "nested" / "report.html"
    done = _cli("report", "--artifacts-dir", str(suite_folder), "--out", str(out), "--title", "Nightly study")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"Wrote {out}") and "8 run(s) on 400 shared test images, 2 finding(s) from 1 suite(s)" \
        in done.stdout
    page = out.read_text(encoding="utf-8")
    assert "<title>Nightly study</title>" in page
    assert page.index("<h2>Findings</h2>") < page.index("<h2>Notes</h2>") < page.index("<h2>Headline</h2>")
    (suite,), _ = read_suite_findings(suite_folder)
    for finding in suite.findings:  # the very sentences of the Overview
        assert html.escape(finding.sentence) in page
    assert "vgg (2 runs) stayed at chance" in page
    assert "Test images were not available when this report was made" in page


def test_report_command_with_chosen_runs_and_notes(suite_folder, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("Trained overnight <on the lab box>.", encoding="utf-8")
    out = tmp_path / "two.html"
    done = _cli("report", "--artifacts-dir", str(suite_folder), "--out", str(out), "--runs", "b1-s1", "b3-s1",
                "--notes-file", str(notes))
    assert done.returncode == 0, done.stderr
    assert "2 run(s)" in done.stdout
    page = out.read_text(encoding="utf-8")
    assert "Trained overnight &lt;on the lab box&gt;." in page and "b1-s2" not in page.split("<h2>Notes</h2>")[1]


def test_report_command_refuses_with_a_message_saying_what_to_do(suite_folder, tmp_path):
    empty = _cli("report", "--artifacts-dir", str(tmp_path / "empty"), "--out", str(tmp_path / "r.html"))
    assert empty.returncode == 2 and "No report written: No finished run in" in empty.stderr
    assert "python -m training suite demo" in empty.stderr and not (tmp_path / "r.html").exists()
    unknown = _cli("report", "--artifacts-dir", str(suite_folder), "--out", str(tmp_path / "r.html"), "--runs", "nope")
    assert unknown.returncode == 2 and "No run named nope; the runs here are: b1-s1" in unknown.stderr


def test_the_report_command_never_imports_training():
    check = ("import sys, analysis.__main__; "
             "leaked = sorted(name for name in sys.modules if name.split('.')[0] in ('training', 'tensorflow', 'keras')); "
             "print(leaked); sys.exit(1 if leaked else 0)")
    done = subprocess.run([sys.executable, "-c", check], cwd=REPO, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert done.returncode == 0, done.stdout + done.stderr
