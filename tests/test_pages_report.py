"""The Report page under AppTest: building the report and offering the three downloads."""

from __future__ import annotations


from tests.app_pages import all_text, run_page


def test_report_page_builds_the_files(app_env):
    app = run_page("report")
    assert not app.exception, app.exception
    assert "Press **Build report**" in all_text(app)
    app.text_area(key="report_notes").set_value("Ship <b>vgg</b>?\nSecond line.").run()
    app.button(key="build_report").click().run()
    assert not app.exception, app.exception
    assert "Report ready for 2 run(s)" in all_text(app)
    assert {button.key for button in app.get("download_button")} >= {"download_report", "download_leaderboard", "download_per_class"}
    files = app.session_state["report_files"]["files"]
    html_text = files["html"].decode("utf-8")
    assert "Ship &lt;b&gt;vgg&lt;/b&gt;?\nSecond line." in html_text
    assert "<b>vgg</b>" not in html_text
    assert files["leaderboard"].decode().startswith("run,status,model")
    assert files["per_class"].decode().startswith("run,class,precision,recall,f1,support")


def test_report_page_without_finished_runs(tmp_path, monkeypatch):
    from tests.factories import make_run

    make_run(tmp_path, "live", status="running")
    monkeypatch.setenv("ARTIFACTS_DIR", str(tmp_path))
    app = run_page("report")
    assert not app.exception
    assert "nothing to report" in all_text(app)


def test_report_page_prints_the_pdf_beside_the_html(app_env, chromium_path, monkeypatch):
    monkeypatch.setenv("CHROMIUM", chromium_path)
    app = run_page("report")
    app.button(key="build_report").click().run()
    assert "download_report_pdf" not in {button.key for button in app.get("download_button")}
    app.button(key="make_pdf").click().run(timeout=120)
    assert not app.exception, app.exception
    assert "download_report_pdf" in {button.key for button in app.get("download_button")}
    assert app.session_state["report_files"]["files"]["pdf"].startswith(b"%PDF-")


def test_report_page_without_chromium_says_how_to_install_it(app_env, tmp_path, monkeypatch):
    for variable in ("CHROMIUM", "CHROMIUM_PATH"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("PLAYWRIGHT_BROWSERS_PATH", str(tmp_path))
    app = run_page("report")
    app.button(key="build_report").click().run()
    app.button(key="make_pdf").click().run(timeout=120)
    assert not app.exception, app.exception
    assert "No PDF: Chromium is not installed" in all_text(app) and "apt-get install chromium" in all_text(app)
    assert "download_report" in {button.key for button in app.get("download_button")}
