"""Findings sentences from synthetic groups: significant, not significant, single seed."""

from types import SimpleNamespace

from analysis.findings import difference_sentence, shared_budget_text, spread_sentence
from analysis.replicates import GroupDifference
from analysis.stats import Interval


def result(lower, upper, estimate, accuracies_a=(0.40, 0.42, 0.41), accuracies_b=(0.49, 0.50, 0.48), counted=True):
    return GroupDifference("simple_cnn-b1", "simple_cnn-b3", accuracies_a, accuracies_b, 10_000,
                           Interval(estimate, lower, upper, 0.95), counted)


def test_budget_text_states_images_epochs_and_ranges(tmp_path):
    def infos(*records):  # run folders without a history: no images-seen figure to add
        return [SimpleNamespace(record=record, path=tmp_path / "none") for record in records]

    records = [{"data": {"train_images": 10_000}, "epochs_run": 4, "config": {}},
               {"data": {"train_images": 10_000}, "epochs_run": 4, "config": {"time_budget_seconds": 900}}]
    assert shared_budget_text(infos(*records)) == "on 10,000 training images × 4 epochs, a 900 s time budget"
    assert shared_budget_text(infos({"data": {"train_images": 2000}, "epochs_run": 1},
                                    {"data": {"train_images": 5000}, "epochs_run": 3})) \
        == "on 2,000–5,000 training images × 1–3 epochs"
    assert shared_budget_text(infos({})) == "at an unrecorded budget"


def test_significant_difference_states_estimate_interval_seeds_and_budget():
    sentence = difference_sentence(result(0.069, 0.095, 0.082), "on 10,000 training images, 4 epochs")
    assert sentence == ("simple_cnn-b3 beats simple_cnn-b1 by 8.2 points (95% interval 6.9 to 9.5; 3 seeds each) "
                        "on 10,000 training images, 4 epochs, on 10,000 test images.")


def test_a_winning_side_a_is_named_first_with_positive_numbers():
    sentence = difference_sentence(result(-0.095, -0.069, -0.082), "on 5,000 training images, 2 epochs")
    assert sentence.startswith("simple_cnn-b1 beats simple_cnn-b3 by 8.2 points (95% interval 6.9 to 9.5;")


def test_interval_covering_zero_says_no_detectable_difference_never_slightly_better():
    sentence = difference_sentence(result(-0.011, 0.019, 0.004), "on 5,000 training images, 2 epochs")
    assert sentence.startswith("No detectable difference at this budget between simple_cnn-b1 and simple_cnn-b3")
    assert "+0.4 points (95% interval −1.1 to +1.9; 3 seeds each)" in sentence
    assert "better" not in sentence


def test_single_run_side_says_seed_variation_is_unknown():
    single = result(0.03, 0.09, 0.06, accuracies_a=(0.41,), counted=False)
    sentence = difference_sentence(single, "on 5,000 training images, 2 epochs")
    assert "3 seeds of simple_cnn-b3, 1 of simple_cnn-b1" in sentence
    assert "Seed variation is unknown (simple_cnn-b1 is a single run)" in sentence
    assert "test-image sampling only" in sentence
    assert spread_sentence(single) == ("Per-seed test accuracy: simple_cnn-b1 41.0% (a single run); simple_cnn-b3 "
                                       "48.0% to 50.0% over 3 seeds (sd 1.0 points).")


def test_budget_text_reads_images_seen_again_when_the_history_changes(tmp_path):
    """Images seen are remembered per run and file times: a rewritten history is read again."""
    import os

    def write_history(images_seen, stamp):
        history = tmp_path / "history.csv"
        history.write_text(f"epoch,accuracy,loss,val_accuracy,val_loss,images_seen\n0,0.3,2.0,0.3,2.0,{images_seen}\n")
        os.utime(history, (stamp, stamp))

    info = SimpleNamespace(record={"data": {"train_images": 10_000}, "epochs_run": 4, "config": {}}, path=tmp_path)
    write_history(12_000, 1_000_000)
    assert shared_budget_text([info]) == "on 10,000 training images × 4 epochs (12,000 images seen)"
    write_history(25_000, 2_000_000)
    assert shared_budget_text([info]) == "on 10,000 training images × 4 epochs (25,000 images seen)"
