"""A suite's questions answered in one sentence each, from synthetic groups of real run folders.

Each case of ``analysis.findings.answer_question`` has its own sentence:
significant, not significant, a single seed, three or more groups ranked, a
group at chance, a question that needs ImageNet weights, runs still training,
and a recipe question that says what else differed first.
"""

from __future__ import annotations

import socket

import pytest

from analysis.findings import (
    GPU_SUITE_COMMAND,
    STATUS_ANSWERED,
    STATUS_AT_CHANCE,
    STATUS_NO_DIFFERENCE,
    STATUS_SKIPPED,
    STATUS_WAITING,
    answer_question,
    runs_asked_about,
    difference_sentence,
    shared_budget_text,
)
from analysis.replicates import compare_groups
from runstore import read_predictions, run_dir
from runstore.writer import write_history_rows
from runstore.layout import HISTORY_FILE
from runstore.reader import list_runs
from runstore.images_seen import read_images_seen
from runstore.suite_record import write_suite_record
from tests.analysis_fixtures import read_suite_findings, write_run_folder
from tests.factories import make_run

IMAGES = 400
HERE = socket.gethostname()


def make_group(artifacts, name: str, accuracy: float, seeds=(1, 2, 3), model: str = "simple_cnn", **overrides) -> list[str]:
    """Complete replicate runs ``<name>-s<seed>`` of one group, each right on about ``accuracy`` of 400 test images."""
    run_ids = []
    config = {"model": model, "epochs": 3, "train_limit": 5000, **overrides.pop("config", {})}
    for seed in seeds:
        run_id = f"{name}-s{seed}"
        write_run_folder(artifacts, run_id, accuracy, seed=seed * 101 + len(name), count=IMAGES, group=name,
                         model=model, host=HERE, config=config,
                         data={"source": "synthetic", "sha256": "0" * 64, "train_images": 5000, "test_images": IMAGES},
                         **overrides)
        run_ids.append(run_id)
    return run_ids


def answer(question: dict, runs, predictions=None, suite=None):
    """``answer_question`` with the caller side's readers: the runs' saved predictions and images seen."""
    return answer_question(question, runs, predictions or (lambda info: read_predictions(info.path)),
                           read_images_seen(runs), suite=suite)


def question(*groups, **extra) -> dict:
    return {"title": "Which is better?", "factor": "blocks", "groups": list(groups), **extra}


def test_a_significant_difference_is_the_compare_pages_sentence_with_the_shared_budget(tmp_path):
    make_group(tmp_path, "b1", 0.35)
    make_group(tmp_path, "b3", 0.75)
    runs = list_runs(tmp_path)
    finding = answer(question("b1", "b3"), runs)
    assert finding.status == STATUS_ANSWERED
    assert finding.sentence.startswith("b3 beats b1 by ")
    assert "(95% interval " in finding.sentence and "3 seeds each)" in finding.sentence
    assert finding.sentence.endswith("on 5,000 training images × 3 epochs, this machine, on 400 test images.")
    # The very words of the Compare page for the same two groups.
    by_id = {info.run_id: info for info in runs}
    result = compare_groups("b1", {f"b1-s{seed}": read_predictions(by_id[f"b1-s{seed}"].path) for seed in (1, 2, 3)},
                            "b3", {f"b3-s{seed}": read_predictions(by_id[f"b3-s{seed}"].path) for seed in (1, 2, 3)})
    members = [info for info in runs if info.record["group"] in ("b1", "b3")]
    assert finding.sentence == difference_sentence(result, shared_budget_text(members, read_images_seen(members)))
    assert finding.compare == ("group:b1", "group:b3")
    assert finding.compare_query() == {"compare_a": "group:b1", "compare_b": "group:b3"}


def test_an_interval_covering_zero_says_no_detectable_difference_never_slightly_better(tmp_path):
    make_group(tmp_path, "adam", 0.5)
    make_group(tmp_path, "rmsprop", 0.5)
    finding = answer(question("adam", "rmsprop"), list_runs(tmp_path))
    assert finding.status == STATUS_NO_DIFFERENCE
    assert finding.sentence.startswith("No detectable difference at this budget between ")
    assert "better" not in finding.sentence and "3 seeds each" in finding.sentence


def test_a_group_with_a_single_seed_says_seed_variation_is_unknown(tmp_path):
    make_group(tmp_path, "b1", 0.3)
    make_group(tmp_path, "b2", 0.8, seeds=(7,))
    finding = answer(question("b1", "b2"), list_runs(tmp_path))
    assert finding.status == STATUS_ANSWERED
    assert "(95% interval " in finding.sentence and "1 seed of b2, 3 of b1" in finding.sentence
    assert "Seed variation is unknown (b2 is a single run)" in finding.sentence
    # A group with one finished run is that run on the Compare page.
    assert finding.compare == ("group:b1", "b2-s7")


def test_three_groups_are_ranked_with_n_and_the_best_stated_against_each_other(tmp_path):
    make_group(tmp_path, "b1", 0.30)
    make_group(tmp_path, "b2", 0.70)
    make_group(tmp_path, "b3", 0.72)
    finding = answer(question("b1", "b2", "b3"), list_runs(tmp_path))
    sentence = finding.sentence
    assert finding.status == STATUS_ANSWERED
    assert sentence.startswith("Ranked by mean test accuracy: b3 ")
    assert sentence.index("b3 ") < sentence.index("b2 ") < sentence.index("b1 ")
    assert "(n=3)" in sentence and "on 400 test images." in sentence
    assert "on 400 test images. b3 beats b1 by " in sentence
    assert "no detectable difference at this budget between b3 and b2 (" in sentence
    assert "better" not in sentence
    assert finding.compare == ("group:b2", "group:b3")


def test_a_group_at_chance_is_named_with_the_gpu_advice_and_kept_out_of_the_ranking(tmp_path):
    make_group(tmp_path, "simple", 0.40)
    make_group(tmp_path, "bn", 0.70)
    make_group(tmp_path, "scratch", 0.10, seeds=(1, 2), model="vgg16_scratch")
    finding = answer(question("scratch", "simple", "bn"), list_runs(tmp_path))
    assert finding.status == STATUS_ANSWERED
    assert "Ranked" not in finding.sentence  # two groups left: the two-group sentence
    assert finding.sentence.startswith("bn beats simple by ")
    assert "scratch (2 runs) stayed at chance: its test accuracy " in finding.sentence
    assert "includes 10%; vgg16_scratch needs more than this budget (5,000 training images × 3 epochs" in finding.sentence
    assert f"run `{GPU_SUITE_COMMAND}` on a GPU." in finding.sentence
    assert finding.compare == ("group:simple", "group:bn")


def test_with_only_one_group_above_chance_nothing_is_ranked(tmp_path):
    make_group(tmp_path, "simple", 0.40)
    make_group(tmp_path, "scratch", 0.10, seeds=(1, 2), model="vgg16_scratch")
    finding = answer(question("simple", "scratch"), list_runs(tmp_path))
    assert finding.status == STATUS_AT_CHANCE and finding.compare is None
    assert finding.sentence.startswith("Only simple left chance, so there is nothing to rank it against.")
    assert "scratch (2 runs) stayed at chance" in finding.sentence


@pytest.mark.parametrize("how", ["fell back", "never trained"])
def test_a_transfer_question_without_imagenet_weights_is_skipped_not_ranked(tmp_path, how):
    make_group(tmp_path, "scratch", 0.40, config={"weights": "none"})
    if how == "fell back":
        make_group(tmp_path, "transfer", 0.60, model="vgg16_transfer", config={"weights": "imagenet_if_available"},
                   weights_note="ImageNet weights were asked for if available; trained from random weights instead.")
    finding = answer(question("scratch", "transfer", requires="imagenet"), list_runs(tmp_path))
    assert finding.status == STATUS_SKIPPED and finding.compare is None
    assert finding.sentence.startswith("skipped: ImageNet weights are not available here; download them (see README) "
                                       "and run the suite again")
    assert "beats" not in finding.sentence and "transfer learning" in finding.sentence


def test_a_transfer_question_with_imagenet_weights_is_answered(tmp_path):
    make_group(tmp_path, "scratch", 0.30, model="vgg16_transfer", config={"weights": "none"})
    make_group(tmp_path, "transfer", 0.80, model="vgg16_transfer", weights="imagenet", config={"weights": "imagenet"})
    finding = answer(question("scratch", "transfer", requires="imagenet", factor="weights"), list_runs(tmp_path))
    # Weights are the question's one factor: no "not a controlled comparison" before the verdict.
    assert finding.status == STATUS_ANSWERED and finding.sentence.startswith("transfer beats scratch")


def test_runs_still_training_or_missing_make_the_question_wait(tmp_path):
    make_group(tmp_path, "b1", 0.4)
    make_run(tmp_path, "b2-s1", status="running", group="b2", seed=1)
    finding = answer(question("b1", "b2", "b3"), list_runs(tmp_path), suite="demo")
    assert finding.status == STATUS_WAITING and finding.compare is None
    assert finding.sentence == "Waiting for 1 of 4 runs (b2: 1 running; b3 has no run yet)."


def test_a_group_with_no_finished_run_and_nothing_training_says_how_to_finish(tmp_path):
    make_group(tmp_path, "b1", 0.4)
    make_run(tmp_path, "b2-s1", status="failed", group="b2", seed=1)
    finding = answer(question("b1", "b2"), list_runs(tmp_path), suite="demo")
    assert finding.status == STATUS_WAITING
    assert finding.sentence == ("Waiting for 1 of 4 runs (b2: 1 failed). Nothing is training now: run "
                                "`python -m training suite demo` to train what is missing (finished runs are kept).")


def test_a_failed_replicate_is_left_out_and_named(tmp_path):
    make_group(tmp_path, "b1", 0.3)
    make_group(tmp_path, "b2", 0.8)
    make_run(tmp_path, "b2-s9", status="failed", group="b2", seed=9)
    finding = answer(question("b1", "b2"), list_runs(tmp_path))
    assert finding.status == STATUS_ANSWERED and "3 seeds each" in finding.sentence
    assert finding.sentence.endswith("Left out as unfinished: b2: b2-s9.")


def test_a_recipe_question_says_what_else_differed_before_the_verdict(tmp_path):
    make_group(tmp_path, "study-best", 0.5, config={"time_budget_seconds": 600})
    make_group(tmp_path, "fast", 0.8, model="fast_cnn", optimizer="sgd", config={"time_budget_seconds": 600})
    finding = answer(question("study-best", "fast", factor="recipe"), list_runs(tmp_path))
    assert finding.sentence.startswith("Not a controlled comparison: these runs differ in model (simple_cnn vs fast_cnn) "
                                       "and optimizer (adam vs sgd)")
    assert finding.sentence.index("Not a controlled") < finding.sentence.index("fast beats study-best")
    assert "a 600 s time budget" in finding.sentence


def test_predictions_are_read_only_for_the_groups_the_question_names(tmp_path):
    make_group(tmp_path, "b1", 0.3)
    make_group(tmp_path, "b2", 0.7)
    make_group(tmp_path, "other", 0.5)
    read = []

    def predictions(info):
        read.append(info.run_id)
        return read_predictions(info.path)

    answer(question("b1", "b2"), list_runs(tmp_path), predictions=predictions)
    assert sorted(read) == sorted(f"{group}-s{seed}" for group in ("b1", "b2") for seed in (1, 2, 3))


def test_the_budget_states_images_seen_when_epochs_were_shorter_than_the_training_set(tmp_path):
    make_group(tmp_path, "short", 0.5, seeds=(1,), config={"epoch_images": 1000})
    rows = [{"epoch": epoch, "accuracy": 0.5, "loss": 1.0, "val_accuracy": 0.5, "val_loss": 1.0,
             "images_seen": 1000.0 * (epoch + 1)} for epoch in range(3)]
    write_history_rows(run_dir(tmp_path, "short-s1") / HISTORY_FILE, rows)
    runs = list_runs(tmp_path)
    assert shared_budget_text(runs, read_images_seen(runs)) == (
        "on 5,000 training images × 3 epochs of 1,000 images (3,000 images seen), this machine")


def test_suite_findings_answer_every_recorded_question_in_order(tmp_path):
    make_group(tmp_path, "b1", 0.3)
    make_group(tmp_path, "b2", 0.7)
    write_suite_record(tmp_path, "demo", "The demo.", [question("b1", "b2"), question("b1", "b9", title="Missing?")])
    (tmp_path / "suites" / "broken.json").write_text("{", encoding="utf-8")
    suites, problems = read_suite_findings(tmp_path)
    assert [suite.name for suite in suites] == ["demo"]
    assert [finding.status for finding in suites[0].findings] == [STATUS_ANSWERED, STATUS_WAITING]
    assert "run `python -m training suite demo`" in suites[0].findings[1].sentence
    assert len(problems) == 1 and problems[0].startswith("broken.json cannot be read")


def test_three_groups_without_a_detectable_difference_say_so_and_rank_nothing_as_better(tmp_path):
    for name in ("sgd", "adam", "rmsprop"):
        make_group(tmp_path, name, 0.5)
    finding = answer(question("sgd", "adam", "rmsprop", factor="recipe"), list_runs(tmp_path))
    assert finding.status == STATUS_NO_DIFFERENCE
    assert ". No detectable difference at this budget between " in finding.sentence
    assert "beats" not in finding.sentence and "better" not in finding.sentence


def test_a_factor_of_settings_that_vary_together_is_not_called_uncontrolled():
    from types import SimpleNamespace

    from analysis.findings import _what_else_differed

    def info(optimizer, rate, limit=2000):
        return SimpleNamespace(record={"model": "simple_cnn", "optimizer": optimizer, "learning_rate": rate,
                                       "config": {"model": "simple_cnn", "optimizer": optimizer, "learning_rate": rate, "train_limit": limit},
                                       "data": {"train_images": limit}, "weights": "none"})

    question = {"factor": ["optimizer", "learning_rate"]}
    assert _what_else_differed(question, [([info("adam", 0.001)], [info("sgd", 0.01)], "adam", "sgd")]) == ""
    warning = _what_else_differed(question, [([info("adam", 0.001)], [info("sgd", 0.01, limit=5000)], "adam", "sgd")])
    assert warning.startswith("Not a controlled comparison") and "training images" in warning


def test_only_the_runs_of_groups_a_question_names_are_asked_about(tmp_path):
    make_group(tmp_path, "b1", 0.3, seeds=(1, 2))
    make_group(tmp_path, "b2", 0.7, seeds=(3,))
    make_group(tmp_path, "other", 0.5, seeds=(4, 5))
    runs = list_runs(tmp_path)
    records = [{"name": "demo", "questions": [question("b1", "b2"), question("b2", "b9")]}]
    assert sorted(info.run_id for info in runs_asked_about(records, runs)) == ["b1-s1", "b1-s2", "b2-s3"]
    assert runs_asked_about([], runs) == []  # no suite recorded: no history worth opening
