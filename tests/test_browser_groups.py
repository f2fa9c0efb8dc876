"""A comparison of two replicate groups in real headless Chromium, with screenshots to look at.

Two groups of three seeds that differ only in learning rate: the leaderboard
shows a row per group, Curves a band per group, and Compare the controlled check
and then the difference of means with its interval and n. Screenshots go to
``test-output/screenshots/groups_*.png``.

Run alone: ``.venv/bin/pytest -m browser tests/test_browser_groups.py``.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest

from runstore import atomic_write_json, read_run_record
from tests.browser_pages import CHART, PAGE_TIMEOUT_MS, SCREENSHOTS, assert_no_error_shown, main_text, served_runs
from tests.factories import make_run

pytestmark = [pytest.mark.browser, pytest.mark.slow]



def add_two_groups(artifacts, images, labels):
    """Two groups of three seeds that differ only in learning rate; one member stopped early."""
    for seed in (1, 2, 3):
        make_run(artifacts, f"slow-s{seed}", seed=seed, group="adam-lr0.001", epochs=5 - (seed == 3) * 2,
                 train_images=2000, test_images=images, test_labels=labels)
    # slow-s3 stopped early: planned 5 epochs like its group, ran 3.
    record = read_run_record(artifacts / "runs" / "slow-s3")
    record["config"]["epochs"], record["early_stop_epoch"] = 5, 2
    atomic_write_json(artifacts / "runs" / "slow-s3" / "run.json", record)
    for seed in (4, 5, 6):
        make_run(artifacts, f"fast-s{seed}", seed=seed, group="adam-lr0.01", learning_rate=1e-2, epochs=5,
                 train_images=2000, test_images=images, test_labels=labels)


@pytest.fixture(scope="module")
def groups_url(tmp_path_factory, chromium_path):
    with served_runs(tmp_path_factory.mktemp("browser-groups"), add_two_groups) as base_url:
        yield base_url


def test_group_comparison_in_the_browser(groups_url, page):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.goto(f"{groups_url}/")
    page.wait_for_selector("[data-testid=stDataFrame]", timeout=PAGE_TIMEOUT_MS)
    page.get_by_text("One row per replicate group").wait_for(timeout=PAGE_TIMEOUT_MS)
    assert_no_error_shown(page)
    page.wait_for_timeout(800)
    page.screenshot(path=str(SCREENSHOTS / "groups_leaderboard.png"), full_page=True)

    page.goto(f"{groups_url}/curves")
    page.wait_for_selector(CHART, timeout=PAGE_TIMEOUT_MS)
    page.get_by_text("group mean and min–max band").first.wait_for(timeout=PAGE_TIMEOUT_MS)
    assert "average 2 of 3 runs" in main_text(page)
    assert_no_error_shown(page)
    page.wait_for_timeout(800)
    page.screenshot(path=str(SCREENSHOTS / "groups_curves.png"), full_page=True)

    page.goto(f"{groups_url}/compare?compare_a={quote('group:adam-lr0.001')}&compare_b={quote('group:adam-lr0.01')}")
    page.get_by_text("B − A (means)").wait_for(timeout=PAGE_TIMEOUT_MS)
    page.get_by_text("Per-seed test accuracy", exact=False).wait_for(timeout=PAGE_TIMEOUT_MS)
    text = main_text(page)
    assert "A · adam-lr0.001 (n=3)" in text and "B · adam-lr0.01 (n=3)" in text
    assert "3 seeds each" in text and "95% interval" in text
    assert "differ only in learning rate" in text
    assert text.index("differ only in learning rate") < text.index("3 seeds each")
    assert_no_error_shown(page)
    page.wait_for_timeout(800)
    page.screenshot(path=str(SCREENSHOTS / "groups_compare.png"), full_page=True)
