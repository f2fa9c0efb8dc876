"""Add a model in real headless Chromium: upload a tiny .keras file, watch it evaluated, see it listed.

Screenshots of the filled form and of the result go to ``test-output/screenshots/``.
Run alone: ``.venv/bin/pytest -m browser tests/test_browser_add_model.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dashboard.launch import serve_dashboard
from runstore import list_runs
from tests.factories import synthetic_test_set, tiny_model, write_cifar_test_folder

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SCREENSHOTS = Path(__file__).resolve().parents[1] / "test-output" / "screenshots"
TIMEOUT_MS = 180_000  # the import starts TensorFlow in its own process


def test_uploaded_model_is_evaluated_and_listed(browser, tmp_path):
    artifacts = tmp_path / "artifacts"
    cifar = write_cifar_test_folder(tmp_path / "cifar", *synthetic_test_set())
    model_file = tmp_path / "tiny notebook.keras"
    tiny_model().save(model_file)
    with serve_dashboard(artifacts, tmp_path / "streamlit.log", cifar10_dir=cifar) as server:
        context = browser.new_context(viewport={"width": 1400, "height": 1100})
        page = context.new_page()
        page.goto(f"{server.base_url}/add_model", timeout=TIMEOUT_MS)
        page.wait_for_selector("[data-testid=stFileUploader]", timeout=TIMEOUT_MS)
        main = page.locator("[data-testid=stMain]")
        assert "Files up to 200 MB" in main.inner_text()  # said before anything is uploaded
        page.locator("[data-testid=stFileUploader] input[type=file]").first.set_input_files(str(model_file))
        name = page.get_by_label("Run name", exact=True).and_(page.get_by_test_id("stTextInputField"))
        page.wait_for_function("element => element.value === 'tiny-notebook'", arg=name.element_handle(), timeout=TIMEOUT_MS)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "add_model_form.png"), full_page=True)
        page.get_by_role("button", name="Evaluate and add").click()
        page.get_by_text("was added: test accuracy", exact=False).wait_for(timeout=TIMEOUT_MS)
        page.screenshot(path=str(SCREENSHOTS / "add_model_added.png"), full_page=True)
        assert page.locator("[data-testid=stException]").count() == 0

        page.goto(f"{server.base_url}/", timeout=TIMEOUT_MS)
        page.wait_for_selector("[data-testid=stDataFrame]", timeout=TIMEOUT_MS)
        page.get_by_text("tiny-notebook").first.wait_for(timeout=TIMEOUT_MS)  # the best run's name, and the sidebar picker's
        page.screenshot(path=str(SCREENSHOTS / "add_model_overview.png"), full_page=True)
        context.close()
    assert [(info.run_id, info.status) for info in list_runs(artifacts)] == [("tiny-notebook", "complete")]
    assert sorted(path.name for path in artifacts.iterdir()) == ["runs"]  # the staged upload is gone
