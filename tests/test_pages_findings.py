"""The findings panel under AppTest: Overview and Report open with each suite question's finding and its Compare link."""

from __future__ import annotations

import html

import pytest

from runstore.suite_record import write_suite_record
from tests.app_pages import all_text, point_dashboard_at, run_page
from tests.analysis_fixtures import read_suite_findings
from tests.test_analysis_suite_findings import make_group

QUESTIONS = [
    {"title": "Does a third block help?", "factor": "blocks", "groups": ["b1", "b3"], "note": "Equal images and epochs."},
    {"title": "Which optimizer?", "factor": "recipe", "groups": ["adam", "sgd"]},
    {"title": "Does ImageNet pre-training help?", "factor": "weights", "groups": ["b1", "transfer"], "requires": "imagenet"},
]


@pytest.fixture(scope="module")
def suite_folder(tmp_path_factory):
    """Groups answering a significant, a no-difference and a skipped question, and the suite record naming them."""
    artifacts = tmp_path_factory.mktemp("findings")
    make_group(artifacts, "b1", 0.35)
    make_group(artifacts, "b3", 0.75)
    make_group(artifacts, "adam", 0.5, seeds=(4, 5))
    make_group(artifacts, "sgd", 0.5, seeds=(6, 7))
    write_suite_record(artifacts, "demo", "The demo suite, sized for a CPU.", QUESTIONS)
    return artifacts


@pytest.fixture
def findings_env(suite_folder, monkeypatch):
    return point_dashboard_at(monkeypatch, suite_folder)


def _elements_in_order(node) -> list[tuple[str, str | None]]:
    """``(kind, text)`` of every element under ``node`` in page order (tables with text None)."""
    elements = []
    for child in getattr(node, "children", {}).values():
        if hasattr(child, "children") and child.type != "dataframe":
            elements.extend(_elements_in_order(child))
        else:
            value = getattr(child, "value", None) if child.type != "dataframe" else None
            elements.append((child.type, value if isinstance(value, str) else None))
    return elements


def _expected(folder) -> list:
    (suite,), problems = read_suite_findings(folder)
    assert not problems
    return list(suite.findings)


def test_overview_opens_with_every_question_answered_and_a_link_to_its_compare_view(findings_env):
    app = run_page("overview")
    assert not app.exception, app.exception
    text = all_text(app)
    assert "Findings of the demo suite" in text
    findings = _expected(findings_env)
    for finding in findings:
        assert finding.title in text and finding.sentence in text
    assert findings[0].sentence.startswith("b3 beats b1 by ")
    assert findings[1].sentence.startswith("No detectable difference at this budget")
    assert findings[2].sentence.startswith("skipped: ImageNet weights are not available here")
    assert "Equal images and epochs." in text
    assert f"**{QUESTIONS[0]['title']}** :green-badge[:material/check_circle: answered]" in text
    # The findings come before the leaderboard.
    order = _elements_in_order(app.main)
    assert order.index(("markdown", findings[0].sentence)) < order.index(("dataframe", None))
    links = app.get("page_link")
    assert [link.proto.label for link in links] == ["Compare b3 with b1", "Compare sgd with adam"]
    assert links[0].proto.page.endswith("compare")
    assert "compare_a=group%3Ab1" in links[0].proto.query_string and "compare_b=group%3Ab3" in links[0].proto.query_string
    # The leaderboard is still there, below.
    assert app.dataframe[0].value["group"].tolist()


def test_report_page_lists_the_same_findings_before_the_build_button(findings_env):
    app = run_page("report")
    assert not app.exception, app.exception
    text = all_text(app)
    for finding in _expected(findings_env):
        assert finding.sentence in text
    assert not app.get("page_link")  # the report page shows the sentences only
    app.button(key="build_report").click().run()
    assert not app.exception, app.exception
    page = app.session_state["report_files"]["files"]["html"].decode("utf-8")
    # The HTML report opens with the same findings, in the same words.
    assert page.index("<h2>Findings</h2>") < page.index("<h2>Notes</h2>") < page.index("<h2>Headline</h2>")
    for finding in _expected(findings_env):
        assert html.escape(finding.sentence) in page


def test_without_a_recorded_suite_the_overview_shows_no_findings_panel(app_env):
    app = run_page("overview")
    assert not app.exception, app.exception
    assert "Findings of" not in all_text(app)
