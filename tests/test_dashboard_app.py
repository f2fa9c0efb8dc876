"""Every dashboard page runs under Streamlit's AppTest against fixture runs, without exceptions."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from runstore.augmentation import AUGMENTATION_STRENGTHS
from tests.app_pages import all_text, run_page

REAL_CIFAR = os.environ.get("CIFAR10_DIR", "")


def test_overview_lists_every_run_with_its_state(app_env):
    app = run_page(leaderboard_individual=True)  # one row per run (the default is one row per replicate group)
    assert not app.exception
    assert app.title[0].value == "Overview"
    table = app.dataframe[0].value
    assert set(table["run"]) == {"simple-cnn-a", "vgg16-transfer-b", "live-run", "failed-run", "broken-run"}
    statuses = dict(zip(table["run"], table["status"]))
    assert statuses["live-run"] == "running (epoch 2 done)"
    assert statuses["failed-run"] == "failed"
    assert statuses["broken-run"] == "broken"
    text = all_text(app)
    assert "ResourceExhaustedError" in text          # the failed run's error
    assert "predictions.npz" in text                # the broken run's reason
    assert "Model card" in text
    weights = dict(zip(table["run"], table["weights"]))
    assert weights["vgg16-transfer-b"].startswith("ImageNet (fixture: ImageNet weights were not downloadable")


def test_sidebar_picker_keeps_the_chosen_focus_run(app_env):
    app = run_page(run="vgg16-transfer-b")
    assert not app.exception
    assert app.sidebar.selectbox(key="run").value == "vgg16-transfer-b"
    assert set(app.sidebar.multiselect(key="runs").value) == {"simple-cnn-a", "vgg16-transfer-b", "live-run"}


def test_curves_page_draws_both_metrics_and_best_epochs(app_env):
    app = run_page("curves")
    assert not app.exception
    charts = app.get("plotly_chart")
    assert len(charts) == 2
    table = app.dataframe[0].value
    assert set(table["run"]) == {"simple-cnn-a", "vgg16-transfer-b", "live-run"}
    assert table["best epoch"].between(1, 5).all()
    app.slider(key="smoothing").set_value(0.6).run()
    app.radio(key="x_axis").set_value("time").run()
    app.toggle(key="log_loss").set_value(True).run()
    assert not app.exception


def test_confusion_page_shows_matrix_tables_and_cell_images(app_env):
    app = run_page("confusion", run="simple-cnn-a")
    assert not app.exception
    assert len(app.get("plotly_chart")) == 1
    per_class = app.dataframe[1].value
    assert list(per_class["class"])[:2] == ["airplane", "automobile"]
    # The most confused pair is preselected, so its images show at once.
    assert len(app.image) == 1 and len(app.image[0].value) >= 1
    app.selectbox(key="cell_true").set_value("cat").run()
    app.selectbox(key="cell_predicted").set_value("dog").run()
    assert not app.exception
    assert "of class **cat** predicted as **dog**" in all_text(app)


def test_misclassified_gallery_filters_and_pages(app_env):
    app = run_page("misclassified", run="vgg16-transfer-b")
    assert not app.exception
    assert "got" in all_text(app) and "wrong" in all_text(app)
    app.multiselect(key="wrong_true").set_value(["cat"]).run()
    assert not app.exception
    assert "match the filters" in all_text(app)


def test_classify_random_test_image_with_every_model(app_env):
    app = run_page("classify")
    assert not app.exception
    app.radio(key="classify_source").set_value("Random test image").run()
    app.radio(key="classify_scope").set_value("Every finished run").run()
    assert not app.exception, app.exception
    text = all_text(app)
    assert "**Consensus:**" in text
    assert "the weighted vote of 2 groups (2 models)" in text
    assert "Weighted vote: each replicate group's calibrated probabilities" in text
    # The fixture runs stored no validation predictions: their probabilities stay raw, and the page says so.
    assert "Raw probabilities: this run has no calibration." in text


def test_data_page_without_training_images_says_so(app_env):
    app = run_page("data")
    assert not app.exception
    assert "not available" in all_text(app)


@pytest.mark.skipif(not (Path(REAL_CIFAR) / "data_batch_1").exists(), reason="needs the real CIFAR-10 training images")
@pytest.mark.parametrize("strength", list(AUGMENTATION_STRENGTHS))
def test_data_page_previews_the_chosen_augmentation_strength(app_env, monkeypatch, strength):
    monkeypatch.setenv("CIFAR10_DIR", REAL_CIFAR)
    app = run_page("data", augment_strength=strength, data_view="After augmentation")
    assert not app.exception, app.exception
    assert app.radio[0].value == strength
    assert AUGMENTATION_STRENGTHS[strength].description in all_text(app)


def test_empty_artifacts_folder_explains_how_to_train(tmp_path, monkeypatch):
    monkeypatch.setenv("ARTIFACTS_DIR", str(tmp_path))
    for page in (None, "curves", "confusion", "misclassified", "classify"):
        app = run_page(page)
        assert not app.exception
        assert "python -m training run --model simple_cnn" in all_text(app) or "No run" in all_text(app), page
