"""Read-only mode and the admin token against real servers started by ``python -m dashboard.serve``, in Chromium.

Three servers over fixture runs (docs/security.md, "Read-only mode and the admin token"):

- ``--read-only``: Add a model is not in the navigation and its URL refuses with no
  uploader; Compare offers no latency measurement; Classify still answers an upload;
  the sidebar says read-only; after every page, the artifacts folder is byte-identical.
- ``--address 0.0.0.0`` without ``LAB_ADMIN_TOKEN``: Add a model says it is off and how
  to turn it on, shows no uploader, and nothing is written; also with 2 processes behind nginx.
- ``--address 0.0.0.0`` with ``LAB_ADMIN_TOKEN``: a wrong token unlocks nothing; the right
  one, entered in the sidebar, unlocks Add a model, and an upload is imported as a run.

Run alone: ``.venv/bin/pytest tests/test_browser_access.py``.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from dashboard.launch import REPO_ROOT
from runstore import list_runs
from tests.browser_pages import MAIN, PAGE_TIMEOUT_MS, SCREENSHOTS, assert_no_error_shown, main_text
from tests.factories import make_run, synthetic_test_set, tiny_model, write_cifar_test_folder
from tests.served_folders import (PAGE_CONTENT, SIDEBAR, assert_classify_answers, command_server, fingerprint,
                                  navigation_text, open_page)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TOKEN = "a-test-token-of-32-characters-xx"
IMPORT_TIMEOUT_MS = 180_000  # the import starts TensorFlow in its own process
COST_TAB = "?compare_view=Cost+vs+accuracy"


def serve_command(*options: str) -> list[str]:
    """``python -m dashboard.serve`` as an operator types it, one plain Streamlit process, on a free port."""
    return [sys.executable, "-m", "dashboard.serve", "--workers", "1", "--port", "{port}", *options]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two complete runs (no latency measured yet) and the synthetic test set: (artifacts, CIFAR folder, root)."""
    root = tmp_path_factory.mktemp("access")
    images, labels = synthetic_test_set()
    cifar = write_cifar_test_folder(root / "cifar", images, labels)
    for run_id, seed in (("simple-cnn-a", 0), ("simple-cnn-b", 1)):
        make_run(root / "artifacts", run_id, seed=seed, test_images=images, test_labels=labels)
    return root / "artifacts", cifar, root


def settings(cifar: Path, **more: str) -> dict[str, str]:
    """The servers' environment: the test set, no warm-up (nothing here needs it), and ``more``."""
    return {"CIFAR10_DIR": str(cifar), "DASHBOARD_WARMUP": "0", "LAB_READ_ONLY": "", "LAB_ADMIN_TOKEN": "",
            "LAB_LISTEN_ADDRESS": "", **more}


def assert_add_model_refused(page, base_url: str, words: str) -> None:
    """/add_model opened directly: the refusal with ``words``, and no uploader or button that could import."""
    page.goto(f"{base_url}/add_model", timeout=PAGE_TIMEOUT_MS)
    page.get_by_text(words, exact=False).first.wait_for(timeout=PAGE_TIMEOUT_MS)
    assert page.locator(f"{MAIN} input[type=file]").count() == 0
    assert page.get_by_role("button", name="Evaluate and add").count() == 0
    assert_no_error_shown(page)


def assert_latency_not_measurable(page, base_url: str) -> None:
    """Compare's Cost vs accuracy tab: the refusal instead of "Measure now" (measuring stores it in run.json)."""
    open_page(page, base_url, "compare", COST_TAB)
    page.get_by_text("Measuring latency is", exact=False).first.wait_for(timeout=PAGE_TIMEOUT_MS)
    assert page.get_by_role("button", name="Measure now").count() == 0


def test_a_read_only_server_writes_nothing_and_still_classifies(runs, page):
    artifacts, cifar, root = runs
    before = fingerprint(artifacts)
    with command_server(serve_command("--read-only", "--artifacts-dir", str(artifacts)), REPO_ROOT,
                        root / "read-only.log", settings(cifar)) as base_url:
        for name in PAGE_CONTENT:
            open_page(page, base_url, name)
            assert_no_error_shown(page)
            assert "Read-only dashboard" in page.locator(SIDEBAR).inner_text()
            assert "Add a model" not in navigation_text(page)
        assert "Classify" in navigation_text(page)

        assert_add_model_refused(page, base_url, "this dashboard is read-only")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "read-only-add-model.png"), full_page=True)
        assert_latency_not_measurable(page, base_url)

        assert_classify_answers(page, base_url, "read-only-classify.png")
    assert fingerprint(artifacts) == before


def test_a_public_server_without_a_token_refuses_writes_and_says_how_to_allow_them(runs, page):
    artifacts, cifar, root = runs
    before = fingerprint(artifacts)
    with command_server(serve_command("--address", "0.0.0.0", "--artifacts-dir", str(artifacts)), REPO_ROOT,
                        root / "public.log", settings(cifar)) as base_url:
        open_page(page, base_url, "")
        assert "Add a model is off" in page.locator(SIDEBAR).inner_text()
        assert_add_model_refused(page, base_url, "no admin token is set")
        assert "LAB_ADMIN_TOKEN" in main_text(page)
        assert_latency_not_measurable(page, base_url)
    assert fingerprint(artifacts) == before


def test_make_serve_address_0000_behind_nginx_refuses_writes_without_a_token(runs, page):
    """The issue's own case: several Streamlit processes behind nginx on 0.0.0.0 (they listen on loopback)."""
    from dashboard.serve import find_nginx

    if find_nginx() is None:
        pytest.skip("nginx is not installed (apt-get install nginx-light)")
    artifacts, cifar, root = runs
    before = fingerprint(artifacts)
    with command_server([sys.executable, "-m", "dashboard.serve", "--workers", "2", "--port", "{port}", "--address",
                         "0.0.0.0", "--artifacts-dir", str(artifacts), "--runtime-dir", str(root / "nginx")],
                        REPO_ROOT, root / "nginx.log", settings(cifar)) as base_url:
        assert_add_model_refused(page, base_url, "no admin token is set")
    assert fingerprint(artifacts) == before


def test_a_public_server_with_a_token_adds_a_model_only_for_who_enters_it(runs, page, tmp_path):
    _, cifar, root = runs
    artifacts = shutil.copytree(runs[0], tmp_path / "artifacts")  # this test writes: its own copy
    model_file = tmp_path / "by-the-admin.keras"
    tiny_model().save(model_file)
    before = fingerprint(artifacts)
    with command_server(serve_command("--address", "0.0.0.0", "--artifacts-dir", str(artifacts)), REPO_ROOT,
                        root / "token.log", settings(cifar, LAB_ADMIN_TOKEN=TOKEN)) as base_url:
        assert_add_model_refused(page, base_url, "needs the admin token")
        assert "Add a model" in navigation_text(page)
        token_field = page.get_by_label("Admin token", exact=True).and_(page.get_by_test_id("stTextInputField"))
        page.locator(SIDEBAR).get_by_text("Admin", exact=True).click()
        token_field.fill("not-the-token-but-long-enough-x")
        token_field.press("Enter")
        page.get_by_text("That is not this server's token.").wait_for(timeout=PAGE_TIMEOUT_MS)
        assert page.locator(f"{MAIN} input[type=file]").count() == 0
        assert fingerprint(artifacts) == before

        token_field.fill(TOKEN)
        token_field.press("Enter")
        page.get_by_text("Token accepted").wait_for(timeout=PAGE_TIMEOUT_MS)
        page.locator(f"{MAIN} [data-testid=stFileUploader] input[type=file]").first.set_input_files(str(model_file))
        name = page.get_by_label("Run name", exact=True).and_(page.get_by_test_id("stTextInputField"))
        page.wait_for_function("element => element.value === 'by-the-admin'", arg=name.element_handle(),
                               timeout=PAGE_TIMEOUT_MS)
        page.get_by_role("button", name="Evaluate and add").click()
        page.get_by_text("was added: test accuracy", exact=False).wait_for(timeout=IMPORT_TIMEOUT_MS)
        assert_no_error_shown(page)
    assert "by-the-admin" in {info.run_id for info in list_runs(artifacts)}
