"""The command line: help, listings, the suite plan, and clear errors with exit status 2."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from training.cli import main

REPO_ROOT = Path(__file__).resolve().parents[1]


def _exit_code(argv):
    try:
        return main(argv)
    except SystemExit as exit:
        return exit.code


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "--model", "alexnet"], "Unknown model 'alexnet'. Valid models: simple_cnn"),
        (["run", "--model", "simple_cnn", "--lr", "fast"], "'fast' is not a number"),
        (["run", "--model", "simple_cnn", "--lr", "0"], "learning_rate must be a number between 0 (exclusive) and 10, got 0.0 (flag --lr)"),
        (["run", "--model", "simple_cnn", "--optimizer", "adagrad"], "Unknown optimizer 'adagrad'. Valid optimizers: rmsprop"),
        (["run", "--model", "simple_cnn", "--epochs", "0"], "epochs must be at least 1, got 0 (flag --epochs)"),
        (["run", "--model", "simple_cnn", "--reduce-lr-factor", "2"], "reduce_lr_factor must be between 0 and 1, got 2.0 (flag --reduce-lr-factor)"),
        (["run", "--model", "fast_cnn", "--blocks", "2"], "blocks applies to simple_cnn only, not fast_cnn (flag --blocks)"),
        (["run", "--model", "simple_cnn", "--weights", "imagenet"], "takes --weights none only"),
        (["run", "--model", "simple_cnn", "--run-id", "../up"], "Invalid run id"),
        (["suite", "nope", "--dry-run"], "Unknown suite 'nope'. Valid suites: demo, demo-long, study, seed"),
    ],
)
def test_bad_values_exit_2_with_a_message(argv, message, capsys):
    assert _exit_code(argv) == 2
    captured = capsys.readouterr()
    assert message in captured.err
    assert "Traceback" not in captured.err


def test_help_lists_every_command(capsys):
    assert _exit_code(["--help"]) == 0
    out = capsys.readouterr().out
    for command in ("models", "suites", "run", "suite", "evaluate"):
        assert command in out


def test_run_help_documents_the_required_flags(capsys):
    assert _exit_code(["run", "--help"]) == 0
    out = capsys.readouterr().out
    for flag in ("--model", "--optimizer", "--lr", "--epochs", "--batch-size", "--train-limit", "--seed",
                 "--weights", "--no-augment", "--run-id", "--artifacts-dir", "--data-dir", "--strategy"):
        assert flag in out


def test_every_run_config_field_but_the_suite_name_has_a_flag_with_its_default(capsys):
    import dataclasses

    from training.config import RunConfig

    assert _exit_code(["run", "--help"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    for item in dataclasses.fields(RunConfig):
        if item.name == "suite":
            continue
        flag = item.metadata["flag"] if isinstance(item.metadata["flag"], str) else "--" + item.name.replace("_", "-")
        if item.default is True:
            flag = "--no-" + flag[2:]
        assert flag in out, item.name
    assert "(default 0.5)" in out and "(default 1e-06)" in out  # reduce_lr_factor and min_learning_rate, from RunConfig


def test_run_flags_set_the_plateau_knobs(monkeypatch):
    seen = []
    monkeypatch.setattr("training.train.run_training", lambda config: seen.append(config) or "folder")
    assert main(["run", "--model", "simple_cnn", "--run-id", "p", "--reduce-lr-patience", "2", "--reduce-lr-factor", "0.25",
                 "--min-learning-rate", "1e-5", "--no-augment"]) == 0
    config = seen[0]
    assert (config.reduce_lr_patience, config.reduce_lr_factor, config.min_learning_rate, config.augment) == (2, 0.25, 1e-5, False)


def test_models_lists_the_registry(capsys):
    assert _exit_code(["models"]) == 0
    out = capsys.readouterr().out
    assert "resnet50v2_transfer" in out and "224px" in out


def test_demo_suite_dry_run_prints_the_plan(tmp_path, capsys):
    assert _exit_code(["suite", "demo", "--dry-run", "--no-estimate", "--artifacts-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for run_id in ("demo-b1-adam-s0", "demo-b3-adam-s2", "demo-b1-sgd-s1", "demo-vgg16_bn-s0", "demo-fast_cnn-s0"):
        assert run_id in out
    assert "-> train" in out
    # Without the ImageNet file in Keras' cache the transfer question is skipped, and the plan says why.
    assert "Skipped question 'What do ImageNet weights buy VGG16 over random weights?'" in out
    assert "demo-transfer-random" not in out
    assert not (tmp_path / "runs").exists()  # a dry run writes nothing
    # The questions with their groups' seeds and budgets (the time estimate: tests/test_training_plan_estimate.py).
    assert "Questions:" in out and "demo-b1-adam: 3 seed(s) [0, 1, 2], 8 x 250 images, train_images=2000" in out


def test_every_suite_entry_is_a_valid_config():
    from training.suites import get_suite, load_suites

    for name in load_suites():
        suite = get_suite(name)
        assert suite.runs
        ids = [config.run_id for config in suite.runs]
        assert len(ids) == len(set(ids)) and all(run_id.startswith(f"{name}-") for run_id in ids)


DEPTH_AND_OPTIMIZER = ("Does a deeper simple_cnn learn more", "Which optimizer trains simple_cnn best")


@pytest.mark.parametrize("name, questions, evaluations", [("demo", 6, 8), ("demo-long", 5, 8), ("study", 6, 10), ("seed", 7, 10)])
def test_the_suites_ask_controlled_questions_with_replicates_and_real_curves(name, questions, evaluations):
    from training.suites import get_suite

    suite = get_suite(name)  # validates every question: groups differ in their factor only
    groups = {config.group: [other for other in suite.runs if other.group == config.group] for config in suite.runs}
    assert len(suite.questions) == questions
    # Depth and optimizer: at least 3 seeds per group; every other question at least 2 (the demo's VGG group aside).
    for question in suite.questions:
        least = 3 if question["title"].startswith(DEPTH_AND_OPTIMIZER) else (2 if name in ("study", "seed") else 1)
        assert all(len(groups[group]) >= least for group in question["groups"]), question["title"]
    for config in suite.runs:
        # Every run evaluates often enough to draw a curve: enough epochs, or a time budget cut into short ones.
        assert config.epochs >= evaluations, config.run_id
        if name != "seed":
            assert config.epoch_images, config.run_id
            assert config.early_stopping_patience >= config.epochs, "early stopping would make budgets unequal"


@pytest.mark.parametrize("name", ["study", "seed"])
def test_the_full_data_suites_train_on_all_45000_images_with_a_learning_rate_question(name):
    from training.plan_estimate import train_images_of
    from training.suites import get_suite

    suite = get_suite(name)
    by_title = {question["title"]: question for question in suite.questions}
    depth_optimizer = [group for title, question in by_title.items() if title.startswith(DEPTH_AND_OPTIMIZER) for group in question["groups"]]
    for config in suite.runs:
        if config.group in depth_optimizer:
            assert train_images_of(config) == 45_000 and config.validation_size == 5000
            images_seen = config.epochs * (config.epoch_images and -(-config.epoch_images // config.batch_size) * config.batch_size or 45_000)
            assert images_seen >= 45_000, config.run_id
    [rates] = [question for question in suite.questions if question["factor"] == "learning_rate"]
    learning_rates = sorted({config.learning_rate for config in suite.runs if config.group in rates["groups"]})
    assert learning_rates == [0.0001, 0.001, 0.01]
    assert all(question.get("requires") == "imagenet" for question in suite.questions if question["factor"] == "weights")
    assert any(question["factor"] == "recipe" for question in suite.questions)


def test_the_study_and_seed_state_what_they_are_sized_for():
    from training.suites import get_suite

    study, seed = get_suite("study"), get_suite("seed")
    assert (study.stated_minutes, study.meant_for) == (60, "cpu")
    assert seed.meant_for == "gpu"
    recipe = [question for question in study.questions if question["factor"] == "recipe"][0]
    budgets = {config.time_budget_seconds for config in study.runs if config.group in recipe["groups"]}
    assert budgets == {300.0}


def test_evaluate_unknown_run_is_a_clear_error(tmp_path, capsys):
    assert _exit_code(["evaluate", "missing-run", "--artifacts-dir", str(tmp_path)]) == 1
    assert "No run 'missing-run'" in capsys.readouterr().err


def test_demo_serves_the_dashboard_and_trains_the_suite():
    from dashboard.launch import streamlit_command
    from lab_demo import training_command

    dashboard = streamlit_command(8600)
    assert dashboard[1:4] == ["-m", "streamlit", "run"] and dashboard[4].endswith("dashboard/app.py")
    assert dashboard[dashboard.index("--server.port") + 1] == "8600"
    assert training_command("demo", None)[1:] == ["-m", "training", "suite", "demo"]
    assert training_command("demo", "/tmp/a")[-2:] == ["--artifacts-dir", "/tmp/a"]


def _python(code_or_module_args: list[str], tmp_path) -> subprocess.CompletedProcess:
    env = {**os.environ, "ARTIFACTS_DIR": str(tmp_path)}
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)  # the CLI must quiet TensorFlow by itself
    return subprocess.run([sys.executable, *code_or_module_args], capture_output=True, text=True, env=env,
                          cwd=REPO_ROOT, timeout=300, check=False)


@pytest.mark.parametrize("argv", [["models"], ["suites"], ["suite", "demo", "--dry-run", "--no-estimate"]])
def test_listing_commands_never_import_tensorflow(argv, tmp_path):
    code = f"import sys; from training.cli import main; status = main({argv!r}); print('tensorflow' in sys.modules, status)"
    result = _python(["-c", code], tmp_path)
    assert result.stdout.splitlines()[-1] == "False 0"
    assert result.stderr == ""


@pytest.mark.slow
@pytest.mark.parametrize(
    ("argv", "error"),
    [
        (["evaluate", "missing-run"], "error: No run 'missing-run' in {runs}. List runs with: ls {runs}"),
        (["run", "--model", "simple_cnn", "--data-dir", "{runs}/no-cifar", "--run-id", "r"], "error: CIFAR-10 folder not found: {runs}/no-cifar."),
    ],
)
def test_tensorflow_commands_hide_its_start_up_logs(argv, error, tmp_path):
    runs = tmp_path / "runs"
    result = _python(["-m", "training", *[arg.format(runs=runs) for arg in argv]], tmp_path)
    assert result.returncode == 1
    assert result.stderr.splitlines()[0].startswith(error.format(runs=runs)) and len(result.stderr.splitlines()) == 1


@pytest.mark.slow
def test_verbose_shows_tensorflows_start_up_logs(tmp_path):
    result = _python(["-m", "training", "evaluate", "missing-run", "--verbose"], tmp_path)
    # TensorFlow 2.21 on a CPU-only machine notes oneDNN and the missing CUDA driver at start-up.
    lines = result.stderr.splitlines()
    assert result.returncode == 1 and len(lines) > 1 and lines[-1].startswith("error: No run 'missing-run'")


def test_held_back_stderr_vanishes_unless_the_block_fails(capfd):
    from training.quiet import stderr_held_back

    with stderr_held_back():
        os.write(2, b"start-up chatter\n")
    assert capfd.readouterr().err == ""
    with pytest.raises(RuntimeError), stderr_held_back():
        os.write(2, b"why it failed\n")
        raise RuntimeError("start-up failed")
    assert capfd.readouterr().err == "why it failed\n"
