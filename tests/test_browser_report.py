"""Compare, Failures and Report in real headless Chromium, and the exported report opened offline.

A real ``streamlit run`` server reads fixture runs; the test builds the report
on the Report page, downloads it like a user would, then opens the saved file in
a browser context with the network switched off (``set_offline`` and every
non-file request aborted) and checks that every chart drew its SVG.
Screenshots go to ``test-output/screenshots/`` (compare-*.png, failures-gallery.png,
report-page-built.png and report-offline.png, the exported file): look at them after changing these pages.

Run alone: ``.venv/bin/pytest -m browser tests/test_browser_report.py``.
"""

from __future__ import annotations

import pytest

from tests.browser_pages import OUTPUT, PAGE_TIMEOUT_MS, SCREENSHOTS, assert_no_error_shown, served_runs
from tests.factories import make_demo_artifacts

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NOTES = "Shipping plan for Friday.\n<script>window.notesRan = true</script> & <b>not bold</b>"


def add_demo_runs(artifacts, images, labels):
    make_demo_artifacts(artifacts, test_images=images, test_labels=labels)


@pytest.fixture(scope="module")
def server_url(tmp_path_factory, chromium_path):
    """A real Streamlit server over fixture runs and their synthetic test images."""
    with served_runs(tmp_path_factory.mktemp("browser-report"), add_demo_runs) as base_url:
        yield base_url


def open_tab(page, label: str) -> None:
    page.get_by_role("tab", name=label).click()
    page.wait_for_timeout(500)


def test_compare_page_in_the_browser(server_url, page):
    page.goto(f"{server_url}/compare")
    page.wait_for_selector("[data-testid=stMetric]", timeout=PAGE_TIMEOUT_MS)
    page.get_by_text("McNemar's test").first.wait_for(timeout=PAGE_TIMEOUT_MS)
    page.wait_for_function("() => document.querySelectorAll('[data-testid=stMetric]').length === 3", timeout=PAGE_TIMEOUT_MS)
    page.wait_for_timeout(1500)  # let the last rerun settle so the screenshot shows the final page
    assert_no_error_shown(page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "compare-significance.png"), full_page=True)
    for label, name in (("Confusion difference", "compare-confusion"), ("Disagreements", "compare-disagreements"),
                        ("Calibration", "compare-calibration"), ("Cost vs accuracy", "compare-cost")):
        open_tab(page, label)
        panel = page.locator("[role=tabpanel]:visible")
        if name != "compare-disagreements":
            panel.locator(".js-plotly-plot .main-svg").first.wait_for(timeout=PAGE_TIMEOUT_MS)
        else:
            panel.locator("[data-testid=stImage] img").first.wait_for(timeout=PAGE_TIMEOUT_MS)
        assert_no_error_shown(page)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_failures_page_in_the_browser(server_url, page):
    page.goto(f"{server_url}/failures")
    page.wait_for_selector("[data-testid=stImage] img", timeout=PAGE_TIMEOUT_MS)
    assert_no_error_shown(page)
    page.get_by_text("test images are wrong in at least").first.wait_for(timeout=PAGE_TIMEOUT_MS)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "failures-gallery.png"), full_page=True)


def test_exported_report_opens_offline(server_url, page, browser):
    page.goto(f"{server_url}/report")
    page.get_by_role("button", name="Build report").wait_for(timeout=PAGE_TIMEOUT_MS)
    page.get_by_label("Notes for the reader").fill(NOTES)
    page.get_by_label("Notes for the reader").press("Control+Enter")
    page.wait_for_timeout(1000)
    page.get_by_role("button", name="Build report").click()
    download_button = page.get_by_role("button", name="Download report (HTML)")
    download_button.wait_for(timeout=PAGE_TIMEOUT_MS)
    assert_no_error_shown(page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "report-page-built.png"), full_page=True)
    with page.expect_download(timeout=PAGE_TIMEOUT_MS) as download_info:
        download_button.click()
    saved = OUTPUT / "report.html"
    download_info.value.save_as(str(saved))
    text = saved.read_text(encoding="utf-8")
    assert "<script>window.notesRan" not in text
    assert "&lt;script&gt;window.notesRan = true&lt;/script&gt;" in text

    offline = browser.new_context(viewport={"width": 1200, "height": 900}, offline=True)
    outside_requests: list[str] = []

    def block_network(route):
        if route.request.url.startswith("file:"):
            route.continue_()
        else:
            outside_requests.append(route.request.url)
            route.abort()

    try:
        offline.set_offline(True)
        offline.route("**/*", block_network)
        report_tab = offline.new_page()
        report_tab.goto(saved.resolve().as_uri())
        report_tab.wait_for_selector(".js-plotly-plot .main-svg", timeout=PAGE_TIMEOUT_MS)
        report_tab.wait_for_timeout(1000)
        charts = report_tab.locator(".plotly-graph-div").count()
        drawn = report_tab.locator(".plotly-graph-div .main-svg").count()
        assert charts >= 4
        # Plotly draws two stacked SVG layers per chart; every chart must have them.
        assert report_tab.evaluate(
            "() => [...document.querySelectorAll('.plotly-graph-div')].every(div => div.querySelector('svg.main-svg'))"
        )
        assert drawn >= charts
        assert report_tab.locator("img[src^='data:image/png']").count() >= 1
        assert report_tab.evaluate("() => window.notesRan === undefined")
        assert "Shipping plan for Friday." in report_tab.locator(".notes").inner_text()
        assert outside_requests == []
        report_tab.screenshot(path=str(SCREENSHOTS / "report-offline.png"), full_page=True)
    finally:
        offline.close()
