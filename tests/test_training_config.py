"""RunConfig: registry defaults, and clear rejection of unknown keys and wrong values."""

import pytest

from training.config import ConfigError, RunConfig
from training.registry import get_spec, model_names


def test_defaults_come_from_the_registry_entry():
    config = RunConfig.from_dict({"model": "resnet50v2_transfer", "run_id": "r1"})
    assert (config.optimizer, config.learning_rate, config.epochs, config.batch_size) == ("adam", 0.001, 20, 32)
    assert config.weights == "imagenet"
    assert RunConfig.from_dict({"model": "simple_cnn"}).blocks == 3
    assert RunConfig.from_dict({"model": "simple_cnn"}).run_id.startswith("simple_cnn-")


def test_integer_learning_rate_is_stored_as_float():
    assert RunConfig.from_dict({"model": "simple_cnn", "learning_rate": 1}).learning_rate == 1.0
    assert isinstance(RunConfig.from_dict({"model": "simple_cnn", "learning_rate": 1}).learning_rate, float)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"model": "simple_cnn", "epoch": 3}, "Unknown config key(s) epoch"),
        ({"model": "simple_cnn", "epochs": "3"}, "'epochs' should be int"),
        ({"model": "simple_cnn", "epochs": True}, "'epochs' should be int"),
        ({"model": "simple_cnn", "augment": 1}, "'augment' should be bool"),
        ({"model": "simple_cnn", "optimizer": "adagrad"}, "Valid optimizers: rmsprop, adam, sgd"),
        ({"model": "simple_cnn", "learning_rate": -0.1}, "learning_rate must be"),
        ({"model": "simple_cnn", "blocks": 4}, "blocks must be one of 1, 2, 3"),
        ({"model": "vgg16_bn", "blocks": 2}, "blocks applies to simple_cnn only"),
        ({"model": "simple_cnn", "weights": "imagenet"}, "takes --weights none only"),
        ({"model": "simple_cnn", "strategy": "tpu"}, "Valid strategies: default, mirrored"),
        ({"model": "simple_cnn", "run_id": "../escape"}, "Invalid run id"),
        ({"epochs": 3}, "needs 'model'"),
        ({"model": "vgg16_transfer", "weights": "none", "tta_translate": True}, "Add --no-feature-cache"),
        ({"model": "simple_cnn", "time_budget_seconds": 0}, "time_budget_seconds must be more than 0"),
        ({"model": "simple_cnn", "time_budget_seconds": "15m"}, "'time_budget_seconds' should be float or null"),
    ],
)
def test_bad_values_are_rejected_with_a_message(values, message):
    with pytest.raises(ConfigError) as caught:
        RunConfig.from_dict(values)
    assert message in str(caught.value)


def test_unknown_model_lists_the_valid_ones():
    with pytest.raises(ValueError, match="Valid models: simple_cnn"):
        RunConfig.from_dict({"model": "alexnet"})


def test_to_dict_round_trips():
    config = RunConfig.from_dict({"model": "simple_cnn", "blocks": 2, "run_id": "x"})
    assert RunConfig.from_dict(config.to_dict()) == config


@pytest.mark.parametrize("name", model_names())
def test_every_model_runs_its_recipe_unless_the_user_overrides_it(name):
    spec = get_spec(name)
    config = RunConfig.from_dict({"model": name})
    assert {key: getattr(config, key) for key in spec.defaults} == spec.defaults
    overrides = {"epochs": 2, "tta_flip": not spec.defaults.get("tta_flip", False), "label_smoothing": 0.05}
    config = RunConfig.from_dict({"model": name, **overrides})
    assert {key: getattr(config, key) for key in overrides} == overrides


def test_fast_cnn_recipe_fills_what_the_user_left_out():
    config = RunConfig.from_dict({"model": "fast_cnn"})
    assert (config.optimizer, config.learning_rate, config.epochs, config.lr_schedule, config.time_budget_seconds) == (
        "sgd", 0.2, 6, "onecycle", 885.0)
    assert config.tta_flip and config.tta_translate and config.lookahead and config.label_smoothing == 0.2
    assert RunConfig.from_dict({"model": "fast_cnn", "epochs": 1, "tta_flip": False}).tta_flip is False


def test_a_model_option_is_checked_against_the_registry_entry():
    assert RunConfig.from_dict({"model": "simple_cnn", "blocks": 1}).blocks == 1
    assert RunConfig.from_dict({"model": "vgg16_bn"}).blocks is None  # only models that take the option get a default
    with pytest.raises(ConfigError, match="blocks must be one of 1, 2, 3, got 0"):
        RunConfig.from_dict({"model": "simple_cnn", "blocks": 0})


def test_cli_run_passes_only_what_the_user_set(monkeypatch):
    from training import cli

    seen = {}
    monkeypatch.setattr("training.train.run_training", lambda config: seen.setdefault("config", config) and "folder")
    cli.main(["run", "--model", "simple_cnn", "--epochs", "2", "--run-id", "x"])
    config = seen["config"]
    assert (config.epochs, config.lr_schedule, config.label_smoothing, config.tta_flip) == (2, "plateau", 0.0, False)


def test_cli_time_budget_flags_set_or_lift_the_recipes_budget(monkeypatch):
    from training import cli

    seen = []
    monkeypatch.setattr("training.train.run_training", lambda config: seen.append(config) or "folder")
    cli.main(["run", "--model", "fast_cnn", "--run-id", "a"])
    cli.main(["run", "--model", "fast_cnn", "--run-id", "b", "--time-budget", "60"])
    cli.main(["run", "--model", "fast_cnn", "--run-id", "c", "--epochs", "10", "--no-time-budget"])
    assert [config.time_budget_seconds for config in seen] == [get_spec("fast_cnn").recipe["time_budget_seconds"], 60.0, None]
    assert seen[2].epochs == 10 and seen[2].lookahead is True
