"""Fixtures shared by every test module.

Browser tests use Debian's Chromium through Playwright (``executable_path``),
never a browser Playwright downloads. Without Chromium they are skipped on a
developer machine, but ``.ci/run`` sets ``REQUIRE_BROWSER=1`` so CI fails instead.
Tests marked ``realdata`` need real CIFAR-10 (``CIFAR10_DIR``) the same way:
skipped without it, a failure when ``REQUIRE_REALDATA=1`` (``.ci/run`` sets it).
"""

from __future__ import annotations

import os
import shutil

import pytest

# Keep TensorFlow quiet and deterministic in every test process.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_DETERMINISTIC_OPS", "1")
# AppTest runs the app without a server, so Streamlit's server.address is unset there, which
# dashboard.access reads as "every interface" and so locks Add a model. The tests' servers listen
# on loopback; the tests of public servers (test_dashboard_access, test_browser_access) set their own.
os.environ.setdefault("LAB_LISTEN_ADDRESS", "127.0.0.1")

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def find_chromium() -> str | None:
    """Path of the system Chromium, from $CHROMIUM_PATH or the PATH."""
    candidate = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")
    return candidate if candidate and os.path.exists(candidate) else None


def pytest_runtest_setup(item):
    """A ``realdata`` test without real CIFAR-10 is skipped, or fails when REQUIRE_REALDATA=1 (CI)."""
    if item.get_closest_marker("realdata") is None:
        return
    folder = os.environ.get("CIFAR10_DIR")
    if folder and os.path.isfile(os.path.join(folder, "test_batch")):
        return
    message = (f"real CIFAR-10 is not at CIFAR10_DIR={folder!r}: set it to a cifar-10-batches-py folder"
               if folder else "set CIFAR10_DIR to a cifar-10-batches-py folder for the real-data tests")
    if os.environ.get("REQUIRE_REALDATA") == "1":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """The Chromium executable, or a skip (a failure when REQUIRE_BROWSER=1)."""
    path = find_chromium()
    if path is None:
        message = "Debian's chromium is not installed (apt-get install chromium); .ci/run installs it"
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def browser(chromium_path):
    """A headless Chromium shared by the session's browser tests."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser):
    """A fresh 1400x1000 tab (its own context: no cookies or session carried between tests) that accepts downloads."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    tab = context.new_page()
    yield tab
    context.close()


@pytest.fixture(scope="module")
def fixture_folders(tmp_path_factory):
    """One run of every kind and the matching synthetic CIFAR test folder, fresh for each test module.

    Module scope, not session: some page tests write into a run (measured latency).
    """
    from tests.factories import make_demo_artifacts, synthetic_test_set, write_cifar_test_folder

    root = tmp_path_factory.mktemp("app")
    artifacts = make_demo_artifacts(root / "artifacts")
    cifar = write_cifar_test_folder(root / "cifar", *synthetic_test_set())
    return artifacts, cifar


@pytest.fixture
def app_env(fixture_folders, monkeypatch):
    """Point the dashboard (ARTIFACTS_DIR, CIFAR10_DIR) at ``fixture_folders``; returns the artifacts folder."""
    from tests.app_pages import point_dashboard_at

    return point_dashboard_at(monkeypatch, *fixture_folders)
