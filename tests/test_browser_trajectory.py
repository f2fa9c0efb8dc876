"""The budget trajectory in real headless Chromium: the Overview's finding says how its answer moved with budget,
and Compare of the pair draws the difference against images seen. Screenshots go to
``test-output/screenshots/trajectory_*.png``.

Run alone: ``.venv/bin/pytest -m browser tests/test_browser_trajectory.py``.
"""

from __future__ import annotations

import pytest

from tests.analysis_fixtures import read_suite_findings
from tests.browser_pages import CHART, PAGE_TIMEOUT_MS, SCREENSHOTS, assert_no_error_shown, main_text, served_runs
from tests.test_pages_trajectory import add_trajectory_suite

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def trajectory_url(tmp_path_factory, chromium_path):
    root = tmp_path_factory.mktemp("browser-trajectory")
    with served_runs(root, lambda artifacts, images, labels: add_trajectory_suite(artifacts)) as base_url:
        yield base_url, root / "artifacts"


def test_the_overview_says_how_the_answer_moved_and_compare_draws_the_difference(trajectory_url, page):
    base_url, artifacts = trajectory_url
    (suite,), _ = read_suite_findings(artifacts)
    depth = suite.findings[0]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.goto(f"{base_url}/")
    page.get_by_text("Findings of the demo suite").wait_for(timeout=PAGE_TIMEOUT_MS)
    page.get_by_text("On validation along the way", exact=False).first.wait_for(timeout=PAGE_TIMEOUT_MS)
    text = main_text(page)
    assert depth.sentence in text
    # Streamlit renders the sentence's `command` as code, so compare the words before it.
    assert depth.budget.split("`")[0].strip() in " ".join(text.split())
    assert_no_error_shown(page)
    page.wait_for_timeout(800)
    page.screenshot(path=str(SCREENSHOTS / "trajectory_overview.png"), full_page=True)

    page.locator("[data-testid=stPageLink] a").first.click()
    page.get_by_text("How the difference moved with budget", exact=False).wait_for(timeout=PAGE_TIMEOUT_MS)
    chart = page.locator(CHART).filter(has_text="Validation accuracy of b3 minus b1 against images seen")
    chart.wait_for(timeout=PAGE_TIMEOUT_MS)
    assert "no difference" in chart.inner_text()   # the zero line is marked
    assert depth.trajectories[0].sentence in " ".join(main_text(page).split())
    assert_no_error_shown(page)
    chart.scroll_into_view_if_needed()
    page.wait_for_timeout(800)
    page.screenshot(path=str(SCREENSHOTS / "trajectory_compare.png"), full_page=True)
