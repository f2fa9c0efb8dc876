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
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

from dashboard.launch import free_port, stop_processes, wait_until_healthy
from tests.browser_pages import CHART, MAIN, PAGE_TIMEOUT_MS

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


def navigation_text(tab) -> str:
    """The page links of the sidebar's navigation."""
    return tab.locator(NAVIGATION).inner_text()
