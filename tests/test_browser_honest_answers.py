"""Classify in real Chromium on a small suite: the weighted vote with its rule and weights, calibrated answers, the warning.

The suite: a strong group of two replicates (78% and 77% on the test set, with
validation predictions, so calibrated), three weak single runs (24-30%) and one at
chance. The cat is scikit-image's ``chelsea`` photo when the package is installed.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from runstore.writer import RunRecord
from tests.browser_pages import CHART, PAGE_TIMEOUT_MS, SCREENSHOTS, assert_no_error_shown, main_text, served_runs
from tests.factories import make_run, synthetic_images
from tests.served_folders import open_page

pytestmark = pytest.mark.browser

# run id -> (group, test accuracy recorded)
RUNS = {"strong-s0": ("strong", 0.78), "strong-s1": ("strong", 0.77),
        "weak-a": ("weak-a", 0.24), "weak-b": ("weak-b", 0.26), "weak-c": ("weak-c", 0.30), "chance": ("chance", 0.10)}


def add_runs(artifacts, images, labels):
    validation = synthetic_images(300, seed=7)
    for seed, (run_id, (group, accuracy)) in enumerate(RUNS.items()):
        folder = make_run(artifacts, run_id, seed=seed if group != "strong" else seed, group=group,
                          test_images=images, test_labels=labels,
                          validation_set=validation if group == "strong" else None)
        # The accuracies a demo suite shows, whatever the tiny fixture model scored.
        RunRecord.load(folder).update(test_accuracy=accuracy)


def png(pixels: np.ndarray, image_format: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=image_format)
    return buffer.getvalue()


def cat_photo() -> bytes:
    data = pytest.importorskip("skimage.data")
    return png(data.chelsea(), "JPEG")


@pytest.fixture(scope="module")
def url(tmp_path_factory, chromium_path):
    with served_runs(tmp_path_factory.mktemp("honest"), add_runs) as base_url:
        yield base_url


def upload(page, name: str, content: bytes) -> str:
    page.locator("[data-testid=stFileUploader] input[type=file]").set_input_files(
        [{"name": name, "mimeType": "image/png", "buffer": content}])
    page.wait_for_selector(CHART, timeout=PAGE_TIMEOUT_MS)
    page.get_by_text("what ", exact=False).first.wait_for(timeout=PAGE_TIMEOUT_MS)
    page.wait_for_timeout(800)
    return main_text(page)


def test_the_consensus_weights_groups_by_accuracy_and_states_the_rule(url, page):
    open_page(page, url, "classify")
    page.get_by_text("Every finished run").click()
    text = upload(page, "chelsea.jpg", cat_photo())
    assert_no_error_shown(page)
    assert "the weighted vote of 1 group (2 models)" in text
    assert "Weighted vote: each replicate group's calibrated probabilities" in text
    assert ("4 groups left out (1 at chance, 3 more than 15 points below the best group's 77.5%: see each "
            "model's answer)") in text
    # The weights table is drawn on a canvas (its values are checked in tests/test_pages_groups.py): it is there.
    assert page.locator("[data-testid=stDataFrame]").first.is_visible()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "classify-weighted-vote.png"), full_page=True)


def test_one_model_answers_with_a_calibrated_probability(url, page):
    open_page(page, url, "classify", "?run=strong-s0")
    text = upload(page, "chelsea.jpg", cat_photo())
    assert_no_error_shown(page)
    assert "calibrated)." in text and "Calibrated on the validation images (temperature" in text
    assert "set on the validation images to flag at most 5% of such images" in text
    # Trained from scratch and well below 90%: the page says what would do better on real photos.
    assert "a transfer model started from ImageNet weights" in text
    page.screenshot(path=str(SCREENSHOTS / "classify-calibrated.png"), full_page=True)


def test_a_photo_unlike_cifar10_gets_the_warning_and_a_run_without_calibration_says_so(url, page):
    open_page(page, url, "classify", "?run=strong-s0")
    # A black square: the fixture model's answer to it is flatter than to 95% of its validation images.
    text = upload(page, "black.png", png(np.zeros((64, 64, 3), dtype=np.uint8)))
    assert "less typical than 95% of the test images for this model" in text
    assert "can only answer one of its ten classes" in text
    page.screenshot(path=str(SCREENSHOTS / "classify-unlike-cifar10.png"), full_page=True)
    open_page(page, url, "classify", "?run=weak-a")
    text = upload(page, "chelsea.jpg", cat_photo())
    assert "not calibrated)." in text and "Raw probabilities, not calibrated: this run stored no validation" in text
