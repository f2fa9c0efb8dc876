"""Reading run folders defensively: one damaged run never hides the others.

``list_runs`` returns a ``RunInfo`` for every folder under ``runs/``. A run
whose files are missing, torn, tampered with or of another schema version is
still listed, with ``problems`` saying what is wrong in words a user can act on.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from runstore.errors import BrokenRun
from runstore.history import read_history
from runstore.layout import (
    HISTORY_FILE,
    MODEL_FILE,
    RUN_FILE,
    RUN_ID_PATTERN,
    runs_root,
)
from runstore.predictions import read_predictions
from runstore.schema import SchemaError, validate_run_record
from runstore.signature import run_signature
from runstore.status import (
    STATUS_BROKEN,
    STATUS_COMPLETE,
    STATUS_INTERRUPTED,
    STATUS_RUNNING,
    run_status,
)


@dataclass
class RunInfo:
    """One run folder as the dashboard sees it."""

    run_id: str
    path: Path
    record: dict | None
    problems: list[str] = field(default_factory=list)
    # True when status says running but the trainer process is gone (killed).
    interrupted: bool = False

    @property
    def is_broken(self) -> bool:
        """True when the run cannot be shown normally; ``problems`` says why."""
        return bool(self.problems)

    @property
    def status(self) -> str:
        """``complete``, ``running``, ``failed``, ``interrupted`` or ``broken``."""
        if self.record is None or self.is_broken:
            return STATUS_BROKEN
        if self.interrupted:
            return STATUS_INTERRUPTED
        return self.record["status"]

    @property
    def mtime_key(self) -> tuple:
        """Modification times of the run's files: a cache key that changes when the run does."""
        return run_signature(self.path)


def read_run_record(path: str | os.PathLike) -> dict:
    """Read and validate ``run.json`` in run folder ``path``; raise ``BrokenRun`` with the reason."""
    run_file = Path(path) / RUN_FILE
    try:
        text = run_file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BrokenRun(f"{RUN_FILE} is missing") from None
    except (OSError, UnicodeDecodeError) as error:
        raise BrokenRun(f"{RUN_FILE} cannot be read: {error}") from None
    try:
        record = json.loads(text)
    except json.JSONDecodeError as error:
        raise BrokenRun(f"{RUN_FILE} is not valid JSON ({error.msg} at line {error.lineno})") from None
    try:
        return validate_run_record(record)
    except SchemaError as error:
        raise BrokenRun(str(error)) from None


def inspect_run(path: Path, check_predictions: bool = True, check_history: bool = True) -> RunInfo:
    """Build the ``RunInfo`` of one run folder, collecting every problem found.

    ``check_predictions`` and ``check_history`` read and validate those files; without
    them only run.json is read and the other files are stat-ed (a listing of hundreds of runs).
    """
    info = RunInfo(run_id=path.name, path=path, record=None)
    try:
        info.record = read_run_record(path)
    except BrokenRun as error:
        info.problems.append(str(error))
        return info
    status = info.record["status"]
    info.interrupted = run_status(info.record) == STATUS_INTERRUPTED
    # A running run may not have finished its first epoch yet; a complete one must have a history.
    history_expected = status == STATUS_COMPLETE or (status == STATUS_RUNNING and (path / HISTORY_FILE).exists())
    if history_expected and check_history:
        try:
            read_history(path)
        except BrokenRun as error:
            info.problems.append(str(error))
    if status == STATUS_COMPLETE:
        model_file = path / MODEL_FILE
        if not model_file.is_file():
            info.problems.append(f"{MODEL_FILE} is missing")
        elif isinstance(info.record.get("model_bytes"), int) and model_file.stat().st_size != info.record["model_bytes"]:
            # One stat per run catches a truncated or swapped model without hashing it;
            # the SHA-256 is checked when the model is actually loaded.
            info.problems.append(
                f"{MODEL_FILE} has {model_file.stat().st_size} bytes; run.json says "
                f"{info.record['model_bytes']} (truncated or replaced)"
            )
        if check_predictions:
            try:
                read_predictions(path)
            except BrokenRun as error:
                info.problems.append(str(error))
    return info


def list_runs(artifacts_dir: str | os.PathLike, check_predictions: bool = True) -> list[RunInfo]:
    """Every run folder under ``<artifacts_dir>/runs``, newest first, broken ones included.

    Hidden entries and names outside the run-id alphabet are skipped: they are
    temporary files or not runs at all.
    """
    root = runs_root(artifacts_dir)
    if not root.is_dir():
        return []
    return newest_first(
        inspect_run(entry, check_predictions=check_predictions)
        for entry in root.iterdir()
        if entry.is_dir() and RUN_ID_PATTERN.match(entry.name)
    )


def newest_first(runs: Iterable[RunInfo]) -> list[RunInfo]:
    """``runs`` in listing order: latest ``started_at`` first, ties by run id (descending)."""
    return sorted(runs, key=lambda info: ((info.record or {}).get("started_at", ""), info.run_id), reverse=True)
