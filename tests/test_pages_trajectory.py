"""Budget trajectories from real run folders: the finding's budget sentence on the Overview, the Report (page and
HTML, with the chart) and ``python -m analysis report``, and the difference-against-images chart on Compare.

The fixture: a depth question whose deeper group falls behind first and leads from the middle on (10 evaluations,
3 seeds each), and a demo-sized question whose curves are still rising at the end.
"""

from __future__ import annotations

import html
import json

import numpy as np
import pytest

from analysis.__main__ import main as analysis_main
from runstore import run_dir
from runstore.layout import HISTORY_FILE
from runstore.suite_record import write_suite_record
from runstore.writer import write_history_rows
from tests.analysis_fixtures import read_suite_findings
from tests.app_pages import all_text, point_dashboard_at, run_page
from tests.test_analysis_suite_findings import make_group

IMAGES_SEEN = np.arange(1, 11) * 500
BASE = 0.15 + 0.3 * (1 - np.exp(-np.arange(1, 11) / 3))
CROSSING = np.where(IMAGES_SEEN <= 1500, -0.08, np.where(IMAGES_SEEN >= 3000, 0.08, 0.0))
QUESTIONS = [
    {"title": "Does depth help?", "factor": "blocks", "groups": ["b1", "b3"]},
    {"title": "Does a bigger learning rate help?", "factor": "learning_rate", "groups": ["slow", "fast"]},
]


def write_curves(artifacts, run_ids, curve, seed: int, noise: float = 0.004) -> None:
    """Give each run a ten-point validation curve near ``curve`` (images seen 500 to 5,000)."""
    rng = np.random.default_rng(seed)
    for run_id in run_ids:
        values = np.clip(curve + rng.normal(0, noise, curve.size), 0, 1)
        write_history_rows(run_dir(artifacts, run_id) / HISTORY_FILE, [
            {"epoch": epoch, "accuracy": float(value), "loss": 2.0 - value, "val_accuracy": float(value),
             "val_loss": 2.0 - value, "images_seen": int(seen)}
            for epoch, (seen, value) in enumerate(zip(IMAGES_SEEN, values))])


def add_trajectory_suite(artifacts) -> None:
    """The two questions of the module docstring, recorded as the ``demo`` suite."""
    write_curves(artifacts, make_group(artifacts, "b1", 0.4), BASE, seed=1)
    write_curves(artifacts, make_group(artifacts, "b3", 0.6), BASE + CROSSING, seed=2)
    write_curves(artifacts, make_group(artifacts, "slow", 0.5, seeds=(4, 5, 6)), np.linspace(0.15, 0.35, 10), seed=3,
                 noise=0.01)
    write_curves(artifacts, make_group(artifacts, "fast", 0.5, seeds=(7, 8, 9)), np.linspace(0.15, 0.36, 10), seed=4,
                 noise=0.01)
    write_suite_record(artifacts, "demo", "Depth and learning rate.", QUESTIONS)


@pytest.fixture(scope="module")
def suite_folder(tmp_path_factory):
    artifacts = tmp_path_factory.mktemp("trajectory")
    add_trajectory_suite(artifacts)
    return artifacts


@pytest.fixture
def env(suite_folder, monkeypatch):
    return point_dashboard_at(monkeypatch, suite_folder)


def _findings(folder):
    (suite,), problems = read_suite_findings(folder)
    assert not problems
    return suite.findings


def test_each_finding_says_how_its_answer_moved_with_budget(suite_folder):
    depth, rate = _findings(suite_folder)
    assert depth.budget.startswith("On validation along the way: b1 leads until about 1,500 images; the order changed")
    assert "b3 leads from about" in depth.budget and "to the end (5,000 images seen)" in depth.budget
    assert depth.trajectories[0].name_a == "b1" and depth.trajectories[0].name_b == "b3"
    # Curves still rising at the end: the budget is too small to say, and the sentence says what to run.
    assert "too small to settle the question" in rate.budget and "python -m training suite study" in rate.budget


def test_overview_shows_the_budget_sentence_under_each_finding(env):
    app = run_page("overview")
    assert not app.exception, app.exception
    text = all_text(app)
    for finding in _findings(env):
        assert finding.sentence in text and finding.budget in text
        assert text.index(finding.sentence) < text.index(finding.budget)


def test_compare_shows_the_pairs_sentence_and_the_difference_against_images_chart(env):
    app = run_page("compare", compare_a="group:b1", compare_b="group:b3")
    assert not app.exception, app.exception
    text = all_text(app)
    assert _findings(env)[0].trajectories[0].sentence in text
    titles = [json.loads(chart.proto.spec)["layout"]["title"]["text"] for chart in app.get("plotly_chart")]
    assert "Validation accuracy of b3 minus b1 against images seen" in titles


def test_the_report_and_the_cli_carry_the_budget_sentence_and_its_chart(env, tmp_path):
    app = run_page("report")
    assert not app.exception, app.exception
    for finding in _findings(env):
        assert finding.budget in all_text(app)
    out = tmp_path / "report.html"
    assert analysis_main(["report", "--artifacts-dir", str(env), "--out", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    for finding in _findings(env):
        assert html.escape(finding.budget) in page
    assert page.count("Validation accuracy of b3 minus b1 against images seen") == 1


def test_a_question_waiting_for_a_run_still_training_says_how_the_order_moved_so_far(tmp_path):
    from tests.factories import make_run

    write_curves(tmp_path, make_group(tmp_path, "b1", 0.4), BASE, seed=1)
    write_curves(tmp_path, make_group(tmp_path, "b3", 0.6), BASE + CROSSING, seed=2)
    make_run(tmp_path, "b3-s9", status="running", group="b3", seed=9, epochs=6, train_images=500)
    write_suite_record(tmp_path, "demo", "Depth.", QUESTIONS[:1])
    (finding,) = _findings(tmp_path)
    assert finding.status == "waiting"
    assert "up to 3,000 images seen" in finding.budget or "to the end (3,000 images seen" in finding.budget
    assert "so far: 1 run still training" in finding.budget and "too small" not in finding.budget
