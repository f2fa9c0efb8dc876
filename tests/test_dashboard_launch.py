"""dashboard.launch: the one way the demo, browser tests and benchmarks start the dashboard server."""

import subprocess
import sys
from pathlib import Path

import pytest

from dashboard.launch import (
    SERVER_MALLOC_SETTINGS,
    dashboard_environment,
    free_port,
    serve_dashboard,
    server_tracebacks,
    streamlit_command,
    wait_until_healthy,
)
from runstore.layout import resolve_artifacts_dir


def test_command_serves_the_app_on_the_given_port_and_address():
    command = streamlit_command(8600, "127.0.0.1")
    assert command[:4] == [sys.executable, "-m", "streamlit", "run"] and command[4].endswith("dashboard/app.py")
    assert command[command.index("--server.port") + 1] == "8600"
    assert command[command.index("--server.address") + 1] == "127.0.0.1"
    assert "--server.address" not in streamlit_command(8600)  # then dashboard/.streamlit/config.toml decides


def test_a_server_that_exits_at_start_fails_fast_with_its_log(tmp_path):
    log_path = tmp_path / "server.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen([sys.executable, "-c", "print('port already in use'); raise SystemExit(3)"],
                                   stdout=log, stderr=subprocess.STDOUT)
    process.wait()
    with pytest.raises(RuntimeError, match=r"(?s)exited at start \(status 3\).*port already in use"):
        wait_until_healthy(f"http://127.0.0.1:{free_port()}", process, log_path, timeout=30)


def test_a_server_that_never_answers_times_out_with_its_log(tmp_path):
    log_path = tmp_path / "server.log"
    log_path.write_text("still importing tensorflow\n")
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        with pytest.raises(RuntimeError, match=r"(?s)did not answer .* within 1 s.*still importing"):
            wait_until_healthy(f"http://127.0.0.1:{free_port()}", process, log_path, timeout=1)
    finally:
        process.kill()
        process.wait()


def test_tracebacks_are_found_with_the_line_that_names_their_context(tmp_path):
    log_path = tmp_path / "server.log"
    log_path.write_text("starting\nUncaught app execution\nTraceback (most recent call last):\n  File x\nok\n")
    assert server_tracebacks(log_path) == ["Uncaught app execution | Traceback (most recent call last):"]
    assert server_tracebacks(tmp_path / "missing.log") == []


def test_the_server_environment_sets_glibcs_malloc_for_a_long_lived_server(monkeypatch):
    for name in SERVER_MALLOC_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    environment = dashboard_environment()
    assert environment["MALLOC_ARENA_MAX"] == "2"
    assert environment["MALLOC_MMAP_THRESHOLD_"] == "131072"


def test_the_server_is_told_the_callers_artifacts_folder_since_it_starts_elsewhere(tmp_path, monkeypatch):
    monkeypatch.setenv("ARTIFACTS_DIR", str(tmp_path / "from-env"))
    assert dashboard_environment()["ARTIFACTS_DIR"] == str((tmp_path / "from-env").resolve())
    assert dashboard_environment(tmp_path / "given")["ARTIFACTS_DIR"] == str((tmp_path / "given").resolve())
    monkeypatch.delenv("ARTIFACTS_DIR")
    assert dashboard_environment()["ARTIFACTS_DIR"] == str(resolve_artifacts_dir())


def test_a_malloc_setting_the_user_chose_wins(monkeypatch):
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert dashboard_environment()["MALLOC_ARENA_MAX"] == "4"


def test_a_started_server_runs_with_the_malloc_settings(tmp_path, monkeypatch):
    for name in SERVER_MALLOC_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DASHBOARD_WARMUP", "0")
    with serve_dashboard(tmp_path, tmp_path / "streamlit.log") as server:
        started_with = (Path("/proc") / str(server.process.pid) / "environ").read_bytes().split(b"\0")
    for name, value in SERVER_MALLOC_SETTINGS.items():
        assert f"{name}={value}".encode() in started_with
