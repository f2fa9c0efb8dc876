"""Findings sentences from synthetic groups: significant, not significant, single seed."""

from types import SimpleNamespace

from analysis.findings import difference_sentence, shared_budget_text, spread_sentence
from analysis.replicates import GroupDifference
from analysis.stats import Interval


def result(lower, upper, estimate, accuracies_a=(0.40, 0.42, 0.41), accuracies_b=(0.49, 0.50, 0.48), counted=True):
    return GroupDifference("simple_cnn-b1", "simple_cnn-b3", accuracies_a, accuracies_b, 10_000,
                           Interval(estimate, lower, upper, 0.95), counted)


def test_budget_text_states_images_epochs_and_ranges():
    def infos(*records):  # runs without a recorded images seen: no figure to add
        return [SimpleNamespace(run_id=f"run-{index}", record=record) for index, record in enumerate(records)]

    records = [{"data": {"train_images": 10_000}, "epochs_run": 4, "config": {}},
               {"data": {"train_images": 10_000}, "epochs_run": 4, "config": {"time_budget_seconds": 900}}]
    assert shared_budget_text(infos(*records), {}) == "on 10,000 training images × 4 epochs, a 900 s time budget"
    assert shared_budget_text(infos({"data": {"train_images": 2000}, "epochs_run": 1},
                                    {"data": {"train_images": 5000}, "epochs_run": 3}), {}) \
        == "on 2,000–5,000 training images × 1–3 epochs"
    assert shared_budget_text(infos({}), {}) == "at an unrecorded budget"


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


def test_budget_text_adds_images_seen_only_when_they_differ_from_a_full_pass():
    info = SimpleNamespace(run_id="short", record={"data": {"train_images": 10_000}, "epochs_run": 4, "config": {}})
    assert shared_budget_text([info], {"short": 12_000.0}) == "on 10,000 training images × 4 epochs (12,000 images seen)"
    assert shared_budget_text([info], {"short": 40_000.0}) == "on 10,000 training images × 4 epochs"
    assert shared_budget_text([info], {}) == "on 10,000 training images × 4 epochs"


def test_findings_read_no_files():
    """Analysis takes values in: the history, predictions and suite records are read by the callers."""
    import ast
    import inspect

    import analysis.findings

    tree = ast.parse(inspect.getsource(analysis.findings))
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) for alias in node.names}
    called = {node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
              for node in ast.walk(tree) if isinstance(node, ast.Call)}
    readers = {"open", "read_history", "read_predictions", "read_suite_records", "read_text", "read_bytes"}
    assert not (imported | called) & readers
