"""What the read-only and Space tests share: a folder's fingerprint, a server started by its own command, every page.

    before = fingerprint(artifacts)
    with command_server([sys.executable, "-m", "dashboard.serve", "--workers", "1", "--read-only",
                         "--port", "{port}"], cwd=REPO_ROOT, log_path=log) as base_url:
        for name in PAGE_CONTENT: open_page(page, base_url, name)
    assert fingerprint(artifacts) == before
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

from dashboard.launch import free_port, stop_processes, wait_until_healthy
from tests.browser_pages import CHART, MAIN, PAGE_TIMEOUT_MS, SCREENSHOTS, assert_no_error_shown, main_text

IMAGE = "[data-testid=stImage] img"
SIDEBAR = "[data-testid=stSidebar]"
NAVIGATION = "[data-testid=stSidebarNav]"
# Every page a visitor can open, with what proves it rendered (beyond its title); the Overview is "/".
PAGE_CONTENT = {
    "": "[data-testid=stDataFrame]",
    "curves": CHART,
    "confusion": CHART,
    "misclassified": IMAGE,
    "compare": f"{MAIN} h1",
    "failures": f"{MAIN} h1",
    "report": f"{MAIN} h1",
    "classify": "[data-testid=stFileUploader]",
    "data": f"{MAIN} h1",
}


def fingerprint(folder: Path) -> dict[str, str]:
    """Every file and folder under ``folder``: its path and SHA-256 (``"dir"`` for a folder), to compare byte for byte."""
    found = {}
    for path in sorted(Path(folder).rglob("*")):
        relative = str(path.relative_to(folder))
        found[relative] = "dir" if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()
    return found


@contextlib.contextmanager
def command_server(command: list[str], cwd: Path, log_path: Path, environment: dict[str, str] | None = None,
                   ) -> Iterator[str]:
    """Run ``command`` (``{port}`` in it becomes a free port) in ``cwd`` until the block ends; yield its loopback URL."""
    port = free_port()
    command = [part.replace("{port}", str(port)) for part in command]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, cwd=cwd, env={**os.environ, **(environment or {})},
                                   stdout=log, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(base_url, process, log_path)
        yield base_url
    finally:
        stop_processes([process])


def open_page(tab, base_url: str, name: str, query: str = "") -> None:
    """Open page ``name`` ("" for the Overview) and wait until its content is drawn."""
    tab.goto(f"{base_url}/{name}{query}", timeout=PAGE_TIMEOUT_MS)
    tab.wait_for_selector(f"{MAIN} h1", timeout=PAGE_TIMEOUT_MS)
    tab.wait_for_selector(PAGE_CONTENT.get(name, f"{MAIN} h1"), timeout=PAGE_TIMEOUT_MS)


def assert_classify_answers(tab, base_url: str, screenshot: str) -> None:
    """Upload a plain red photo on Classify and see the models' answer chart; screenshot it as ``screenshot``."""
    import numpy as np
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.full((36, 36, 3), (200, 40, 40), dtype=np.uint8)).save(buffer, format="PNG")
    open_page(tab, base_url, "classify")
    tab.locator("[data-testid=stFileUploader] input[type=file]").set_input_files(
        [{"name": "red.png", "mimeType": "image/png", "buffer": buffer.getvalue()}])
    tab.wait_for_selector(CHART, timeout=PAGE_TIMEOUT_MS)
    assert "red.png" in main_text(tab)
    assert_no_error_shown(tab)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(SCREENSHOTS / screenshot), full_page=True)


def navigation_text(tab) -> str:
    """The page links of the sidebar's navigation."""
    return tab.locator(NAVIGATION).inner_text()


def dockerfile_command(dockerfile: Path) -> tuple[list[str], dict[str, str]]:
    """The ``CMD`` (exec form) and the ``ENV`` settings of ``dockerfile``, as a container would start it.

    No Docker here: the tests run the same command with the same environment, from the folder.
    """
    import json
    import shlex

    text = Path(dockerfile).read_text().replace("\\\n", " ")
    command, environment = None, {}
    for line in text.splitlines():
        keyword, _, rest = line.strip().partition(" ")
        if keyword == "CMD":
            command = json.loads(rest)
        elif keyword == "ENV":
            for setting in shlex.split(rest):
                name, _, value = setting.partition("=")
                if "$" not in value:  # PATH=/home/user/.local/bin:$PATH is the image's, not the app's
                    environment[name] = value
    if command is None:
        raise ValueError(f"{dockerfile} has no CMD")
    return command, environment
