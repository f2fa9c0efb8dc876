"""Start and stop a real ``streamlit run dashboard/app.py`` server (the demo, browser tests and benchmarks).

No Streamlit import here: this module only runs the server as a subprocess.
Once a server answers, ``warm_up_in_background`` opens its Overview once
(``dashboard.streamlit_patches.warm_session``), so the frame starts Classify's warm-up at server
start rather than when the first visitor arrives; ``DASHBOARD_WARMUP=0`` leaves
the server cold.
The server's output goes to a log file, never to a pipe: TensorFlow is chatty
and an unread pipe fills at ~64 KB and then freezes the server mid-run.

Usage::

    from dashboard.launch import serve_dashboard
    with serve_dashboard("artifacts", log_path="streamlit.log") as server:
        print(server.base_url)          # http://127.0.0.1:<free port>
        server.warm_up.wait()           # the Overview has run once: Classify's warm-up is under way

    # A server started some other way (one backend of several behind a proxy):
    process = subprocess.Popen(streamlit_command(port), env=environment)
    warm_up_in_background(f"http://127.0.0.1:{port}", process, log_path, environment)
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DASHBOARD_APP = REPO_ROOT / "dashboard" / "app.py"
START_TIMEOUT_SECONDS = 120.0


def free_port() -> int:
    """A TCP port on the loopback interface that nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def streamlit_command(port: int, address: str | None = None, app: Path = DASHBOARD_APP) -> list[str]:
    """The command that serves the dashboard ``app`` on ``port`` (``address`` defaults to dashboard/.streamlit/config.toml's)."""
    command = [sys.executable, "-m", "streamlit", "run", str(app), "--server.port", str(port),
               "--server.headless", "true", "--browser.gatherUsageStats", "false"]
    return command + (["--server.address", address] if address else [])


def log_tail(log_path: str | os.PathLike, characters: int = 3000) -> str:
    """The end of a server log, for error messages ("" if it cannot be read)."""
    try:
        return Path(log_path).read_text(errors="replace")[-characters:]
    except OSError:
        return ""


def server_tracebacks(log_path: str | os.PathLike) -> list[str]:
    """Every traceback the server logged, each as "<line before> | Traceback ..." (the line before names the context)."""
    lines = log_tail(log_path, characters=10**8).splitlines()
    return [f"{lines[index - 1] if index else ''} | {line}".strip(" |")
            for index, line in enumerate(lines) if "Traceback" in line]


def wait_until_healthy(base_url: str, process: subprocess.Popen, log_path: str | os.PathLike,
                       timeout: float = START_TIMEOUT_SECONDS, name: str = "streamlit") -> None:
    """Return once the server answers its health check; raise with the server's log when it exits or never does.

    ``name`` says which server the message is about (a proxy in front of Streamlit answers the same check).
    """
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited at start (status {process.returncode}):\n{log_tail(log_path)}")
        try:
            with urllib.request.urlopen(f"{base_url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{name} did not answer on {base_url} within {timeout:.0f} s:\n{log_tail(log_path)}")
        time.sleep(0.25)


def warmup_enabled(environment: dict | None = None) -> bool:
    """Whether the server warms Classify up (``DASHBOARD_WARMUP`` unset or not "0")."""
    return (os.environ if environment is None else environment).get("DASHBOARD_WARMUP", "1") != "0"


class ServerWarmUp:
    """The one session opened on a fresh server so its frame starts the warm-up; ``visit`` once it has run."""

    def __init__(self, base_url: str, process: subprocess.Popen, log_path: str | os.PathLike,
                 timeout: float = START_TIMEOUT_SECONDS):
        self.visit = None  # dashboard.streamlit_patches.warm_session.PageVisit once the page has run (or failed)
        self.started_at = time.monotonic()
        from dashboard.streamlit_patches.warm_session import import_protocol

        import_protocol()  # here, not in the thread: see import_protocol
        self._thread = threading.Thread(target=self._run, args=(base_url, process, log_path, timeout),
                                        name="dashboard-warm-session", daemon=True)
        self._thread.start()

    def _run(self, base_url, process, log_path, timeout) -> None:
        from dashboard.streamlit_patches.warm_session import PageVisit, open_page

        try:
            wait_until_healthy(base_url, process, log_path, timeout)
        except RuntimeError as error:
            self.visit = PageVisit("", time.monotonic() - self.started_at, str(error).splitlines()[0])
            return
        self.visit = open_page(base_url)  # the default page: the Overview, as a visitor would open it

    def wait(self, timeout: float | None = None):
        """Block until the session has run (or ``timeout``); return its ``PageVisit`` (None if still running)."""
        self._thread.join(timeout)
        return self.visit


def warm_up_in_background(base_url: str, process: subprocess.Popen, log_path: str | os.PathLike,
                          environment: dict | None = None, timeout: float = START_TIMEOUT_SECONDS) -> ServerWarmUp | None:
    """Once ``process`` answers at ``base_url``, open its Overview once in a daemon thread.

    Call it right after starting a dashboard server (each one, when several serve behind a proxy),
    with the server's ``environment``: None (nothing started) when it says ``DASHBOARD_WARMUP=0``.
    The launcher does not wait: the first visitor is served alongside it.
    """
    if not warmup_enabled(environment):
        return None
    return ServerWarmUp(base_url, process, log_path, timeout)


@dataclass
class DashboardServer:
    """A running dashboard: where to reach it, its process, its log file, and its warm-up session (if any)."""

    base_url: str
    process: subprocess.Popen
    log_path: Path
    warm_up: ServerWarmUp | None = field(default=None)


def start_dashboard(port: int, log_path: str | os.PathLike, environment: dict[str, str],
                    checkout: str | os.PathLike | None = None, app: str | os.PathLike | None = None) -> DashboardServer:
    """Start ``streamlit run`` on 127.0.0.1:``port`` without waiting for it; output to ``log_path``.

    ``app`` is the script (default: the checkout's ``dashboard/app.py``); it runs in ``checkout``
    (default: this repository); Streamlit applies the ``.streamlit/config.toml`` beside the script.
    """
    root = Path(checkout).resolve() if checkout else REPO_ROOT
    script = Path(app).resolve() if app else root / "dashboard" / "app.py"
    log_path = Path(log_path)
    with open(log_path, "wb") as log:
        process = subprocess.Popen(streamlit_command(port, "127.0.0.1", script), cwd=root, env=environment,
                                   stdout=log, stderr=subprocess.STDOUT)
    return DashboardServer(f"http://127.0.0.1:{port}", process, log_path)


def stop_processes(processes: list[subprocess.Popen], grace_seconds: float = 15.0) -> None:
    """Ask every process to stop (SIGTERM) at once, then kill those still running after ``grace_seconds``."""
    for process in processes:
        if process.poll() is None:
            process.terminate()
    deadline = time.monotonic() + grace_seconds
    for process in processes:
        try:
            process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def serve_dashboard(artifacts_dir: str | os.PathLike, log_path: str | os.PathLike,
                    cifar10_dir: str | os.PathLike | None = None,
                    start_timeout: float = START_TIMEOUT_SECONDS,
                    checkout: str | os.PathLike | None = None,
                    settings: dict[str, str] | None = None) -> Iterator[DashboardServer]:
    """Serve the dashboard over ``artifacts_dir`` on a free loopback port until the block ends.

    ``cifar10_dir`` sets ``CIFAR10_DIR`` for the server (else the caller's
    environment stands). The server's stdout and stderr go to ``log_path``.
    ``checkout`` serves another checkout's dashboard (a benchmark's baseline) instead of this one.
    ``settings`` are more environment variables for the server (``LAB_READ_ONLY``, ``LAB_ADMIN_TOKEN``).
    """
    environment = {**dashboard_environment(artifacts_dir, cifar10_dir), **(settings or {})}
    server = start_dashboard(free_port(), log_path, environment, checkout)
    try:
        wait_until_healthy(server.base_url, server.process, server.log_path, start_timeout)
        server.warm_up = warm_up_in_background(server.base_url, server.process, server.log_path, environment, start_timeout)
        yield server
    finally:
        stop_processes([server.process])


# glibc's malloc for the server process (read at its start; docs/performance.md, "A class at once"):
# two arenas instead of eight per core, one per script thread that ran, each keeping the holes its
# views left; and every block over 128 KiB in its own mapping, handed back to the machine when freed,
# where glibc would otherwise raise that threshold as it goes and serve the views' arrays from the
# heap. Settings the environment already has win. Other C libraries ignore both.
SERVER_MALLOC_SETTINGS = {"MALLOC_ARENA_MAX": "2", "MALLOC_MMAP_THRESHOLD_": "131072"}


def dashboard_environment(artifacts_dir: str | os.PathLike | None = None,
                          cifar10_dir: str | os.PathLike | None = None) -> dict[str, str]:
    """This process's environment plus ``ARTIFACTS_DIR`` and ``CIFAR10_DIR`` (when given), TensorFlow quiet.

    ``ARTIFACTS_DIR`` is always set, to ``artifacts_dir`` or the folder this process would use
    (``runstore.resolve_artifacts_dir``): the server starts in the folder above the packages, which
    for an installed lab is site-packages, so its own default would not be the caller's ``./artifacts``.
    The server's malloc settings (``SERVER_MALLOC_SETTINGS``) are added where the environment has none.
    """
    from runstore.layout import resolve_artifacts_dir

    environment = {**SERVER_MALLOC_SETTINGS, **os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    environment["ARTIFACTS_DIR"] = str(resolve_artifacts_dir(artifacts_dir))
    if cifar10_dir is not None:
        environment["CIFAR10_DIR"] = str(cifar10_dir)
    return environment
