"""The load benchmark's client (bench/protocol_client.py) against a tiny real dashboard, and bench/load.py's parts.

The fixture app is a real ``streamlit run`` server with a handful of views built
with ``st.navigation`` like the lab's frame: a plain page, a page with images, a
page that raises. The client must run exactly the pages it asks for, fetch the
images, and report the exception as an error.
"""

import argparse
import asyncio
import concurrent.futures
import math
import random
import subprocess
import sys
import textwrap
import time

import pytest

from bench.load import (CpuMeter, Scenario, ScenarioResult, choose_next_page, parse_arguments, percentile,
                        run_scenario, settle, soak)
from bench.protocol_client import ProtocolSession, View, websocket_url
from dashboard.launch import serve_dashboard

FIXTURE_PAGES = {
    "app.py": """
        import streamlit as st
        pages = [st.Page("views/home.py", title="Home", url_path="home", default=True),
                 st.Page("views/home.py", title="Home", url_path="start", visibility="hidden"),
                 st.Page("views/gallery.py", title="Gallery", url_path="gallery"),
                 st.Page("views/table.py", title="Table", url_path="table"),
                 st.Page("views/broken.py", title="Broken", url_path="broken")]
        with st.sidebar:
            st.selectbox("Focus", ["a", "b"], key="focus")
        st.navigation(pages).run()
        """,
    "views/home.py": """
        import streamlit as st
        st.title("Home")
        """,
    "views/gallery.py": """
        import numpy as np
        import streamlit as st
        st.title("Gallery")
        rng = np.random.default_rng(0)
        st.image([rng.integers(0, 255, (32, 32, 3), dtype=np.uint8) for _ in range(3)], width=64)
        """,
    "views/table.py": """
        import pandas as pd
        import streamlit as st
        st.title("Table")
        st.dataframe(pd.DataFrame({"run": ["a", "b"], "accuracy": [0.5, 0.6]}))
        """,
    "views/broken.py": """
        import streamlit as st
        st.title("Broken")
        raise ValueError("this page is broken on purpose")
        """,
}


def run_coroutine(coroutine):
    """``asyncio.run`` in a thread of its own: a session-wide Playwright browser keeps an event loop running in this one."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


@pytest.fixture(scope="module")
def fixture_server(tmp_path_factory):
    """A real Streamlit server on the fixture app; yields its base URL and process id."""
    root = tmp_path_factory.mktemp("tiny-dashboard")
    for name, source in FIXTURE_PAGES.items():
        path = root / "dashboard" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source))
    with serve_dashboard(root / "artifacts", root / "streamlit.log", checkout=root) as server:
        yield server.base_url, server.process.pid


def walk(base_url: str, pages: list[str]) -> tuple[list[View], ProtocolSession]:
    async def visit_all():
        session = ProtocolSession(base_url, timeout=60)
        await session.open()
        try:
            return [await session.visit(page) for page in pages], session
        finally:
            await session.close()

    return run_coroutine(visit_all())


def test_the_client_runs_the_pages_it_asks_for_and_fetches_their_images(fixture_server):
    base_url, _ = fixture_server
    views, session = walk(base_url, ["gallery", "table", "", "start", "gallery"])
    assert [view.error for view in views] == [None] * 5
    assert all(view.ran_expected_page for view in views)
    # Each page ran its own script; the hidden alias (/start) clicks as its visible twin, the default page ("").
    assert len({view.ran_page_hash for view in views[:3]}) == 3
    assert views[3].ran_page_hash == views[2].ran_page_hash
    gallery = views[0]
    assert len(gallery.media_urls) == 3 and gallery.media_bytes > 0
    assert views[4].media_bytes == 0  # the browser cache: already fetched by this tab
    assert set(session.page_hashes) >= {"", "start", "gallery", "table", "broken"}


def test_a_page_that_raises_is_an_error_and_an_unknown_page_too(fixture_server):
    base_url, _ = fixture_server
    views, _ = walk(base_url, ["", "broken", "no-such-page"])
    assert views[0].error is None
    assert "exception shown: ValueError" in views[1].error and "on purpose" in views[1].error
    assert views[2].error is not None


def test_a_scenario_against_the_fixture_server_counts_views_cpu_and_memory(fixture_server):
    base_url, process_id = fixture_server
    settings = argparse.Namespace(pages=("", "gallery", "table"), seed=1, timeout=60.0, ramp_seconds=0.2,
                                  seconds=2.0, verbose=False)
    result = run_coroutine(run_scenario(base_url, [process_id], Scenario(2, 0.0), settings))
    assert len(result.views) >= 4 and not result.errors
    assert {view.page for view in result.views} <= {"", "gallery", "table"}
    assert result.server_cpu_seconds > 0 and result.memory_mb["peak"] > 10


def test_a_short_soak_measures_views_and_memory_from_start_to_end(fixture_server):
    base_url, process_id = fixture_server
    settings = argparse.Namespace(pages=("", "gallery", "table"), seed=2, timeout=60.0, ramp_seconds=0.2,
                                  verbose=False, soak=0.05, soak_sessions=3, soak_think=0.1, soak_reconnect_seconds=0.1)
    result = run_coroutine(soak(base_url, [process_id], settings))
    assert len(result.views) >= 3 and not result.errors
    assert {"start", "peak", "end", "after reconnect window"} <= set(result.memory_mb)
    assert result.memory_growth() == pytest.approx(result.memory_mb["end"] / result.memory_mb["start"] - 1)


def test_settle_waits_for_a_busy_process_to_go_quiet():
    busy = subprocess.Popen([sys.executable, "-c", "import time\nend = time.time() + 4\nwhile time.time() < end: pass"])
    try:
        waited, quiet = run_coroutine(settle([busy.pid], timeout=30.0))
    finally:
        busy.wait()
    assert quiet and waited >= 4.0
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        waited, quiet = run_coroutine(settle([sleeper.pid], timeout=30.0))
    finally:
        sleeper.kill()
    assert quiet and waited < 10.0


def test_settle_with_server_logs_waits_for_the_warmup_line(tmp_path):
    from serving.warmup import FINISHED_LINE_PREFIX

    log = tmp_path / "streamlit.log"
    log.write_text("starting\n")
    waited, settled = run_coroutine(settle([], timeout=1.5, log_paths=[log]))
    assert not settled and waited >= 1.5
    log.write_text(f"starting\n{FINISHED_LINE_PREFIX}: 3 of 3 models ready, 0 refused, in 4.0 s\n")
    waited, settled = run_coroutine(settle([], timeout=30.0, log_paths=[log]))
    assert settled and waited < 1.0


def test_memory_growth_is_end_over_start():
    result = ScenarioResult(Scenario(30, 5.0), "soak",
                            memory_mb={"start": 1000.0, "end": 1250.0, "after reconnect window": 1050.0})
    assert result.memory_growth() == pytest.approx(0.25)
    assert result.memory_growth("after reconnect window") == pytest.approx(0.05)
    assert ScenarioResult(Scenario(30, 5.0), "soak").memory_growth() is None


def test_scenarios_parse_and_refuse_bad_text():
    assert Scenario.parse("30:5") == Scenario(30, 5.0)
    assert Scenario.parse("10:0").is_target and not Scenario.parse("5:0").is_target
    for bad in ("30", "a:b", "0:1", "3:-1"):
        with pytest.raises(ValueError, match="scenario"):
            Scenario.parse(bad)


def test_target_needs_p95_under_two_seconds_and_no_error():
    fast = ScenarioResult(Scenario(10, 0.0), views=[View("home", seconds=0.5) for _ in range(20)])
    assert fast.meets_target
    slow = ScenarioResult(Scenario(10, 0.0), views=[View("home", seconds=3.0) for _ in range(20)])
    assert not slow.meets_target
    failed = ScenarioResult(Scenario(10, 0.0), views=[*fast.views, View("home", error="boom")])
    assert not failed.meets_target


def test_percentile_interpolates_and_handles_no_values():
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert math.isnan(percentile([], 50))
    with pytest.raises(ValueError, match="between 0 and 100"):
        percentile([1.0], 101)


def test_next_page_is_always_another_page_from_the_list():
    rng = random.Random(0)
    visited = [choose_next_page(rng, "curves", ("overview", "curves", "classify")) for _ in range(50)]
    assert set(visited) == {"overview", "classify"}
    with pytest.raises(ValueError, match="must not be empty"):
        choose_next_page(rng, None, ())


def test_arguments_refuse_bad_values(capsys):
    settings = parse_arguments(["--sessions", "7", "--think-seconds", "2"])
    assert settings.scenarios == [Scenario(7, 2.0)]
    assert parse_arguments([]).scenarios[-1] == Scenario(30, 5.0)
    for bad in (["--scenarios", "x"], ["--seconds", "0"], ["--pages", "nowhere"], ["--soak", "-1"],
                ["--settle-timeout", "-1"], ["--soak-reconnect-seconds", "-5"]):
        with pytest.raises(SystemExit):
            parse_arguments(bad)
    assert "scenario" in capsys.readouterr().err


def test_websocket_url_follows_the_scheme():
    assert websocket_url("http://127.0.0.1:8501") == "ws://127.0.0.1:8501/_stcore/stream"
    assert websocket_url("https://lab.example/app/") == "wss://lab.example/app/_stcore/stream"


def test_cpu_meter_keeps_the_work_of_a_process_that_exited():
    worker = subprocess.Popen([sys.executable, "-c", "import time\nend = time.process_time() + 0.3\n"
                               "while time.process_time() < end: pass\nimport sys; sys.stdin.read()"],
                              stdin=subprocess.PIPE)
    meter = CpuMeter()
    try:
        deadline = time.monotonic() + 30
        while meter.sample({worker.pid}) < 0.25 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        worker.communicate(b"")
    used = meter.sample({worker.pid})
    assert used >= 0.25
    assert meter.sample({worker.pid, 2**22 + 12345}) == used
