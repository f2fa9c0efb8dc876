"""A suite's questions, recorded beside its runs so readers can answer them without ``training``.

``python -m training suite NAME`` writes ``<artifacts>/suites/<NAME>.json``::

    {"name": "demo", "description": "...", "questions": [
        {"title": "...", "factor": "blocks", "groups": ["demo-depth-b1", ...], "equal": [...],
         "requires": "imagenet" (optional), "note": "..." (optional)}]}

The groups are the ``group`` values of the runs in ``runs/``; ``analysis.findings``
turns each question into one sentence from those runs.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from runstore.atomic import atomic_write_json
from runstore.layout import validate_run_id

SUITES_DIR = "suites"


def suite_record_path(artifacts_dir: str | os.PathLike, name: str) -> Path:
    """Where suite ``name``'s record lives (the name validated like a run id)."""
    return Path(artifacts_dir) / SUITES_DIR / f"{validate_run_id(name)}.json"


def write_suite_record(artifacts_dir: str | os.PathLike, name: str, description: str, questions: list[dict]) -> Path:
    """Record suite ``name``'s questions atomically; return the file."""
    path = suite_record_path(artifacts_dir, name)
    atomic_write_json(path, {"name": name, "description": description, "questions": list(questions)})
    return path


def read_suite_records(artifacts_dir: str | os.PathLike) -> tuple[list[dict], list[str]]:
    """Every readable suite record, by name, and one sentence for each file that could not be read."""
    folder = Path(artifacts_dir) / SUITES_DIR
    records, problems = [], []
    if not folder.is_dir():
        return records, problems
    for path in sorted(folder.glob("*.json")):
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(record, dict) or not isinstance(record.get("questions"), list):
                raise ValueError("it holds no 'questions' list")
            for question in record["questions"]:
                if not isinstance(question, dict) or not isinstance(question.get("groups"), list) or not question.get("title"):
                    raise ValueError("a question lacks its title or groups")
        except (OSError, ValueError) as error:
            problems.append(f"{path.name} cannot be read ({error}); run the suite again to rewrite it.")
            continue
        records.append({**record, "name": record.get("name") or path.stem})
    return records, problems
