"""Where things live: the artifacts folder, run folders and the files inside them.

Layout (schema version 3)::

    <artifacts>/runs/<run_id>/run.json          record of the run (see runstore.schema)
    <artifacts>/runs/<run_id>/history.csv       one row per finished epoch, Keras CSVLogger format
    <artifacts>/runs/<run_id>/model.keras       best weights, Keras 3 format
    <artifacts>/runs/<run_id>/predictions.npz   y_true (N,), probs (N, 10) on the test set
    <artifacts>/runs/<run_id>/validation_predictions.npz  the same on the validation images (schema 3; optional:
                                                what calibration and the typicality threshold are fitted on)
    <artifacts>/runs/<run_id>/model_summary.txt layer table with parameter counts
    <artifacts>/runs/<run_id>/tensorboard/      TensorBoard event files
    <artifacts>/runs/<run_id>/backup/           epoch backups (training.backup), only while unfinished
    <artifacts>/cache/                          reusable caches (transfer features), safe to delete
"""

from __future__ import annotations

import os
import re
from pathlib import Path

# 2: every run names its replicate ``group`` and its ``source`` (trained, imported, callback).
# 3: a run may hold ``validation_predictions.npz`` (the lab's trainer writes it; older runs and imports lack it).
SCHEMA_VERSION = 3

ARTIFACTS_ENV = "ARTIFACTS_DIR"
# The folder above the packages: a checkout (a clone, or an editable install of one), or site-packages.
PACKAGES_PARENT = Path(__file__).resolve().parents[1]

RUNS_DIR = "runs"
CACHE_DIR = "cache"
RUN_FILE = "run.json"
HISTORY_FILE = "history.csv"
MODEL_FILE = "model.keras"
PREDICTIONS_FILE = "predictions.npz"
VALIDATION_PREDICTIONS_FILE = "validation_predictions.npz"
SUMMARY_FILE = "model_summary.txt"
TENSORBOARD_DIR = "tensorboard"
BACKUP_DIR = "backup"

# Run ids become folder names and URL query values: keep them to a safe alphabet
# so no id can climb out of the runs folder ("../x") or need escaping.
RUN_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def running_from_checkout() -> bool:
    """True when the lab's packages sit in a checkout (its pyproject.toml beside them), False when installed."""
    return (PACKAGES_PARENT / "pyproject.toml").is_file()


def default_artifacts_dir() -> Path:
    """The checkout's ``artifacts/`` when running from one, else ``./artifacts`` of the current folder.

    An installed copy lives in site-packages, which is no place for run folders, so
    there the folder the command or notebook runs in decides, as for any tool.
    """
    if running_from_checkout():
        return PACKAGES_PARENT / "artifacts"
    return Path.cwd().resolve() / "artifacts"


def resolve_artifacts_dir(explicit: str | os.PathLike | None = None) -> Path:
    """Return the artifacts folder: ``explicit``, else ``$ARTIFACTS_DIR``, else ``default_artifacts_dir()``."""
    if explicit:
        return Path(explicit).expanduser().resolve()
    from_env = os.environ.get(ARTIFACTS_ENV)
    if from_env:
        return Path(from_env).expanduser().resolve()
    return default_artifacts_dir()


def runs_root(artifacts_dir: str | os.PathLike) -> Path:
    """The folder that holds one sub-folder per run."""
    return Path(artifacts_dir) / RUNS_DIR


def validate_run_id(run_id: str) -> str:
    """Return ``run_id`` if it is a safe folder name, else raise ``ValueError`` saying what is allowed."""
    if not isinstance(run_id, str) or not RUN_ID_PATTERN.match(run_id) or ".." in run_id:
        raise ValueError(
            f"Invalid run id {run_id!r}: use 1-128 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit."
        )
    return run_id


def run_dir(artifacts_dir: str | os.PathLike, run_id: str) -> Path:
    """The folder of run ``run_id`` (validated so it always lies inside the runs folder)."""
    return runs_root(artifacts_dir) / validate_run_id(run_id)
