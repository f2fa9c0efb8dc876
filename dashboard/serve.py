"""Serve the dashboard from several Streamlit processes behind nginx, one browser session per process (`make serve`).

    python -m dashboard.serve                      # one Streamlit process per CPU core behind nginx, 127.0.0.1:8501
    python -m dashboard.serve --workers 1          # one plain Streamlit process, no proxy
    python -m dashboard.serve --address 0.0.0.0    # listen on every interface (read docs/security.md first)
    python -m dashboard.serve --read-only          # nothing is written: no Add a model (also LAB_READ_ONLY=1)

On a non-loopback address without --read-only, Add a model needs ``LAB_ADMIN_TOKEN``
(``dashboard.access``); without one it is off.

Why: one Streamlit process runs every session's script under Python's one
interpreter lock, so it uses about one core however many the machine has.
Several processes use them all. A Streamlit session lives in one process (its
script state, its websocket, its ``/media`` files, its uploads), so nginx must
send every request of a browser to the same process: it hashes a
``labsession`` cookie it hands out on the first request
(``dashboard/nginx.conf.template``). Not the client address: a class behind one
NAT would all land on one process.

nginx (Debian's ``nginx-light``) runs in the foreground as a child of this
launcher, with its configuration, pid file, logs and buffers in a runtime folder
(a temporary one unless ``--runtime-dir``). Ctrl-C or SIGTERM stops nginx and
every Streamlit process. Without nginx on the PATH, one Streamlit process serves
and the launcher says why. No Streamlit import here: everything runs as subprocesses.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from dashboard.access import (LISTEN_ADDRESS_ENV, READ_ONLY_ENV, WRITES_OFF, WRITES_TOKEN, access_from_environment,
                              check_settings, is_loopback)
from dashboard.launch import (
    DASHBOARD_APP,
    REPO_ROOT,
    START_TIMEOUT_SECONDS,
    DashboardServer,
    dashboard_environment,
    free_port,
    log_tail,
    start_dashboard,
    stop_processes,
    streamlit_command,
    wait_until_healthy,
    warm_up_in_background,
)

NGINX_TEMPLATE = Path(__file__).resolve().parent / "nginx.conf.template"
# Streamlit reads the .streamlit/ folder beside the script it runs, whatever folder it starts in.
STREAMLIT_CONFIG = DASHBOARD_APP.parent / ".streamlit" / "config.toml"
DEFAULT_PORT = 8501
# Debian installs nginx in /usr/sbin, which is not on every user's PATH.
NGINX_FALLBACK_PATHS = ("/usr/sbin/nginx", "/usr/local/sbin/nginx")


def default_workers() -> int:
    """The cores this process may run on (its CPU affinity), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def find_nginx() -> str | None:
    """The nginx executable, or None when it is not installed."""
    found = shutil.which("nginx")
    if found:
        return found
    return next((path for path in NGINX_FALLBACK_PATHS if os.access(path, os.X_OK)), None)


def streamlit_settings(config_path: Path = STREAMLIT_CONFIG) -> tuple[str, int]:
    """(``server.address``, ``server.maxUploadSize`` in MB) from dashboard/.streamlit/config.toml, with Streamlit's defaults."""
    try:
        server = tomllib.loads(config_path.read_text()).get("server", {})
    except OSError:
        server = {}
    return str(server.get("address", "127.0.0.1")), int(server.get("maxUploadSize", 200))


def _config_of(checkout: Path) -> Path:
    """A checkout's Streamlit settings: beside dashboard/app.py, or at its root in checkouts before they moved."""
    beside_app = checkout / "dashboard" / ".streamlit" / "config.toml"
    return beside_app if beside_app.is_file() else checkout / ".streamlit" / "config.toml"


def with_listen_address(environment: dict[str, str], address: str | None) -> dict[str, str]:
    """``environment`` naming the address visitors reach (``LAB_LISTEN_ADDRESS``), which decides who may write.

    Behind nginx the Streamlit processes listen on loopback, so they learn nginx's address from it.
    A public ``address`` always wins; a loopback one leaves a value the operator set (a proxy of theirs).
    """
    if address and (not is_loopback(address) or LISTEN_ADDRESS_ENV not in environment):
        environment[LISTEN_ADDRESS_ENV] = address
    return environment


def port_in_use(address: str, port: int) -> bool:
    """True when something already listens on ``address:port`` (so nginx or Streamlit could not bind it)."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # The same option nginx and Streamlit set: a port left in TIME_WAIT is free to them.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((address, port))
        except OSError:
            return True
    return False


def listen_directive(address: str, port: int) -> str:
    """nginx's ``listen`` value for ``address``:``port`` (IPv6 addresses in brackets)."""
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def render_nginx_config(runtime_dir: str | os.PathLike, address: str, port: int, backend_ports: list[int],
                        upload_megabytes: int, template: Path = NGINX_TEMPLATE) -> str:
    """The nginx configuration for a proxy on ``address:port`` in front of Streamlit on 127.0.0.1:``backend_ports``.

    Raises ``ValueError`` for no backends, or when the template has a placeholder this does not fill.
    """
    if not backend_ports:
        raise ValueError("nginx needs at least one backend port")
    # As root, nginx would run its worker as `nobody`, which cannot write the runtime folder: keep this user.
    user = f"user {pwd.getpwuid(os.geteuid()).pw_name};" if os.geteuid() == 0 else ""
    values = {
        "RUNTIME_DIR": str(Path(runtime_dir).resolve()),
        "LISTEN": listen_directive(address, port),
        "UPLOAD_MEGABYTES": str(upload_megabytes),
        "BACKEND_SERVERS": "\n".join(f"        server 127.0.0.1:{backend};" for backend in backend_ports),
        "USER_DIRECTIVE": user,
    }
    text = template.read_text()
    for name, value in values.items():
        text = text.replace("{{" + name + "}}", value)
    if "{{" in text:
        leftover = text[text.index("{{"):].split("}}")[0] + "}}"
        raise ValueError(f"{template} has a placeholder serve.py does not fill: {leftover}")
    return text


@dataclass
class WorkerPool:
    """Several Streamlit backends behind one nginx: where to reach it, its processes, its logs."""

    base_url: str
    nginx: subprocess.Popen
    backends: list[DashboardServer]
    runtime_dir: Path

    @property
    def processes(self) -> list[subprocess.Popen]:
        """nginx first, then every backend."""
        return [self.nginx, *(backend.process for backend in self.backends)]

    @property
    def access_log(self) -> Path:
        """nginx's access log: one line per request, naming the backend (``$upstream_addr``) and the session."""
        return self.runtime_dir / "access.log"

    @property
    def error_log(self) -> Path:
        return self.runtime_dir / "error.log"

    def stopped(self) -> list[str]:
        """One sentence per process that is no longer running, with the end of its log."""
        found = []
        if self.nginx.poll() is not None:
            found.append(f"nginx exited (status {self.nginx.returncode}):\n{log_tail(self.error_log)}")
        for backend in self.backends:
            if backend.process.poll() is not None:
                found.append(f"the Streamlit backend on {backend.base_url} exited (status "
                             f"{backend.process.returncode}):\n{log_tail(backend.log_path)}")
        return found


@contextlib.contextmanager
def serve_workers(workers: int, runtime_dir: str | os.PathLike, port: int | None = None, address: str = "127.0.0.1",
                  artifacts_dir: str | os.PathLike | None = None, cifar10_dir: str | os.PathLike | None = None,
                  app: str | os.PathLike | None = None, checkout: str | os.PathLike | None = None,
                  start_timeout: float = START_TIMEOUT_SECONDS) -> Iterator[WorkerPool]:
    """Start ``workers`` Streamlit backends and nginx in front of them; stop them all when the block ends.

    Backends listen on free loopback ports; nginx on ``address:port`` (a free
    loopback port when ``port`` is None). ``artifacts_dir`` and ``cifar10_dir`` set
    ``ARTIFACTS_DIR``/``CIFAR10_DIR`` for the backends; ``app`` and ``checkout`` serve
    another script or checkout (tests, a benchmark's baseline). Raises
    ``RuntimeError`` with the failing process's log when something does not start,
    and ``FileNotFoundError`` when nginx is not installed.
    """
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    nginx = find_nginx()
    if nginx is None:
        raise FileNotFoundError("nginx is not installed (Debian: apt-get install nginx-light)")
    runtime_dir = Path(runtime_dir).resolve()
    runtime_dir.mkdir(parents=True, exist_ok=True)
    environment = with_listen_address(dashboard_environment(artifacts_dir, cifar10_dir), address)
    _, upload_megabytes = streamlit_settings(_config_of(Path(checkout) if checkout else REPO_ROOT))
    backends: list[DashboardServer] = []
    proxy = None
    try:
        # Start every backend first, then wait: they import Streamlit and the pages side by side.
        backend_ports = [free_port() for _ in range(workers)]
        for number, backend_port in enumerate(backend_ports):
            backends.append(start_dashboard(backend_port, runtime_dir / f"streamlit-{number}.log", environment,
                                            checkout, app))
        for backend in backends:
            wait_until_healthy(backend.base_url, backend.process, backend.log_path, start_timeout)
            # Each backend loads Classify's models for its own sessions, before its first visitor.
            backend.warm_up = warm_up_in_background(backend.base_url, backend.process, backend.log_path, environment,
                                                    start_timeout)
        port = port or free_port()
        config_path = runtime_dir / "nginx.conf"
        config_path.write_text(render_nginx_config(runtime_dir, address, port, backend_ports, upload_megabytes))
        with open(runtime_dir / "nginx.out", "wb") as output:
            proxy = subprocess.Popen([nginx, "-p", str(runtime_dir), "-c", str(config_path),
                                      "-e", str(runtime_dir / "error.log")],
                                     stdout=output, stderr=subprocess.STDOUT)
        # A wildcard address is reached on loopback from this machine.
        host = "127.0.0.1" if address in ("0.0.0.0", "::") else address
        pool = WorkerPool(f"http://{listen_directive(host, port)}", proxy, backends, runtime_dir)
        wait_until_healthy(pool.base_url, proxy, runtime_dir / "error.log", timeout=30, name="nginx")
        yield pool
    finally:
        # nginx first, so no request reaches a backend that is going away.
        if proxy is not None:
            stop_processes([proxy], grace_seconds=5)
        stop_processes([backend.process for backend in backends])


class _Stop(Exception):
    """SIGTERM or SIGHUP arrived: leave the serving loop and stop every child."""


def _raise_stop(signal_number, frame) -> None:
    raise _Stop(signal.Signals(signal_number).name)


def serve_one_process(port: int, address: str | None, artifacts_dir: str | None, app: str | None) -> int:
    """Serve with one plain ``streamlit run`` in the foreground (its output on this terminal); its exit status."""
    script = Path(app).resolve() if app else DASHBOARD_APP
    environment = with_listen_address(dashboard_environment(artifacts_dir), address)
    process = subprocess.Popen(streamlit_command(port, address, script), cwd=REPO_ROOT, env=environment)
    # Its output is on this terminal, which is where a failed warm-up's log would point too.
    warm_up_in_background(f"http://127.0.0.1:{port}", process, "/dev/stdout", environment)
    try:
        return process.wait()
    except (KeyboardInterrupt, _Stop):
        return 0
    finally:
        stop_processes([process])


def serve_behind_nginx(workers: int, port: int, address: str, artifacts_dir: str | None, app: str | None,
                       runtime_dir: str | None) -> int:
    """Serve with ``workers`` backends behind nginx until a child dies (1); Ctrl-C/SIGTERM propagate, after cleanup."""
    with contextlib.ExitStack() as stack:
        folder = runtime_dir or stack.enter_context(tempfile.TemporaryDirectory(prefix="lab-serve-"))
        pool = stack.enter_context(serve_workers(workers, folder, port, address, artifacts_dir, app=app))
        shown = "localhost" if address in ("127.0.0.1", "0.0.0.0", "::") else address
        print(f"Dashboard: http://{listen_directive(shown, port)}  ({workers} Streamlit processes behind nginx on "
              f"{address}; logs in {pool.runtime_dir}; Ctrl-C stops them all)", flush=True)
        while True:
            problems = pool.stopped()
            if problems:
                print("A serving process stopped, so everything stops:\n" + "\n".join(problems),
                      file=sys.stderr, flush=True)
                return 1
            time.sleep(1.0)


def parse_arguments(argv: list[str] | None = None, prog: str = "python -m dashboard.serve") -> argparse.Namespace:
    """The command line; bad values are refused with a message (``prog``: the command's name in usage lines)."""
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=default_workers(),
                        help=f"Streamlit processes (default: one per core, here {default_workers()}); "
                             "1 serves one plain process without nginx")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port to listen on (default {DEFAULT_PORT})")
    parser.add_argument("--address", help="address to listen on (default: server.address in dashboard/.streamlit/config.toml, "
                        "127.0.0.1); 0.0.0.0 for every interface")
    parser.add_argument("--artifacts-dir", help="artifacts folder (default: $ARTIFACTS_DIR or ./artifacts)")
    parser.add_argument("--runtime-dir", help="folder for nginx's configuration, logs and buffers and the "
                        "Streamlit logs (default: a temporary folder, removed at exit)")
    parser.add_argument("--read-only", action="store_true",
                        help=f"write nothing under the artifacts folder: no Add a model, no stored latency "
                             f"(same as {READ_ONLY_ENV}=1)")
    parser.add_argument("--app", help=argparse.SUPPRESS)  # another Streamlit script (tests)
    arguments = parser.parse_args(argv)
    if arguments.workers < 1:
        parser.error(f"--workers must be at least 1, got {arguments.workers}")
    if not 0 < arguments.port < 65536:
        parser.error(f"--port must be between 1 and 65535, got {arguments.port}")
    return arguments


def access_line(access) -> str:
    """One line at start saying who may write (``dashboard.access.Access``)."""
    if access.read_only:
        return "Read-only: nothing is written under the artifacts folder; Add a model is off."
    if access.writes == WRITES_OFF:
        return (f"Listening on {access.listen_address}: Add a model is off until LAB_ADMIN_TOKEN is set "
                "(or start with --read-only to say so plainly).")
    if access.writes == WRITES_TOKEN:
        return f"Listening on {access.listen_address}: Add a model asks for LAB_ADMIN_TOKEN."
    return "Read-write on this machine only (loopback)."


def main(argv: list[str] | None = None, prog: str = "python -m dashboard.serve") -> int:
    """Serve the dashboard as the arguments say; return the exit status."""
    arguments = parse_arguments(argv, prog)
    address = arguments.address or streamlit_settings()[0]
    if arguments.read_only:
        os.environ[READ_ONLY_ENV] = "1"  # every Streamlit process inherits it
    try:
        check_settings(os.environ)
    except ValueError as problem:
        print(f"Not started: {problem}", file=sys.stderr, flush=True)
        return 2
    print(access_line(access_from_environment(os.environ, address)), flush=True)
    if port_in_use(address, arguments.port):
        print(f"Port {arguments.port} on {address} is in use (another dashboard?). Stop that program, or choose "
              f"another port: make serve PORT={arguments.port + 1}", file=sys.stderr, flush=True)
        return 1
    for name in ("SIGTERM", "SIGHUP"):
        signal.signal(getattr(signal, name), _raise_stop)
    if arguments.workers > 1 and find_nginx() is None:
        print(f"nginx is not installed, so one Streamlit process serves instead of {arguments.workers} "
              "(it uses about one core). To use every core: apt-get install nginx-light, then make serve again.",
              flush=True)
        arguments.workers = 1
    if arguments.workers == 1:
        print(f"One Streamlit process on {address}:{arguments.port}.", flush=True)
        return serve_one_process(arguments.port, address, arguments.artifacts_dir, arguments.app)
    try:
        return serve_behind_nginx(arguments.workers, arguments.port, address, arguments.artifacts_dir, arguments.app,
                                  arguments.runtime_dir)
    except RuntimeError as failure:
        print(f"Could not start serving: {failure}", file=sys.stderr, flush=True)
        return 1
    except (KeyboardInterrupt, _Stop):
        # serve_workers has stopped what it started, whether serving or still starting.
        print("\nStopped nginx and the Streamlit processes.", flush=True)
        return 0


if __name__ == "__main__":
    sys.exit(main())
