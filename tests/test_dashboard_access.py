"""dashboard/access.py (who may write) on literals, the frame and pages under AppTest, and the launchers' options.

The same refusals against real servers in Chromium: tests/test_browser_access.py.
"""

from __future__ import annotations

import subprocess

import pytest

from dashboard.access import (ADMIN_TOKEN_ENV, LISTEN_ADDRESS_ENV, READ_ONLY_ENV, WRITES_OFF, WRITES_OPEN,
                              WRITES_TOKEN, access_from_environment, check_settings, is_loopback, parse_flag,
                              token_matches)
from dashboard.launch import REPO_ROOT
from dashboard.serve import main as serve_main
from dashboard.serve import parse_arguments, with_listen_address
from tests.app_pages import all_text, run_page

TOKEN = "0123456789abcdef-token"


@pytest.mark.parametrize("address, loopback", [
    ("127.0.0.1", True), ("127.8.0.3", True), ("::1", True), ("[::1]", True), ("localhost", True),
    ("0.0.0.0", False), ("::", False), ("192.168.1.20", False), ("", False), (None, False), ("lab.example.org", False),
])
def test_only_loopback_addresses_count_as_this_machine(address, loopback):
    assert is_loopback(address) is loopback


def test_writes_are_open_on_loopback_token_locked_in_public_and_off_when_read_only():
    assert access_from_environment({}, "127.0.0.1").writes == WRITES_OPEN
    assert access_from_environment({}, "0.0.0.0").writes == WRITES_OFF
    assert access_from_environment({ADMIN_TOKEN_ENV: TOKEN}, "0.0.0.0").writes == WRITES_TOKEN
    for address in ("127.0.0.1", "0.0.0.0"):
        assert access_from_environment({READ_ONLY_ENV: "1", ADMIN_TOKEN_ENV: TOKEN}, address).writes == WRITES_OFF
    # Behind the launcher's nginx, Streamlit listens on loopback; the address visitors reach decides.
    assert access_from_environment({LISTEN_ADDRESS_ENV: "0.0.0.0"}, "127.0.0.1").writes == WRITES_OFF


def test_only_the_right_token_unlocks_a_public_server():
    access = access_from_environment({ADMIN_TOKEN_ENV: f"  {TOKEN}\n"}, "0.0.0.0")
    assert access.may_write(TOKEN)
    assert not access.may_write(TOKEN[:-1] + "X")
    assert not access.may_write("")
    assert not access.may_write(None)
    assert access_from_environment({}, "127.0.0.1").may_write(None)
    assert not access_from_environment({READ_ONLY_ENV: "yes"}, "127.0.0.1").may_write(TOKEN)
    assert not token_matches(TOKEN, None) and not token_matches(None, None)
    assert TOKEN not in repr(access)  # never in a log line


def test_each_refusal_says_why_and_how_to_turn_writing_on():
    read_only = access_from_environment({READ_ONLY_ENV: "1"}, "127.0.0.1")
    assert "read-only" in read_only.refusal("Add a model") and "--read-only" in read_only.refusal("Add a model")
    assert "Read-only" in read_only.sidebar_notice()
    public = access_from_environment({}, "0.0.0.0")
    assert "LAB_ADMIN_TOKEN" in public.refusal("Add a model") and "restarts" in public.refusal("Add a model")
    assert "Add a model is off" in public.sidebar_notice()
    locked = access_from_environment({ADMIN_TOKEN_ENV: TOKEN}, "0.0.0.0")
    assert "Admin" in locked.refusal("Add a model") and locked.sidebar_notice() is None
    assert access_from_environment({}, "127.0.0.1").sidebar_notice() is None


def test_settings_that_cannot_be_read_fail_closed_and_the_launcher_refuses_them(capsys):
    assert parse_flag(READ_ONLY_ENV, "TRUE") and not parse_flag(READ_ONLY_ENV, "0") and not parse_flag(READ_ONLY_ENV, None)
    with pytest.raises(ValueError, match="neither on nor off"):
        check_settings({READ_ONLY_ENV: "maybe"})
    with pytest.raises(ValueError, match="at least 16"):
        check_settings({ADMIN_TOKEN_ENV: "short"})
    broken = access_from_environment({READ_ONLY_ENV: "maybe"}, "127.0.0.1")
    assert broken.read_only and "neither on nor off" in broken.refusal("Add a model")
    assert access_from_environment({ADMIN_TOKEN_ENV: "short"}, "0.0.0.0").writes == WRITES_OFF


def test_the_launcher_refuses_a_short_token_before_starting(monkeypatch, capsys):
    monkeypatch.setenv(ADMIN_TOKEN_ENV, "short")
    assert serve_main(["--workers", "1", "--port", "1"]) == 2
    assert "Not started" in capsys.readouterr().err


def test_the_launcher_tells_every_streamlit_process_where_visitors_reach_it():
    assert with_listen_address({}, "0.0.0.0") == {LISTEN_ADDRESS_ENV: "0.0.0.0"}
    assert with_listen_address({}, "127.0.0.1") == {LISTEN_ADDRESS_ENV: "127.0.0.1"}
    # An operator's own proxy in front of a loopback server: their value stands; a public address always wins.
    assert with_listen_address({LISTEN_ADDRESS_ENV: "10.0.0.5"}, "127.0.0.1") == {LISTEN_ADDRESS_ENV: "10.0.0.5"}
    assert with_listen_address({LISTEN_ADDRESS_ENV: "127.0.0.1"}, "0.0.0.0") == {LISTEN_ADDRESS_ENV: "0.0.0.0"}


def test_read_only_is_an_option_of_serve_make_serve_and_the_demo():
    assert parse_arguments(["--read-only"]).read_only and not parse_arguments([]).read_only
    made = subprocess.run(["make", "--no-print-directory", "-n", "serve", "READ_ONLY=1"], cwd=REPO_ROOT, capture_output=True, text=True)
    assert "--read-only" in made.stdout.splitlines()[-1]
    made = subprocess.run(["make", "--no-print-directory", "-n", "serve", "READ_ONLY=0"], cwd=REPO_ROOT, capture_output=True, text=True)
    assert "--read-only" not in made.stdout.splitlines()[-1]
    demo = subprocess.run([str(REPO_ROOT / ".venv/bin/python"), "-m", "lab_demo", "--help"], cwd=REPO_ROOT,
                          capture_output=True, text=True)
    assert "--read-only" in demo.stdout


def test_a_read_only_frame_hides_add_model_and_its_page_refuses_before_any_widget(app_env, monkeypatch):
    monkeypatch.setenv(READ_ONLY_ENV, "1")
    app = run_page("add_model")
    assert not app.exception
    assert "this dashboard is read-only" in all_text(app)
    assert not app.get("file_uploader") and not app.button
    assert any("Read-only dashboard" in info.value for info in app.sidebar.info)


def test_a_public_server_shows_add_model_only_to_a_session_with_the_token(app_env, monkeypatch):
    monkeypatch.setenv(LISTEN_ADDRESS_ENV, "0.0.0.0")
    monkeypatch.setenv(ADMIN_TOKEN_ENV, TOKEN)
    locked = run_page("add_model")
    assert not locked.exception and "needs the admin token" in all_text(locked) and not locked.get("file_uploader")
    unlocked = run_page("add_model", admin_token=TOKEN)
    assert not unlocked.exception and unlocked.get("file_uploader")
