"""Every dashboard page with a run imported without a history, under AppTest.

The fixture is the usual demo artifacts folder plus a tiny Keras model imported
by the real importer (``training.importer.import_model``, no ``--history``),
compiled with a float32 learning rate of 0.05 so the card's rounding shows.
Curves must say the run has no curves; Compare, Failures and Report work from
its predictions; the Overview's model card says where it came from and leaves
out what the file did not record.
"""

from __future__ import annotations

import pytest

from tests.app_pages import all_text, run_page

IMPORTED = "imported-notebook"
PAGES = ("overview", "curves", "confusion", "misclassified", "compare", "failures", "report", "classify", "data",
         "add_model")


@pytest.fixture(scope="module")
def imported_lab(fixture_folders):
    """The demo runs plus ``IMPORTED``: a tiny model imported from a .keras file with preprocessing ``unit``."""
    import keras

    from training.importer import import_model
    from tests.factories import tiny_model

    artifacts, cifar = fixture_folders
    model = keras.models.clone_model(tiny_model())
    model.set_weights(tiny_model().get_weights())
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="categorical_crossentropy")
    model_file = artifacts.parent / "notebook.keras"
    model.save(model_file)
    import_model(model_file, IMPORTED, "unit", artifacts_dir=artifacts, data_dir=cifar, progress=False)
    return artifacts, cifar


@pytest.fixture
def lab_env(imported_lab, app_env, monkeypatch):
    """``app_env`` (the dashboard pointed at the fixture folders) once the imported run is in them."""
    monkeypatch.setenv("DASHBOARD_WARMUP", "0")  # AppTest reruns the frame; no background TensorFlow here
    return app_env


def open_with_imported_run(page: str, **session):
    """``page`` with the imported run as focus, compared with a lab run (A = imported, B = the lab run)."""
    return run_page(page, run=IMPORTED, runs=[IMPORTED, "simple-cnn-a"], card_run=IMPORTED,
                    compare_a=IMPORTED, compare_b="simple-cnn-a", **session)


@pytest.mark.parametrize("page", PAGES)
def test_every_page_opens_with_an_imported_run_without_history(lab_env, page):
    app = open_with_imported_run(page)
    assert not app.exception, app.exception


def test_model_card_says_where_the_run_came_from_and_leaves_out_what_the_file_did_not_say(lab_env):
    from runstore import read_run_record

    record = read_run_record(lab_env / "runs" / IMPORTED)
    assert record["train_seconds"] is None and record["best_epoch"] is None  # what the file did not say
    text = all_text(open_with_imported_run("overview"))
    assert f"**Source:** imported from notebook.keras (SHA-256 {record['source_sha256'][:12]}…)" in text
    assert "**Preprocessing:** `unit`: pixels / 255, to 0-1" in text
    assert "**Optimizer:** adam at learning rate 0.05\n" in text + "\n"  # a float32 0.05, not 0.05000000074505806
    assert "**Curves:** no curves: imported without a history" in text
    assert "Best epoch" not in text and "Early stopping did not fire" not in text


def test_model_card_of_a_lab_run_keeps_its_callbacks_events(lab_env):
    text = all_text(run_page("overview", card_run="simple-cnn-a"))
    assert "**Source:** trained by the lab (python -m training)" in text
    assert "**Preprocessing:** `raw`: 0-255 RGB pixels as they are" in text
    assert "Best epoch:" in text and "Early stopping ended training after epoch 5." in text


def test_curves_say_the_imported_run_has_no_curves(lab_env):
    app = open_with_imported_run("curves")
    text = all_text(app)
    assert f"{IMPORTED}: no curves: imported without a history" in text
    assert "No finished epoch yet" not in text
    assert len(app.get("plotly_chart")) >= 2  # the lab run's curves are still drawn

    alone = run_page("curves", run=IMPORTED, runs=[IMPORTED])
    assert not alone.exception
    assert "None of the chosen runs has curves" in all_text(alone)


def test_compare_and_failures_work_from_the_imported_runs_predictions(lab_env):
    compare = all_text(open_with_imported_run("compare"))
    assert "Both runs are judged on the same 200 test images" in compare
    failures = all_text(open_with_imported_run("failures"))
    assert "test images are wrong in at least 2 of 2 runs" in failures


def test_report_builds_with_the_imported_run(lab_env):
    app = open_with_imported_run("report", report_runs=[IMPORTED, "simple-cnn-a"])
    app.button(key="build_report").click().run()
    assert not app.exception, app.exception
    assert f"Report ready for 2 run(s): {IMPORTED}, simple-cnn-a" in all_text(app) or \
        f"Report ready for 2 run(s): simple-cnn-a, {IMPORTED}" in all_text(app)
    html_text = app.session_state["report_files"]["files"]["html"].decode("utf-8")
    assert IMPORTED in html_text
