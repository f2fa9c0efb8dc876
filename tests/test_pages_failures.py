"""The Failures page under AppTest: hardest images and likely label errors from fixture runs."""

from __future__ import annotations

import pytest

from tests.app_pages import all_text, run_page
from tests.factories import make_run


@pytest.fixture(scope="module")
def fixture_folders(fixture_folders):
    """The shared fixture runs plus a third complete one, so "most runs" means two of three."""
    artifacts, cifar = fixture_folders
    make_run(artifacts, "third-run", seed=7)
    return artifacts, cifar


def test_failures_page_shows_hardest_images_and_label_suspects(app_env):
    app = run_page("failures")
    assert not app.exception, app.exception
    text = all_text(app)
    assert "Where models fail together" in text
    assert "test images are wrong in at least 2 of 3 runs" in text
    assert "runs say the same other class" not in text  # lazy tabs: the closed one did not run
    assert len(app.image) >= 1
    app = run_page("failures", failures_view="Likely label errors")
    assert not app.exception, app.exception
    assert "runs say the same other class" in all_text(app)
    # Loosening the thresholds can only find more suspects.
    app.slider(key="label_confidence").set_value(0.5).run()
    assert not app.exception
    assert "with at least 50% confidence" in all_text(app)


def test_failures_page_with_one_voting_run(app_env):
    app = run_page("failures", failure_runs=["simple-cnn-a"])
    assert not app.exception, app.exception
    text = all_text(app)
    assert "Only 1 run(s) vote" in text
    assert "of 1 runs" in text


def test_failures_page_without_test_images_falls_back_to_tables(app_env, monkeypatch, tmp_path):
    monkeypatch.setenv("CIFAR10_DIR", str(tmp_path / "missing"))
    app = run_page("failures")
    assert not app.exception, app.exception
    assert "Test images are not available" in all_text(app)
    assert len(app.dataframe) >= 1


def test_failures_page_grad_cam_for_every_voting_run(app_env):
    app = run_page("failures")
    tiles = len(app.image)
    app.toggle(key="hard_gradcam_show").set_value(True).run()
    assert not app.exception, app.exception
    assert not app.error, [error.value for error in app.error]
    assert len(app.image) == tiles + 3  # one overlay per voting run
