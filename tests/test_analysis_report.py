"""The stakeholder report: self-contained HTML, escaped notes, and CSV exports."""

from __future__ import annotations

import io
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

from analysis.report import ReportRun, build_report_html, leaderboard_csv, per_class_csv, png_data_uri
from tests.analysis_fixtures import IMAGE_COUNT, read_report_runs, write_run_folder


class ResourceCollector(HTMLParser):
    """Every tag with a src or href attribute, and every script tag, outside script text."""

    def __init__(self):
        super().__init__()
        self.references: list[tuple[str, str, str]] = []
        self.scripts: list[dict] = []
        self.plotly_divs = 0

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "script":
            self.scripts.append(attributes)
        if "plotly-graph-div" in (attributes.get("class") or ""):
            self.plotly_divs += 1
        for name in ("src", "href", "data"):
            if attributes.get(name):
                self.references.append((tag, name, attributes[name]))


def report_runs(tmp_path) -> list[ReportRun]:
    write_run_folder(tmp_path, "small-cnn", accuracy=0.55, seed=1)
    write_run_folder(tmp_path, "big-cnn", accuracy=0.85, seed=2)
    return read_report_runs(tmp_path)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    return report_runs(tmp_path_factory.mktemp("artifacts"))


@pytest.fixture(scope="module")
def test_images():
    return np.random.default_rng(0).integers(0, 256, size=(IMAGE_COUNT, 32, 32, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def report(runs, test_images):
    notes = "Findings for Friday.\n<script>alert('x')</script> & <b>bold?</b>"
    return build_report_html(runs, notes=notes, test_images=test_images)


def test_report_loads_nothing_from_the_network(report):
    collector = ResourceCollector()
    collector.feed(report)
    # No <script src=...>: plotly.js is inline.
    assert all("src" not in attributes for attributes in collector.scripts)
    assert len(collector.scripts) >= 2
    for tag, name, value in collector.references:
        assert value.startswith(("data:", "#")), f"<{tag} {name}={value[:60]!r}> would load from outside the file"
    images = [value for tag, name, value in collector.references if tag == "img"]
    assert images and all(value.startswith("data:image/png;base64,") for value in images)
    assert "<link" not in report.lower()


def test_report_has_every_section_and_a_chart_per_view(report, runs):
    for heading in ("Headline", "Is the difference real?", "Training curves", "Confusion matrices",
                    "Calibration", "Most confused class pairs", "Notes"):
        assert f"<h2>{heading}</h2>" in report
    collector = ResourceCollector()
    collector.feed(report)
    # accuracy + loss curves, one confusion matrix per run, one reliability diagram.
    assert collector.plotly_divs == 2 + len(runs) + 1
    assert "McNemar" in report
    assert "big-cnn vs small-cnn" in report  # the most accurate run is the reference
    assert "percentage points" in report


def test_notes_are_escaped(report):
    assert "<script>alert('x')</script>" not in report
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &lt;b&gt;bold?&lt;/b&gt;" in report


def test_report_without_test_images_says_so(runs):
    text = build_report_html(runs[:1], notes="")
    assert "examples are left out" in text
    assert "Only one run was chosen" in text
    assert "No notes were written" in text


def test_report_rejects_bad_input(runs):
    with pytest.raises(ValueError, match="at least one"):
        build_report_html([])
    with pytest.raises(ValueError, match="only once"):
        build_report_html([runs[0], runs[0]])
    with pytest.raises(ValueError, match="test images given"):
        build_report_html(runs, test_images=np.zeros((3, 32, 32, 3), np.uint8))
    with pytest.raises(ValueError, match="same test images"):
        short = ReportRun(runs[1].info, None, runs[1].y_true[:10], runs[1].probs[:10])
        build_report_html([runs[0], short])


def test_leaderboard_and_per_class_csv(runs):
    board = pd.read_csv(io.StringIO(leaderboard_csv(runs)))
    assert board["run"].tolist() == ["big-cnn", "small-cnn"]
    assert {"test accuracy", "accuracy 95% low", "accuracy 95% high", "ECE"} <= set(board.columns)
    assert (board["accuracy 95% low"] <= board["test accuracy"]).all()
    per_class = pd.read_csv(io.StringIO(per_class_csv(runs)))
    assert len(per_class) == 2 * 10
    assert list(per_class.columns) == ["run", "class", "precision", "recall", "f1", "support"]
    assert per_class.groupby("run")["support"].sum().tolist() == [IMAGE_COUNT, IMAGE_COUNT]


def test_png_data_uri_round_trips():
    import base64

    from PIL import Image

    image = np.arange(12, dtype=np.uint8).reshape(2, 2, 3)
    uri = png_data_uri(image)
    decoded = Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))
    assert np.array_equal(np.asarray(decoded), image)
