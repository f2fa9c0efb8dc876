"""The run-folder contract shared by training (writer) and the dashboard (reader).

Nothing in this package imports TensorFlow or Streamlit, so both sides and the
tests can use it cheaply. See ``artifacts/README.md`` for the layout in prose.
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
    resolve_artifacts_dir,
    run_dir,
    runs_root,
)
from runstore.reader import (
    BrokenRun,
    RunInfo,
    list_runs,
    read_history,
    read_predictions,
    read_run_record,
)

__all__ = [
    "ARTIFACTS_ENV",
    "BACKUP_DIR",
    "HISTORY_FILE",
    "MODEL_FILE",
    "PREDICTIONS_FILE",
    "RUN_FILE",
    "RUNS_DIR",
    "SCHEMA_VERSION",
    "SUMMARY_FILE",
    "TENSORBOARD_DIR",
    "BrokenRun",
    "RunInfo",
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_text",
    "list_runs",
    "read_history",
    "read_predictions",
    "read_run_record",
    "resolve_artifacts_dir",
    "run_dir",
    "runs_root",
]
