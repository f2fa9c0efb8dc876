"""A finding on the Overview, followed in real headless Chromium to its Compare view.

Two groups of three seeds answer the suite's one question; the Overview opens
with its finding, and its link opens Compare with the two groups selected and
the difference with its 95% interval. Screenshots go to
``test-output/screenshots/findings_*.png``.

Run alone: ``.venv/bin/pytest -m browser tests/test_browser_findings.py``.
"""

from __future__ import annotations

import pytest

from runstore.suite_record import write_suite_record
from tests.analysis_fixtures import read_suite_findings
from tests.browser_pages import PAGE_TIMEOUT_MS, SCREENSHOTS, assert_no_error_shown, main_text, served_runs
from tests.factories import make_run

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SLOW, FAST = "adam-lr0.001", "adam-lr0.01"


def add_two_learning_rates(artifacts, images, labels):
    """Two groups of three seeds, one question about them, and the suite record that asks it."""
    for seed in (1, 2, 3):
        make_run(artifacts, f"slow-s{seed}", seed=seed, group=SLOW, epochs=5, train_images=2000,
                 test_images=images, test_labels=labels)
        make_run(artifacts, f"fast-s{seed + 3}", seed=seed + 3, group=FAST, learning_rate=1e-2, epochs=5,
                 train_images=2000, test_images=images, test_labels=labels)
    write_suite_record(artifacts, "lr", "Two learning rates, three seeds each.", [
        {"title": "Does a higher learning rate help?", "factor": "learning_rate", "groups": [SLOW, FAST]}])


@pytest.fixture(scope="module")
def findings_url(tmp_path_factory, chromium_path):
    root = tmp_path_factory.mktemp("browser-findings")
    with served_runs(root, add_two_learning_rates) as base_url:
        yield base_url, root / "artifacts"


def test_a_finding_links_to_its_compare_view_with_both_groups_and_the_interval(findings_url, page):
    findings_url, artifacts = findings_url
    (suite,), _ = read_suite_findings(artifacts)
    finding = suite.findings[0]
    runner_up, best = (key.removeprefix("group:") for key in finding.compare)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.goto(f"{findings_url}/")
    page.get_by_text("Findings of the lr suite").wait_for(timeout=PAGE_TIMEOUT_MS)
    page.wait_for_selector("[data-testid=stDataFrame]", timeout=PAGE_TIMEOUT_MS)
    text = main_text(page)
    assert "Does a higher learning rate help?" in text and finding.sentence in text
    assert text.index("Findings of the lr suite") < text.index("Best test accuracy")
    assert_no_error_shown(page)
    page.wait_for_timeout(800)
    page.screenshot(path=str(SCREENSHOTS / "findings_overview.png"), full_page=True)

    link = page.locator("[data-testid=stPageLink] a").first
    assert link.inner_text().endswith(f"Compare {best} with {runner_up}")
    link.click()
    page.get_by_text("B − A (means)").wait_for(timeout=PAGE_TIMEOUT_MS)
    page.get_by_text("Per-seed test accuracy", exact=False).wait_for(timeout=PAGE_TIMEOUT_MS)
    assert "/compare" in page.url and "compare_a=group" in page.url and "compare_b=group" in page.url
    text = main_text(page)
    # The runner-up is A (baseline), the best is B, and the verdict is the finding's own sentence.
    assert f"A · {runner_up} (n=3)" in text and f"B · {best} (n=3)" in text
    assert "95% interval" in text and finding.sentence.split(" on ")[0] in text
    assert_no_error_shown(page)
    page.wait_for_timeout(800)
    page.screenshot(path=str(SCREENSHOTS / "findings_compare.png"), full_page=True)
