"""Start a real ``streamlit run dashboard/app.py`` for browser tests, and stop it after."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
SERVER_START_SECONDS = 90


def free_port() -> int:
    """A TCP port on the loopback interface that nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_health(base_url: str, process: subprocess.Popen, log_path: Path) -> None:
    """Return once the server answers its health check; raise with the server's log when it never does."""
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited early:\n{log_path.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{base_url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"streamlit did not become healthy in {SERVER_START_SECONDS} s:\n{log_path.read_text()[-3000:]}")


@contextlib.contextmanager
def serve_dashboard(artifacts_dir: Path, cifar_dir: Path, log_path: Path) -> Iterator[str]:
    """Serve the dashboard on a free loopback port over ``artifacts_dir``; yield its base URL.

    The server's output goes to ``log_path`` (a file, so a chatty server never
    blocks on a full pipe), which error messages quote.
    """
    port = free_port()
    environment = {**os.environ, "ARTIFACTS_DIR": str(artifacts_dir), "CIFAR10_DIR": str(cifar_dir),
                   "TF_CPP_MIN_LOG_LEVEL": "2"}
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "dashboard/app.py", "--server.port", str(port),
             "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false"],
            cwd=REPO_ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(base_url, process, log_path)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
