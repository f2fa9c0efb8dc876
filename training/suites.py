"""Suites of runs, defined as data in ``training/suites.json``.

A suite is a list of run configurations (``RunConfig`` fields) with shared
``defaults``. Every run id is fixed, so running a suite again skips the runs
that are already complete and resumes any that were interrupted.

Usage::

    python -m training suites                 # list suites
    python -m training suite demo --dry-run   # print the plan
    python -m training suite demo             # train it
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from runstore import RUN_FILE, resolve_artifacts_dir, run_dir
from training.config import ConfigError, RunConfig

SUITES_FILE = Path(__file__).with_name("suites.json")


@dataclass(frozen=True)
class Suite:
    """A named list of runs."""

    name: str
    description: str
    runs: tuple[RunConfig, ...]


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
    unknown = sorted(set(entry) - {"description", "defaults", "runs"})
    if unknown:
        raise ConfigError(f"Suite {name!r} has unknown key(s) {', '.join(unknown)}; valid: description, defaults, runs")
    runs = []
    for index, run in enumerate(entry.get("runs", [])):
        values = {**entry.get("defaults", {}), **run, "suite": name}
        if artifacts_dir:
            values["artifacts_dir"] = artifacts_dir
        if data_dir:
            values["data_dir"] = data_dir
        try:
            config = RunConfig.from_dict(values)
        except ValueError as error:
            raise ConfigError(f"Suite {name!r}, run {index + 1} ({run.get('run_id', '?')}): {error}") from None
        if only is None or config.model == only:
            runs.append(config)
    if only is not None and not runs:
        raise ConfigError(f"Suite {name!r} has no runs of model {only!r}.")
    return Suite(name, entry.get("description", ""), tuple(runs))


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


def run_suite(suite: Suite, executor=None) -> list[tuple[str, str]]:
    """Train every run of ``suite`` not yet complete with ``executor`` (default: one after another here).

    Returns ``(run_id, outcome)`` pairs, outcome being ``skipped``, ``complete``,
    ``claimed: ...`` (another driver trains it) or the error message.
    """
    from training.executors import LocalExecutor

    return (executor or LocalExecutor()).run(list(suite.runs))
