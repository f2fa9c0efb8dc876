"""The run-folder contract shared by training (writer) and the dashboard (reader).

Nothing in this package imports TensorFlow or Streamlit, so both sides and the
tests can use it cheaply. Writers of run folders use ``runstore.writer``; this
package's top level is the reading side's API. See ``artifacts/README.md`` for the layout in prose.
"""

from runstore.atomic import atomic_write_bytes, atomic_write_json, atomic_write_text
from runstore.layout import (
    ARTIFACTS_ENV,
    BACKUP_DIR,
    HISTORY_FILE,
    MODEL_FILE,
    PREDICTIONS_FILE,
    RUN_FILE,
    RUNS_DIR,
    SCHEMA_VERSION,
    SUMMARY_FILE,
    TENSORBOARD_DIR,
    VALIDATION_PREDICTIONS_FILE,
    resolve_artifacts_dir,
    run_dir,
    runs_root,
)
from runstore.cifar import CLASS_NAMES, NUM_CLASSES
from runstore.errors import BrokenRun
from runstore.history import format_history, read_history, read_history_rows
from runstore.predictions import read_predictions, read_validation_predictions
from runstore.preprocessing import PREPROCESSING_MODES, apply_preprocessing, run_preprocessing
from runstore.reader import RunInfo, list_runs, read_run_record
from runstore.rules import best_epoch, learning_rate_drops
from runstore.signature import folder_signature, run_signature
from runstore.status import folder_status, run_status

__all__ = [
    "ARTIFACTS_ENV",
    "CLASS_NAMES",
    "NUM_CLASSES",
    "PREPROCESSING_MODES",
    "apply_preprocessing",
    "best_epoch",
    "folder_signature",
    "folder_status",
    "format_history",
    "learning_rate_drops",
    "read_history_rows",
    "run_preprocessing",
    "run_signature",
    "run_status",
    "BACKUP_DIR",
    "HISTORY_FILE",
    "MODEL_FILE",
    "PREDICTIONS_FILE",
    "RUN_FILE",
    "RUNS_DIR",
    "SCHEMA_VERSION",
    "SUMMARY_FILE",
    "TENSORBOARD_DIR",
    "VALIDATION_PREDICTIONS_FILE",
    "BrokenRun",
    "RunInfo",
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_text",
    "list_runs",
    "read_history",
    "read_predictions",
    "read_validation_predictions",
    "read_run_record",
    "resolve_artifacts_dir",
    "run_dir",
    "runs_root",
]
