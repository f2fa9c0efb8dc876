"""dashboard/serve.py: several real Streamlit processes behind a real nginx, one browser session per process.

A tiny fixture app (a page of images, whose ``/media`` files live in one
process's memory) is served by 2 backends. nginx's access log names the backend
of every request (``$upstream_addr``) and the session cookie, so the tests read
where each request of a session went. Skipped without nginx, unless
``REQUIRE_NGINX=1`` (set by ``.ci/run``, which installs it).
"""

import asyncio
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
import urllib.request
from collections import defaultdict
from pathlib import Path

import pytest

from bench.load import parse_arguments, servers_to_measure
from bench.protocol_client import ProtocolSession, cookie_header, http_get, read_set_cookies
from dashboard.launch import REPO_ROOT, free_port
from dashboard.serve import find_nginx, main, render_nginx_config, serve_workers
from tests.test_load_bench import run_coroutine

pytestmark = pytest.mark.slow

FIXTURE_APP = {
    "app.py": """
        import streamlit as st
        st.navigation([st.Page("views/home.py", title="Home", url_path="home", default=True),
                       st.Page("views/gallery.py", title="Gallery", url_path="gallery")]).run()
        """,
    "views/home.py": """
        import streamlit as st
        st.title("Home")
        """,
    "views/gallery.py": """
        import os
        import numpy as np
        import streamlit as st
        st.title("Gallery")
        # Different pixels per process, so each backend holds its own media files.
        rng = np.random.default_rng(os.getpid())
        st.image([rng.integers(0, 255, (16, 16, 3), dtype=np.uint8) for _ in range(3)], width=32)
        """,
}
# One access-log line (log_format "lab" in dashboard/nginx.conf.template).
ACCESS_LINE = re.compile(r'"(?P<method>\S+) (?P<path>\S+) [^"]*" (?P<status>\d+) (?P<upstream>\S+) '
                         r'session=(?P<session>\S+)')


@pytest.fixture(scope="module")
def nginx():
    """The nginx executable, or a skip (a failure when REQUIRE_NGINX=1)."""
    found = find_nginx()
    if found is None:
        if os.environ.get("REQUIRE_NGINX") == "1":
            pytest.fail("REQUIRE_NGINX=1 but nginx is not installed (apt-get install nginx-light)")
        pytest.skip("nginx is not installed (apt-get install nginx-light); REQUIRE_NGINX=1 makes this a failure")
    return found


@pytest.fixture(scope="module")
def fixture_app(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("serve-fixture")
    for name, source in FIXTURE_APP.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source))
    return root / "app.py"


@pytest.fixture(scope="module")
def pool(nginx, fixture_app, tmp_path_factory):
    """Two real Streamlit backends of the fixture app behind a real nginx."""
    with serve_workers(2, tmp_path_factory.mktemp("serve-runtime"), app=fixture_app,
                       checkout=fixture_app.parent) as running:
        yield running


def requests_by_session(access_log: Path) -> dict[str, list[dict]]:
    """Every proxied request in nginx's access log, grouped by the session cookie it was routed by."""
    found = defaultdict(list)
    for line in access_log.read_text().splitlines():
        match = ACCESS_LINE.search(line)
        if match:
            found[match["session"]].append(match.groupdict())
    return found


def wait_for_log(access_log: Path, sessions: list[str], path_prefix: str, timeout: float = 15.0) -> dict:
    """The access log once each session has a request under ``path_prefix`` (a websocket is logged when it closes)."""
    deadline = time.monotonic() + timeout
    while True:
        logged = requests_by_session(access_log)
        logged_all = all(any(r["path"].startswith(path_prefix) for r in logged[s]) for s in sessions)
        if logged_all or time.monotonic() > deadline:
            return logged
        time.sleep(0.2)


def test_each_session_keeps_one_backend_for_its_page_websocket_and_images(pool):
    async def browse():
        sessions = [ProtocolSession(pool.base_url, timeout=60) for _ in range(6)]
        await asyncio.gather(*(session.open() for session in sessions))
        try:
            views = await asyncio.gather(*(session.visit("gallery") for session in sessions))
            views += await asyncio.gather(*(session.visit("") for session in sessions))  # the default page
        finally:
            await asyncio.gather(*(session.close() for session in sessions))
        return sessions, views

    sessions, views = run_coroutine(browse())
    assert [view.error for view in views] == [None] * len(views)
    assert all(len(view.media_urls) == 3 and view.media_bytes > 0 for view in views[:6])
    cookies = [session.cookies["labsession"] for session in sessions]
    assert len(set(cookies)) == 6  # every tab got a session of its own
    logged = wait_for_log(pool.access_log, cookies, "/_stcore/stream")
    backend_addresses = {backend.base_url.removeprefix("http://") for backend in pool.backends}
    for cookie in cookies:
        requests = logged[cookie]
        paths = [request["path"] for request in requests]
        assert "/" in paths and "/_stcore/stream" in paths and sum(p.startswith("/media/") for p in paths) == 3
        upstreams = {request["upstream"] for request in requests}
        assert len(upstreams) == 1 and upstreams <= backend_addresses, requests


def test_a_sessions_images_are_found_only_on_its_own_backend(pool):
    """The control: the same media URL asked with another backend's cookie is missing there (so stickiness matters)."""
    async def gallery_and_other_backend_cookie():
        session = ProtocolSession(pool.base_url, timeout=60)
        await session.open()
        try:
            view = await session.visit("gallery")
        finally:
            await session.close()
        own = session.cookies["labsession"]
        own_backend = requests_by_session(pool.access_log)[own][0]["upstream"]
        for attempt in range(64):  # fresh cookies until one lands on the other backend
            jar = {}
            await http_get(pool.base_url, "/_stcore/health", 30, jar)
            if requests_by_session(pool.access_log)[jar["labsession"]][0]["upstream"] != own_backend:
                break
        statuses = {}
        for name, cookies in (("own", {"labsession": own}), ("other", jar)):
            statuses[name] = [(await http_get(pool.base_url, url, 30, dict(cookies)))[0] for url in view.media_urls]
        return view, statuses

    view, statuses = run_coroutine(gallery_and_other_backend_cookie())
    assert view.error is None and len(view.media_urls) == 3
    assert statuses["own"] == [200, 200, 200]
    assert statuses["other"] == [404, 404, 404]


def test_browsers_without_a_cookie_are_spread_over_both_backends(pool):
    async def fresh_visits():
        jars = [{} for _ in range(40)]
        for jar in jars:
            status, _ = await http_get(pool.base_url, "/_stcore/health", 30, jar)
            assert status == 200
        return [jar["labsession"] for jar in jars]

    cookies = run_coroutine(fresh_visits())
    logged = requests_by_session(pool.access_log)
    upstreams = [logged[cookie][0]["upstream"] for cookie in cookies]
    # A random id per browser: 40 browsers all on one of 2 backends would happen once in 2**39 runs.
    assert set(upstreams) == {backend.base_url.removeprefix("http://") for backend in pool.backends}
    assert min(upstreams.count(u) for u in set(upstreams)) >= 5


def test_the_rendered_configuration_is_valid_nginx(nginx, tmp_path):
    config = render_nginx_config(tmp_path, "::", 8600, [9001, 9002, 9003], upload_megabytes=200)
    assert "listen [::]:8600;" in config and "client_max_body_size 200m;" in config
    assert [line.strip() for line in config.splitlines() if line.strip().startswith("server 127")] == [
        "server 127.0.0.1:9001;", "server 127.0.0.1:9002;", "server 127.0.0.1:9003;"]
    (tmp_path / "nginx.conf").write_text(config)
    check = subprocess.run([nginx, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"),
                            "-e", str(tmp_path / "error.log")], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    with pytest.raises(ValueError, match="at least one backend"):
        render_nginx_config(tmp_path, "127.0.0.1", 8600, [], upload_megabytes=200)


def test_stopping_the_launcher_stops_nginx_and_every_streamlit_process(nginx, fixture_app, tmp_path):
    import psutil

    port = free_port()
    with open(tmp_path / "launcher.log", "wb") as log:
        launcher = subprocess.Popen([sys.executable, "-m", "dashboard.serve", "--workers", "2", "--port", str(port),
                                     "--app", str(fixture_app), "--runtime-dir", str(tmp_path / "runtime")],
                                    cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT)
    try:
        # Ready when the launcher says so: every backend and nginx answer by then.
        deadline = time.monotonic() + 120
        while "Dashboard:" not in (tmp_path / "launcher.log").read_text():
            assert launcher.poll() is None and time.monotonic() < deadline, (tmp_path / "launcher.log").read_text()
            time.sleep(0.5)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=10) as answer:
            assert answer.status == 200
        children = psutil.Process(launcher.pid).children(recursive=True)
        names = sorted("nginx" if "nginx" in " ".join(c.cmdline()) else "streamlit" for c in children)
        assert names == ["nginx", "nginx", "streamlit", "streamlit"]  # nginx's master and worker, two backends
        launcher.send_signal(signal.SIGTERM)
        assert launcher.wait(timeout=60) == 0
        gone, alive = psutil.wait_procs(children, timeout=10)
        assert alive == [], [process.cmdline() for process in alive]
        assert "Stopped nginx and the Streamlit processes" in (tmp_path / "launcher.log").read_text()
    finally:
        if launcher.poll() is None:
            launcher.kill()
            launcher.wait()


def test_the_client_reads_set_cookie_headers_as_a_browser_keeps_them():
    head = (b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
            b"set-cookie: _streamlit_xsrf=2|ab|cd; Path=/; SameSite=Lax\r\n"
            b"Set-Cookie: labsession=0f3a; Path=/; HttpOnly; SameSite=Lax")
    jar = read_set_cookies(head)
    assert jar == {"_streamlit_xsrf": "2|ab|cd", "labsession": "0f3a"}
    assert cookie_header(jar) == "_streamlit_xsrf=2|ab|cd; labsession=0f3a"
    assert read_set_cookies(b"HTTP/1.1 200 OK\r\nSet-Cookie: broken") == {}


def test_load_benchmark_runs_one_process_then_n_behind_nginx(nginx):
    settings = parse_arguments(["--workers", "3", "--scenarios", "10:0"])
    assert servers_to_measure(settings) == [("1 process", None, 1), ("3 processes", None, 3)]
    assert servers_to_measure(parse_arguments([])) == [("this", None, 1)]
    for bad in (["--workers", "0"], ["--workers", "2", "--url", "http://127.0.0.1:8501"]):
        with pytest.raises(SystemExit):
            parse_arguments(bad)


def test_an_upload_larger_than_nginxs_default_reaches_streamlit(pool):
    """nginx refuses bodies over 1 MB unless told otherwise; a model upload is up to Streamlit's 200 MB."""
    import http.client

    host, port = pool.base_url.removeprefix("http://").rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=60)
    body = b"\0" * (3 * 1024 * 1024)
    connection.request("PUT", "/_stcore/upload_file/no-such-session/no-such-file", body=body,
                       headers={"Cookie": "labsession=upload-check", "Content-Type": "application/octet-stream"})
    status = connection.getresponse().status
    connection.close()
    logged = wait_for_log(pool.access_log, ["upload-check"], "/_stcore/upload_file")["upload-check"]
    # Streamlit itself answers (no session, no XSRF token: refused there), not nginx's 413.
    assert status != 413 and logged[0]["status"] == str(status)
    assert logged[0]["upstream"] in {backend.base_url.removeprefix("http://") for backend in pool.backends}


def test_a_port_in_use_is_refused_before_anything_starts(capsys):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["--workers", "2", "--port", str(port), "--address", "127.0.0.1"]) == 1
    assert f"Port {port} on 127.0.0.1 is in use" in capsys.readouterr().err
