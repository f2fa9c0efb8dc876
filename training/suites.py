"""Suites of runs, defined as data in ``training/suites.json``.

A suite is a list of run configurations (``RunConfig`` fields) with shared
``defaults``. Every run id is fixed, so running a suite again skips the runs
that are already complete and resumes any that were interrupted. An entry with
``"seeds": [0, 1, 2]`` is one replicate group: one run per seed, named
``<run_id>-s<seed>``, all with ``group`` = the entry's ``run_id`` (see
``training.replicates``). ``"questions"`` name groups that differ in one setting
(see ``training.questions``); they are validated when the suite is loaded and
recorded beside the runs so the dashboard can answer them.

Usage::

    python -m training suites                 # list suites
    python -m training suite demo --dry-run   # print the plan
    python -m training suite demo             # train it
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from runstore import RUN_FILE, resolve_artifacts_dir, run_dir
from training.config import ConfigError, RunConfig
from training.questions import QuestionError, validate_questions
from training.replicates import expand_seeds

SUITES_FILE = Path(__file__).with_name("suites.json")


@dataclass(frozen=True)
class Suite:
    """A named list of runs."""

    name: str
    description: str
    runs: tuple[RunConfig, ...]
    questions: tuple[dict, ...] = ()


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
    unknown = sorted(set(entry) - {"description", "defaults", "runs", "questions"})
    if unknown:
        raise ConfigError(f"Suite {name!r} has unknown key(s) {', '.join(unknown)}; valid: description, defaults, runs, questions")
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
            raise ConfigError(f"Suite {name!r}, run {index + 1} ({run.get('run_id', '?')}): {error}") from None
        group_configs.setdefault(configs[0].group, configs[0].to_dict())
        if only is None or configs[0].model == only:
            runs.extend(configs)
    if only is not None and not runs:
        raise ConfigError(f"Suite {name!r} has no runs of model {only!r}.")
    try:
        questions = validate_questions(name, entry.get("questions", []), group_configs)
    except QuestionError as error:
        raise ConfigError(str(error)) from None
    return Suite(name, entry.get("description", ""), tuple(runs), tuple(questions))


def run_status(config: RunConfig) -> str:
    """``complete``, ``resumable`` (interrupted with a backup), ``failed``, ``running`` or ``new``."""
    folder = run_dir(resolve_artifacts_dir(config.artifacts_dir), config.run_id)
    try:
        status = json.loads((folder / RUN_FILE).read_text(encoding="utf-8")).get("status", "new")
    except (OSError, ValueError):
        return "new"
    if status != "complete" and (folder / "backup" / "training_metadata.json").is_file():
        return "resumable"
    return status


def describe_plan(suite: Suite) -> str:
    """One line per run: id, model, what it trains on, and whether it will be skipped."""
    lines = [f"Suite {suite.name}: {suite.description}", ""]
    for config in suite.runs:
        status = run_status(config)
        action = "skip (complete)" if status == "complete" else ("resume" if status == "resumable" else "train")
        extra = f" blocks={config.blocks}" if config.blocks else ""
        limit = "all" if config.train_limit is None else config.train_limit
        lines.append(
            f"  {config.run_id:<36} {config.model:<20}{extra} {config.optimizer} lr={config.learning_rate:g} "
            f"epochs={config.epochs} batch={config.batch_size} train_images={limit} weights={config.weights} -> {action}"
        )
    return "\n".join(lines)


def run_suite(suite: Suite, verbose: int | None = None) -> list[tuple[str, str]]:
    """Train every run of ``suite`` not yet complete, in order; one failure does not stop the others.

    Returns ``(run_id, outcome)`` pairs, outcome being ``skipped``, ``complete`` or the error message.
    """
    import keras

    from training.train import run_training

    outcomes = []
    for config in suite.runs:
        if run_status(config) == "complete":
            print(f"{config.run_id}: already complete, skipped", flush=True)
            outcomes.append((config.run_id, "skipped"))
            continue
        started = time.monotonic()
        print(f"\n=== {config.run_id} ({config.model}) ===", flush=True)
        try:
            run_training(config, verbose=verbose)
            outcomes.append((config.run_id, "complete"))
        except KeyboardInterrupt:
            raise
        except Exception as error:  # recorded as failed in run.json; carry on with the rest of the suite
            print(f"{config.run_id} failed: {error}", flush=True)
            outcomes.append((config.run_id, str(error)))
        finally:
            # Free the finished model's graph and memory before the next run.
            keras.backend.clear_session()
        print(f"{config.run_id}: {time.monotonic() - started:.0f} s", flush=True)
    return outcomes
