"""What the browser tests share: where screenshots go, how long a page may take, and a server over fixture runs.

Each browser test module builds its own runs (``served_runs``) and drives the
``page`` fixture of ``conftest.py`` (a fresh 1400x1000 tab per test)::

    @pytest.fixture(scope="module")
    def url(tmp_path_factory, chromium_path):
        with served_runs(tmp_path_factory.mktemp("mine"), add_my_runs) as base_url:
            yield base_url
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from dashboard.launch import serve_dashboard
from tests.factories import synthetic_test_set, write_cifar_test_folder

OUTPUT = Path(__file__).resolve().parents[1] / "test-output"
SCREENSHOTS = OUTPUT / "screenshots"
# A first page load starts the app's imports and caches in a fresh server: generous on a slow 2-core machine.
PAGE_TIMEOUT_MS = 90_000
CHART = ".js-plotly-plot"
MAIN = "[data-testid=stMain]"


def main_text(page) -> str:
    """The text of the page's main area (the sidebar left out)."""
    return page.locator(MAIN).inner_text()


def assert_no_error_shown(page) -> None:
    """Fail, quoting it, when the page shows a Streamlit exception box."""
    errors = page.locator("[data-testid=stException]")
    assert errors.count() == 0, errors.first.inner_text()


@contextlib.contextmanager
def served_runs(root: Path, add_runs: Callable[[Path, np.ndarray, np.ndarray], None],
                test_set: tuple[np.ndarray, np.ndarray] | None = None,
                data_dir: Path | None = None) -> Iterator[str]:
    """A real Streamlit server over the runs ``add_runs(artifacts, images, labels)`` writes; yields its base URL.

    The runs are scored on ``test_set`` (default: the synthetic one, written as a
    CIFAR-10 test folder under ``root`` unless ``data_dir`` holds it already).
    """
    images, labels = test_set if test_set is not None else synthetic_test_set()
    if data_dir is None:
        data_dir = write_cifar_test_folder(root / "cifar", images, labels)
    artifacts = root / "artifacts"
    add_runs(artifacts, images, labels)
    with serve_dashboard(artifacts, root / "streamlit.log", cifar10_dir=data_dir) as server:
        yield server.base_url
