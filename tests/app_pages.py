"""Running dashboard pages under Streamlit's AppTest: the one helper every page test uses.

Usage (with the ``app_env`` fixture of ``conftest.py`` pointing the app at fixture runs)::

    from tests.app_pages import all_text, run_page
    app = run_page("compare", runs=["a", "b"])
    assert not app.exception and "95% interval" in all_text(app)
"""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[1] / "dashboard" / "app.py")
APP_TIMEOUT = 120
TEXT_KINDS = ("markdown", "caption", "info", "warning", "error", "success", "title", "header", "subheader")


def point_dashboard_at(monkeypatch, artifacts: Path, cifar10_dir: Path | None = None) -> Path:
    """Make the app read ``artifacts`` (and the CIFAR-10 test folder ``cifar10_dir``, or none); returns ``artifacts``."""
    monkeypatch.setenv("ARTIFACTS_DIR", str(artifacts))
    if cifar10_dir is None:
        monkeypatch.delenv("CIFAR10_DIR", raising=False)
    else:
        monkeypatch.setenv("CIFAR10_DIR", str(cifar10_dir))
    return artifacts


def run_page(page: str | None = None, **session) -> AppTest:
    """Run the app (on ``dashboard/views/<page>.py``), with ``session`` values preset as if the user chose them.

    AppTest does not seed widgets from the URL (the browser test checks that),
    so the run picker's choice is set through session state here.
    """
    app = AppTest.from_file(APP, default_timeout=APP_TIMEOUT)
    for key, value in session.items():
        app.session_state[key] = value
    app.run()
    if page:
        app.switch_page(f"views/{page}.py")
        app.run()
    return app


def all_text(app: AppTest) -> str:
    """Every text element of an AppTest run, joined, for assertions on what the user reads."""
    return "\n".join(str(element.value) for kind in TEXT_KINDS for element in getattr(app, kind))
