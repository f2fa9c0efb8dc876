"""The controlled-comparison check names exactly the settings two runs or groups differ in."""

import pytest

from analysis.controlled import comparison_check, format_value, group_member_warning


def record(**changes):
    """A run record of the demo's simple_cnn config; ``changes`` replace fields, ``config``/``data`` merge."""
    config = {"model": "simple_cnn", "blocks": 1, "batch_size": 64, "epochs": 4, "lr_schedule": "plateau",
              "augment": True, "augmentation": "standard", "tta_flip": False, "label_smoothing": 0.0,
              "seed": 0, "suite": "demo"}
    data = {"source": "cifar10", "sha256": "a" * 64, "train_images": 5000, "validation_images": 1000,
            "test_images": 10000}
    config.update(changes.pop("config", {}))
    data.update(changes.pop("data", {}))
    base = {"run_id": "r0", "group": "g", "model": "simple_cnn", "optimizer": "adam", "learning_rate": 0.001,
            "weights": "none", "epochs_run": 4, "config": config, "data": data, "suite": "demo"}
    base.update(changes)
    return base


def test_identical_configs_differing_in_seed_id_suite_and_group_are_controlled():
    other = record(run_id="r9", group="h", suite="other", config={"seed": 3, "suite": "other"})
    check = comparison_check([record()], [other])
    assert check.differences == () and check.warning is None and check.table.empty
    assert "every recorded setting but the seed" in check.summary


def test_one_ordinary_setting_is_a_controlled_comparison_without_warning():
    check = comparison_check(record(), record(optimizer="sgd", run_id="r1"))
    assert [difference.setting for difference in check.differences] == ["optimizer"]
    assert check.warning is None
    assert "differ only in optimizer (adam vs sgd)" in check.summary


def test_warning_names_exactly_the_differing_settings_with_values():
    fast = record(model="fast_cnn", optimizer="sgd", config={"model": "fast_cnn"}, data={"train_images": 10000})
    check = comparison_check(record(), fast)
    assert [difference.setting for difference in check.differences] == ["model", "optimizer", "training images"]
    assert check.warning == ("Not a controlled comparison: these runs differ in model (simple_cnn vs fast_cnn), "
                             "optimizer (adam vs sgd) and training images (5,000 vs 10,000), so the test says "
                             "which is better here, not why.")
    assert check.table["setting"].tolist() == ["model", "optimizer", "training images"]
    assert check.table.columns.tolist() == ["setting", "A", "B"]


@pytest.mark.parametrize("changes, setting", [
    ({"data": {"test_images": 200}}, "test images evaluated"),
    ({"weights": "imagenet"}, "weights"),
    ({"data": {"train_images": 2000}}, "training images"),
    ({"config": {"time_budget_seconds": 900.0}}, "time budget (s)"),
])
def test_a_single_budget_test_subset_or_weights_difference_still_warns(changes, setting):
    check = comparison_check(record(), record(**changes))
    assert [difference.setting for difference in check.differences] == [setting]
    assert check.warning is not None and setting in check.warning


def test_epochs_run_is_shown_but_not_counted():
    check = comparison_check(record(), record(epochs_run=3))
    assert check.differences == () and check.warning is None
    assert check.table["setting"].tolist() == ["epochs run (an outcome, not counted)"]


def test_groups_show_varying_members_and_member_check_flags_non_replicates():
    group = [record(), record(run_id="r1", config={"seed": 1})]
    assert group_member_warning(group, "g") is None
    mixed = [record(), record(run_id="r1", learning_rate=0.01)]
    warning = group_member_warning(mixed, "g")
    assert warning.startswith("Group g is not a set of replicates") and "learning rate (0.001, 0.01)" in warning
    check = comparison_check(group, mixed)
    assert [difference.phrase() for difference in check.differences] == ["learning rate (0.001 vs varies: 0.001, 0.01)"]


def test_format_value_and_empty_side():
    assert format_value(10000) == "10,000" and format_value(None) == "none" and format_value(True) == "yes"
    assert format_value(900.0) == "900" and format_value(0.001) == "0.001"
    with pytest.raises(ValueError, match="no runs"):
        comparison_check([], [record()])
