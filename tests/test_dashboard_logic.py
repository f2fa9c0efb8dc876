"""Pure logic behind the dashboard pages: leaderboard, galleries, images, augmentation, answers."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.answers import answers_table, majority
from analysis.augment import augment_preview
from analysis.gallery import misclassified_frame, page_bounds
from analysis.images import first_per_class, image_grid, to_display_uint8, upscale_nearest
from analysis.leaderboard import callback_events, default_focus_run, leaderboard_frame, weights_text
from analysis.loading import images_match_predictions
from runstore import list_runs
from runstore.signature import folder_signature
from tests.factories import make_run


def test_upscale_nearest_repeats_pixels_without_blending():
    image = np.array([[[0, 0, 0], [255, 255, 255]]], dtype=np.uint8)
    big = upscale_nearest(image, 3)
    assert big.shape == (3, 6, 3)
    assert set(np.unique(big)) == {0, 255}
    with pytest.raises(ValueError):
        upscale_nearest(image, 0)


def test_to_display_uint8_rounds_and_clips():
    np.testing.assert_array_equal(to_display_uint8(np.array([-3.0, 12.6, 300.0])), [0, 13, 255])


def test_image_grid_places_tiles_with_padding():
    tiles = np.stack([np.full((2, 2, 1), value, dtype=np.uint8) for value in (10, 20, 30)])
    grid = image_grid(tiles, columns=2, padding=1, background=0)
    assert grid.shape == (2 * 2 + 3, 2 * 2 + 3, 1)
    assert grid[1, 1, 0] == 10 and grid[1, 4, 0] == 20 and grid[4, 1, 0] == 30 and grid[4, 4, 0] == 0


def test_first_per_class_takes_the_first_images_and_refuses_short_classes():
    labels = np.array([1, 0, 1, 0, 0])
    np.testing.assert_array_equal(first_per_class(labels, 2, num_classes=2), [[1, 3], [0, 2]])
    with pytest.raises(ValueError, match="class 1"):
        first_per_class(labels, 3, num_classes=2)


def test_misclassified_frame_filters_and_sorts_most_confident_first():
    y_true = np.array([0, 1, 2, 0])
    probs = np.array([
        [0.9, 0.1, 0.0],   # right
        [0.6, 0.3, 0.1],   # wrong: 1 -> 0 at 0.6
        [0.1, 0.8, 0.1],   # wrong: 2 -> 1 at 0.8
        [0.3, 0.0, 0.7],   # wrong: 0 -> 2 at 0.7
    ])
    frame = misclassified_frame(y_true, probs, ["a", "b", "c"])
    assert frame["index"].tolist() == [2, 3, 1]
    assert frame.loc[0, "true"] == "c" and frame.loc[0, "predicted"] == "b"
    assert frame.loc[0, "true_probability"] == pytest.approx(0.1)
    assert misclassified_frame(y_true, probs, ["a", "b", "c"], true_classes=[0])["index"].tolist() == [3]
    assert misclassified_frame(y_true, probs, ["a", "b", "c"], predicted_classes=[0, 1])["index"].tolist() == [2, 1]


def test_page_bounds_clamp_and_count():
    assert page_bounds(3000, 24, 1).count == 125
    last = page_bounds(50, 24, 99)
    assert (last.number, last.start, last.stop) == (3, 48, 50)
    assert page_bounds(0, 24, 1).count == 1
    with pytest.raises(ValueError):
        page_bounds(10, 0, 1)


def test_augment_preview_is_seeded_and_keeps_shape():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(4, 32, 32, 3), dtype=np.uint8)
    first = augment_preview(images, seed=1)
    assert first.shape == images.shape and first.dtype == np.uint8
    np.testing.assert_array_equal(first, augment_preview(images, seed=1))
    assert not np.array_equal(first, augment_preview(images, seed=2))
    assert not np.array_equal(first, images)


def test_answers_table_and_majority():
    table = answers_table({"r1": np.array([0.1, 0.9, 0.0]), "r2": np.array([0.6, 0.3, 0.1])}, ["a", "b", "c"])
    assert table["answer"].tolist() == ["b", "a"]
    assert table.loc[1, "runner-up"] == "b (30%)"
    assert majority(["cat", "dog", "cat"]) == ("cat", 2)
    assert majority(["dog", "cat"]) == ("dog", 1)


def test_test_images_match_needs_same_labels_in_same_order():
    assert images_match_predictions(np.array([1, 2]), np.array([1, 2]))
    assert not images_match_predictions(np.array([2, 1]), np.array([1, 2]))
    assert not images_match_predictions(None, np.array([1]))


@pytest.fixture(scope="module")
def runs_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("leaderboard")
    make_run(folder, "good", seed=0, started_minutes_ago=30)
    make_run(folder, "worse", seed=4, started_minutes_ago=20, weights="imagenet", weights_note="no internet")
    make_run(folder, "live", status="running", epochs=2, started_minutes_ago=1)
    make_run(folder, "bad", status="broken", started_minutes_ago=10)
    return folder


def test_leaderboard_ranks_usable_runs_by_accuracy_and_broken_runs_last(runs_folder):
    frame = leaderboard_frame(list_runs(runs_folder))
    assert frame["run"].tolist() == ["good", "worse", "live", "bad"]
    row = frame.set_index("run").loc["worse"]
    assert row["weights"] == "ImageNet (no internet)"
    assert row["best epoch"] >= 1 and row["size (MB)"] > 0
    assert frame.set_index("run").loc["live", "status"] == "running (epoch 2 done)"
    assert "predictions.npz" in frame.set_index("run").loc["bad", "problem"]
    assert default_focus_run(list_runs(runs_folder)) == "good"


def test_folder_signature_changes_when_a_run_changes(runs_folder, tmp_path):
    before = folder_signature(runs_folder)
    assert folder_signature(runs_folder) == before
    make_run(runs_folder, "newcomer", status="failed")
    assert folder_signature(runs_folder) != before
    assert folder_signature(tmp_path) == ()


def test_weights_text_and_callback_events_in_plain_words():
    assert weights_text({"weights": "none"}) == "random init"
    events = callback_events({"status": "complete", "epochs_run": 10, "best_epoch": 6,
                              "lr_drop_epochs": [4], "early_stop_epoch": 9})
    assert events == ["Best epoch: 7 of 10; the saved model holds its weights.",
                      "Learning rate lowered at epoch 5.", "Early stopping ended training after epoch 10."]
    budgeted = {"status": "complete", "epochs_run": 5, "best_epoch": 4, "train_seconds": 871.2,
                "config": {"epochs": 6, "time_budget_seconds": 870.0}}
    assert callback_events(budgeted)[-1] == (
        "Its time budget of 870 s ended training in epoch 5 (of up to 6), with the learning rate already annealed.")
    budgeted["train_seconds"] = 400.0  # finished its planned epochs inside the budget
    assert callback_events(budgeted)[-1] == "Early stopping did not fire; training ran its planned epochs."


def test_runs_scored_on_a_test_prefix_are_aligned_on_the_shared_images():
    from analysis.loading import align_on_common_test_images, images_match_predictions

    labels = np.array([3, 1, 4, 1, 5, 9])
    full = (labels, np.eye(10, dtype=np.float32)[labels])
    prefix = (labels[:4], np.full((4, 10), 0.1, dtype=np.float32))
    y_true, probs_by_run = align_on_common_test_images({"full": full, "short": prefix})
    assert y_true.tolist() == [3, 1, 4, 1]
    assert {run_id: probs.shape for run_id, probs in probs_by_run.items()} == {"full": (4, 10), "short": (4, 10)}
    assert images_match_predictions(labels, labels[:4])
    assert not images_match_predictions(labels[:3], labels[:4])
    assert not images_match_predictions(labels, np.array([3, 1, 4, 2]))


def test_runs_scored_on_different_images_are_refused_with_their_names():
    from analysis.loading import DifferentTestImages, align_on_common_test_images

    one = (np.array([0, 1, 2]), np.zeros((3, 10), dtype=np.float32))
    other = (np.array([0, 2, 2]), np.zeros((3, 10), dtype=np.float32))
    with pytest.raises(DifferentTestImages, match="a and b"):
        align_on_common_test_images({"a": one, "b": other})


def _set_test_accuracy(folder, run_id, accuracy):
    import json

    path = folder / "runs" / run_id / "run.json"
    record = json.loads(path.read_text())
    record["test_accuracy"] = accuracy
    path.write_text(json.dumps(record))


def test_default_comparison_leaves_out_finished_runs_at_chance(tmp_path):
    from analysis.answers import at_chance
    from analysis.leaderboard import default_compare_runs, selectable_runs

    make_run(tmp_path, "learned", seed=0, started_minutes_ago=30)
    make_run(tmp_path, "chance", seed=1, started_minutes_ago=20)
    make_run(tmp_path, "live", status="running", epochs=2, started_minutes_ago=1)
    _set_test_accuracy(tmp_path, "learned", 0.62)
    _set_test_accuracy(tmp_path, "chance", 0.101)
    runs = list_runs(tmp_path)
    assert at_chance({"test_accuracy": 0.101}) and not at_chance({"test_accuracy": 0.62})
    assert not at_chance({"test_accuracy": None})  # no result yet is not "at chance"
    assert default_compare_runs(runs, selectable_runs(runs), limit=6) == ["live", "learned"]
    assert default_compare_runs(runs, selectable_runs(runs), limit=1) == ["live"]
    _set_test_accuracy(tmp_path, "learned", 0.095)  # every finished run at chance: they stay
    runs = list_runs(tmp_path)
    assert default_compare_runs(runs, selectable_runs(runs), limit=6) == ["live", "chance", "learned"]
