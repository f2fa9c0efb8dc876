"""The warm-up at server start: ``dashboard.launch`` opens the Overview once on a fresh server
(``dashboard.streamlit_patches.warm_session``), so the frame loads Classify's models before any visitor comes.

The sign that the warm-up ran is TensorFlow mapped into the server process: the
Overview alone never imports it (the cold server below shows that), only the
warm-up's model loading does.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from dashboard.launch import free_port, serve_dashboard, warmup_enabled
from dashboard.streamlit_patches.warm_session import open_page, stream_url

WARM_UP_SECONDS = 180  # a generous bound for a slow CI machine, not a performance target


def tensorflow_loaded(pid: int) -> bool:
    maps = Path(f"/proc/{pid}/maps")
    if not maps.exists():
        pytest.skip("needs Linux /proc to see what the server process loaded")
    return "tensorflow" in maps.read_text()


def test_stream_url_and_the_switch():
    assert stream_url("http://127.0.0.1:8501/") == "ws://127.0.0.1:8501/_stcore/stream"
    assert stream_url("https://lab.example/dash") == "wss://lab.example/dash/_stcore/stream"
    assert warmup_enabled({}) and warmup_enabled({"DASHBOARD_WARMUP": "1"})
    assert not warmup_enabled({"DASHBOARD_WARMUP": "0"})


def test_a_server_nobody_answers_gives_a_reason_not_an_exception():
    visit = open_page(f"http://127.0.0.1:{free_port()}", timeout=5)
    assert not visit.finished and visit.error


def test_the_served_dashboard_loads_classify_models_without_a_visitor(fixture_folders, tmp_path, monkeypatch):
    artifacts, cifar = fixture_folders
    monkeypatch.delenv("DASHBOARD_WARMUP", raising=False)
    with serve_dashboard(artifacts, tmp_path / "streamlit.log", cifar10_dir=cifar) as server:
        assert server.warm_up is not None
        visit = server.warm_up.wait(WARM_UP_SECONDS)
        assert visit is not None and visit.finished, visit
        deadline = time.monotonic() + WARM_UP_SECONDS
        while not tensorflow_loaded(server.process.pid) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert tensorflow_loaded(server.process.pid)


def test_with_the_warm_up_off_the_overview_alone_loads_no_tensorflow(fixture_folders, tmp_path, monkeypatch):
    artifacts, cifar = fixture_folders
    monkeypatch.setenv("DASHBOARD_WARMUP", "0")
    with serve_dashboard(artifacts, tmp_path / "streamlit.log", cifar10_dir=cifar) as server:
        assert server.warm_up is None
        visit = open_page(server.base_url)
        assert visit.finished, visit
        time.sleep(2)  # the frame would start the warm-up right after the page
        assert not tensorflow_loaded(server.process.pid)
