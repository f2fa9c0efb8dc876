"""The dashboard in real headless Chromium against a real ``streamlit run`` server.

Every page renders its content (charts where it has them), a link with ``?run=``
reproduces the view, an upload on Classify returns a prediction and a bad upload
shows the error sentence. Screenshots of every page and each page's render time
go to ``test-output/``; look at the screenshots after changing a page.

Run alone: ``.venv/bin/pytest -m browser tests/test_browser_dashboard.py``.
"""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.browser_pages import CHART, OUTPUT, PAGE_TIMEOUT_MS, SCREENSHOTS, assert_no_error_shown, served_runs
from tests.factories import make_demo_artifacts

pytestmark = [pytest.mark.browser, pytest.mark.slow]

IMAGE = "[data-testid=stImage] img"
SIDEBAR_PICKER = "[data-testid=stSidebar] [data-testid=stMultiSelect]"
# What proves each page rendered (beyond its title).
PAGE_CONTENT = {
    "overview": "[data-testid=stDataFrame]",
    "curves": CHART,
    "confusion": CHART,
    "misclassified": IMAGE,
    "classify": "[data-testid=stFileUploader]",
    "data": IMAGE,
    "compare": "[data-testid=stMain] h1",
    "failures": "[data-testid=stMain] h1",
    "report": "[data-testid=stMain] h1",
}
# Each page's address: the Overview is the app's root, every other page /<name>.
PAGE_PATHS = {"overview": ""}


@pytest.fixture(scope="session")
def dashboard_url(tmp_path_factory, chromium_path):
    """A real server on a free port, reading fixture runs (on the real test set when CIFAR10_DIR is set)."""
    real_data = os.environ.get("CIFAR10_DIR")
    test_set, data_dir = None, None
    if real_data and (Path(real_data) / "test_batch").exists():
        from training.data import load_test_set

        test_set, data_dir = load_test_set(real_data), Path(real_data)

    def add_runs(artifacts, images, labels):
        make_demo_artifacts(artifacts, test_images=images, test_labels=labels)

    with served_runs(tmp_path_factory.mktemp("browser"), add_runs, test_set, data_dir) as base_url:
        yield base_url


def open_page(tab, base_url: str, name: str, query: str = "") -> float:
    """Open page ``name`` at its address and wait until its content is drawn; return the seconds it took."""
    started = time.monotonic()
    tab.goto(f"{base_url}/{PAGE_PATHS.get(name, name)}{query}")
    tab.wait_for_selector("[data-testid=stMain] h1", timeout=PAGE_TIMEOUT_MS)
    tab.wait_for_selector(PAGE_CONTENT[name], timeout=PAGE_TIMEOUT_MS)
    # Pages that write their pickers into the URL rerun once on arrival; the
    # sidebar is redrawn in that rerun, so wait for it as well as the main area.
    tab.wait_for_selector(SIDEBAR_PICKER, timeout=PAGE_TIMEOUT_MS)
    return time.monotonic() - started


def test_every_page_renders_and_is_screenshotted(dashboard_url, page):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    times = {}
    for name in PAGE_CONTENT:
        first = open_page(page, dashboard_url, name)
        warm = open_page(page, dashboard_url, name)
        times[name] = (first, warm)
        if PAGE_CONTENT[name] == CHART:
            assert page.locator(CHART).count() >= 1
        # Every page sits in the app's frame, even the first one a fresh server serves by URL.
        assert "Runs to compare" in page.locator("[data-testid=stSidebar]").inner_text()
        assert_no_error_shown(page)
        page.wait_for_timeout(800)  # let the last images and charts paint before the screenshot
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    lines = [f"{name:<14} first {first:5.2f} s   warm {warm:5.2f} s" for name, (first, warm) in times.items()]
    (OUTPUT / "page_times.txt").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def test_overview_lists_broken_and_failed_runs_with_reasons(dashboard_url, page):
    open_page(page, dashboard_url, "overview")
    text = page.locator("[data-testid=stMain]").inner_text()
    assert "failed-run is failed" in text and "ResourceExhaustedError" in text
    assert "broken-run is broken" in text and "predictions.npz" in text


def test_the_overview_has_one_title_and_one_address_and_the_old_one_lands_on_it(dashboard_url, page):
    open_page(page, dashboard_url, "overview")
    assert page.locator("[data-testid=stMain] h1").first.inner_text() == "Overview"
    page.goto(f"{dashboard_url}/overview")  # the address older links use
    page.wait_for_url(f"{dashboard_url}/", timeout=PAGE_TIMEOUT_MS)
    page.wait_for_selector(PAGE_CONTENT["overview"], timeout=PAGE_TIMEOUT_MS)
    assert page.locator("[data-testid=stMain] h1").first.inner_text() == "Overview"
    titles = [text.split()[-1] for text in page.locator("[data-testid=stSidebarNav] a").all_inner_texts()]  # after the icon
    assert titles.count("Overview") == 1 and "Leaderboard" not in titles
    assert_no_error_shown(page)


def test_a_link_with_the_run_reproduces_the_view(dashboard_url, page):
    open_page(page, dashboard_url, "confusion", "?run=vgg16-transfer-b")
    assert "Run vgg16-transfer-b" in page.locator("[data-testid=stMain]").inner_text()
    open_page(page, dashboard_url, "confusion", "?run=simple-cnn-a")
    assert "Run simple-cnn-a" in page.locator("[data-testid=stMain]").inner_text()


def png_bytes() -> bytes:
    pixels = np.zeros((64, 48, 3), dtype=np.uint8)
    pixels[..., 0] = 200  # a red photo, not square: the page crops it
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def test_upload_on_classify_returns_a_prediction_and_a_bad_file_an_error(dashboard_url, page):
    open_page(page, dashboard_url, "classify")
    upload = page.locator("[data-testid=stFileUploader] input[type=file]")
    upload.set_input_files([
        {"name": "red.png", "mimeType": "image/png", "buffer": png_bytes()},
        {"name": "broken.png", "mimeType": "image/png", "buffer": b"this is not an image at all"},
    ])
    page.wait_for_selector(CHART, timeout=PAGE_TIMEOUT_MS)
    page.get_by_text("what ", exact=False).first.wait_for(timeout=PAGE_TIMEOUT_MS)
    text = page.locator("[data-testid=stMain]").inner_text()
    assert "red.png" in text
    assert "broken.png" in text and "not an image in an accepted format" in text
    assert_no_error_shown(page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_timeout(800)
    page.screenshot(path=str(SCREENSHOTS / "classify-upload.png"), full_page=True)


def test_clicking_a_confusion_cell_shows_its_images(dashboard_url, page):
    open_page(page, dashboard_url, "confusion", "?run=simple-cnn-a")
    page.wait_for_timeout(1000)
    grid = page.locator(".js-plotly-plot .nsewdrag").first.bounding_box()
    classes = 10
    # The cell of true "cat" (row 3) predicted as "dog" (column 5).
    page.mouse.click(grid["x"] + grid["width"] * 5.5 / classes, grid["y"] + grid["height"] * 3.5 / classes)
    page.get_by_text("of class cat predicted as dog").wait_for(timeout=PAGE_TIMEOUT_MS)
