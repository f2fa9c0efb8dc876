"""Suites of runs, defined as data in ``training/suites.json``.

A suite is a list of run configurations (``RunConfig`` fields) with shared
``defaults``. Every run id is fixed, so running a suite again skips the runs
that are already complete and resumes any that were interrupted. An entry with
``"seeds": [0, 1, 2]`` is one replicate group: one run per seed, named
``<run_id>-s<seed>``, all with ``group`` = the entry's ``run_id`` (see
``training.replicates``). ``"questions"`` name groups that differ in one setting
(see ``training.questions``); they are validated when the suite is loaded and
recorded beside the runs so the dashboard can answer them. ``"stated_minutes"``
is the time the suite's description promises and ``"meant_for"`` the hardware
it is sized for (``cpu`` or ``gpu``): the plan (``--dry-run``) sets its measured
estimate against them (``training.plan_estimate``).

Usage::

    python -m training suites                 # list suites
    python -m training suite demo --dry-run   # print the plan
    python -m training suite demo             # train it
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

from runstore.status import STATUS_COMPLETE, STATUS_RESUMABLE
from training.config import ConfigError, RunConfig
from training.questions import QuestionError, validate_questions
from training.replicates import expand_seeds
from training.run_state import planned_status

SUITES_FILE = Path(__file__).with_name("suites.json")
SUITE_KEYS = ("description", "stated_minutes", "meant_for", "defaults", "runs", "questions")
HARDWARE = ("cpu", "gpu")


@dataclass(frozen=True)
class Suite:
    """A named list of runs."""

    name: str
    description: str
    runs: tuple[RunConfig, ...]
    questions: tuple[dict, ...] = ()
    stated_minutes: float | None = None  # the time the description promises, on the hardware it is meant for
    meant_for: str = "cpu"  # "cpu" or "gpu"


def load_suites(path: Path = SUITES_FILE) -> dict[str, dict]:
    """The raw suites file: ``{name: {"description", "defaults", "runs"}}``."""
    try:
        suites = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ConfigError(f"Cannot read the suites file {path}: {error}") from None
    if not isinstance(suites, dict):
        raise ConfigError(f"{path} must hold a JSON object of suites")
    return suites


def get_suite(name: str, only: str | None = None, artifacts_dir: str | None = None, data_dir: str | None = None,
              path: Path = SUITES_FILE) -> Suite:
    """Suite ``name`` with every run validated; ``only`` keeps the runs of one model."""
    suites = load_suites(path)
    if name not in suites:
        raise ConfigError(f"Unknown suite {name!r}. Valid suites: {', '.join(suites)}")
    entry = suites[name]
    if not isinstance(entry, dict):
        raise ConfigError(f"{path}: suite {name!r} must be a JSON object with description, defaults, runs, questions; "
                          f"got {type(entry).__name__}")
    for key, kind in (("defaults", dict), ("runs", list), ("questions", list)):
        if key in entry and not isinstance(entry[key], kind):
            raise ConfigError(f"{path}: suite {name!r}: {key!r} must be a JSON {'object' if kind is dict else 'list'}, "
                              f"got {type(entry[key]).__name__}")
    if not all(isinstance(run, dict) for run in entry.get("runs", [])):
        raise ConfigError(f"{path}: suite {name!r}: every entry of 'runs' must be a JSON object of run settings")
    unknown = sorted(set(entry) - set(SUITE_KEYS))
    if unknown:
        raise ConfigError(f"{path}: suite {name!r} has unknown key(s) {', '.join(unknown)}; valid: {', '.join(SUITE_KEYS)}")
    stated = entry.get("stated_minutes")
    if stated is not None and (isinstance(stated, bool) or not isinstance(stated, (int, float)) or not 0 < stated <= 60 * 24 * 30):
        raise ConfigError(f"{path}: suite {name!r}: 'stated_minutes' must be a number of minutes above 0, e.g. 60; got {stated!r}")
    if entry.get("meant_for", "cpu") not in HARDWARE:
        raise ConfigError(f"{path}: suite {name!r}: 'meant_for' must be one of {', '.join(HARDWARE)}; got {entry['meant_for']!r}")
    runs, group_configs = [], {}
    for index, run in enumerate(entry.get("runs", [])):
        values = {**entry.get("defaults", {}), **run, "suite": name}
        seeds = values.pop("seeds", None)
        if artifacts_dir:
            values["artifacts_dir"] = artifacts_dir
        if data_dir:
            values["data_dir"] = data_dir
        # A suite entry is one group, named after its run id, with or without seeds.
        if values.get("run_id"):
            values.setdefault("group", values["run_id"])
        try:
            if seeds is not None and (not isinstance(seeds, list) or not seeds or not all(isinstance(seed, int) and seed >= 0 for seed in seeds)):
                raise ConfigError(f"'seeds' must be a list of whole numbers 0 or more, e.g. [0, 1, 2], got {seeds!r}")
            configs = [RunConfig.from_dict(replicate) for replicate in expand_seeds(values, seeds)]
        except ValueError as error:
            raise ConfigError(f"{path}: suite {name!r}, run {index + 1} ({run.get('run_id', '?')}): {error}") from None
        group_configs.setdefault(configs[0].group, configs[0].to_dict())
        if only is None or configs[0].model == only:
            runs.extend(configs)
    if only is not None and not runs:
        raise ConfigError(f"Suite {name!r} has no runs of model {only!r}.")
    try:
        questions = validate_questions(name, entry.get("questions", []), group_configs)
    except QuestionError as error:
        raise ConfigError(f"{path}: {error}") from None
    return Suite(name, entry.get("description", ""), tuple(runs), tuple(questions), stated, entry.get("meant_for", "cpu"))


def describe_plan(suite: Suite, estimates: dict | None = None) -> str:
    """One line per run: id, model, settings, and whether it will be skipped; with ``estimates``
    (``training.plan_estimate``), also its images, passes, evaluations and estimated time."""
    from training.plan_estimate import format_duration

    stated = f" Stated time: {suite.stated_minutes:g} min on a {suite.meant_for.upper()}." if suite.stated_minutes else ""
    lines = [f"Suite {suite.name}: {suite.description}{stated}", ""]
    for config in suite.runs:
        status = planned_status(config)
        action = "skip (complete)" if status == STATUS_COMPLETE else ("resume" if status == STATUS_RESUMABLE else "train")
        extra = f" blocks={config.blocks}" if config.blocks else ""
        if config.epoch_images:
            extra += f" eval_every={config.epoch_images}"
        if config.time_budget_seconds:
            extra += f" budget={config.time_budget_seconds:g}s"
        limit = "all" if config.train_limit is None else config.train_limit
        line = (f"  {config.run_id:<36} {config.model:<20}{extra} {config.optimizer} lr={config.learning_rate:g} "
                f"epochs={config.epochs} batch={config.batch_size} train_images={limit} weights={config.weights}")
        estimate = (estimates or {}).get(config.run_id)
        if estimate is not None:
            about = "about " if estimate.budget_limited else ""
            took = "not probed" if estimate.seconds is None else (
                ("at most " if estimate.may_stop_early else "") + format_duration(estimate.seconds))
            line += (f"\n  {'':<36} {about}{estimate.images_seen:,} images seen = {estimate.passes:.2f} passes over "
                     f"{estimate.train_images:,}, {estimate.evaluations} evaluations, {took}"
                     + (" (the time budget ends it)" if estimate.budget_limited else ""))
        lines.append(f"{line} -> {action}")
    return "\n".join(lines)


def describe_questions(suite: Suite) -> str:
    """Each question with its groups, their seeds and budget: what the suite will be able to answer."""
    by_group: dict[str, list[RunConfig]] = {}
    for config in suite.runs:
        by_group.setdefault(config.group, []).append(config)
    lines = ["Questions:"] if suite.questions else []
    for question in suite.questions:
        factor = question["factor"] if isinstance(question["factor"], str) else " + ".join(question["factor"])
        requires = f", needs {question['requires']} weights" if question.get("requires") else ""
        lines.append(f"  {question['title']} (factor: {factor}{requires})")
        if not any(group in by_group for group in question["groups"]):
            lines.append("    not trained here (see why above)")
            continue
        for group in question["groups"]:
            members = by_group.get(group)
            if not members:
                lines.append(f"    {group}: not trained here")
                continue
            config = members[0]
            budget = (f"{config.time_budget_seconds:g} s of training" if config.time_budget_seconds
                      else f"{config.epochs} x {config.epoch_images or 'all'} images")
            stop = "" if config.early_stopping_patience >= config.epochs else f", early stopping after {config.early_stopping_patience}"
            lines.append(f"    {group}: {len(members)} seed(s) {[member.seed for member in members]}, {budget}, "
                         f"train_images={config.train_limit or 'all'}{stop}")
    return "\n".join(lines)


def run_suite(suite: Suite, executor=None) -> list[tuple[str, str]]:
    """Train every run of ``suite`` not yet complete with ``executor`` (default: one after another here).

    Returns ``(run_id, outcome)`` pairs, outcome being ``skipped``, ``complete``,
    ``claimed: ...`` (another driver trains it) or the error message.
    """
    from training.executors import LocalExecutor

    return (executor or LocalExecutor()).run(list(suite.runs))


def drop_unmet_requirements(suite: Suite, download: bool = True) -> tuple[Suite, dict[str, str]]:
    """``suite`` without the runs of questions whose requirement is not met here, and why, by question title.

    A question with ``"requires": "imagenet"`` compares ImageNet weights against
    something else; without the weights its runs would only show random weights
    dressed up as transfer learning, so they are not trained at all (the finding
    says the weights are missing and how to get them).
    """
    from training.weights import IMAGENET_FILES, imagenet_unavailable

    skipped: dict[str, str] = {}
    dropped_groups: set[str] = set()
    for question in suite.questions:
        if question.get("requires") != "imagenet":
            continue
        models = sorted({config.model for config in suite.runs if config.group in question["groups"] and config.model in IMAGENET_FILES})
        reasons = [reason for reason in (imagenet_unavailable(model, download) for model in models) if reason]
        if reasons:
            skipped[question["title"]] = reasons[0]
            dropped_groups.update(question["groups"])
    if not skipped:
        return suite, skipped
    # A group another, answerable question also needs is kept.
    needed = {group for question in suite.questions if question["title"] not in skipped for group in question["groups"]}
    dropped = dropped_groups - needed
    kept = tuple(config for config in suite.runs if config.group not in dropped)
    return dataclasses.replace(suite, runs=kept), skipped
