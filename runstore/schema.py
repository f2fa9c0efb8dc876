"""The ``run.json`` record: required fields, their types, and validation.

Epoch numbers in ``run.json`` (``best_epoch``, ``lr_drop_epochs``,
``early_stop_epoch``, ``latest_epoch``) are Keras' 0-based epoch indices, the
same numbers as the ``epoch`` column of ``history.csv``, so the two join
directly. ``epochs_run`` is a count. The dashboard shows epochs 1-based.
"""

from __future__ import annotations

from typing import Any

from runstore.layout import SCHEMA_VERSION

STATUS_RUNNING = "running"
STATUS_COMPLETE = "complete"
STATUS_FAILED = "failed"
STATUSES = (STATUS_RUNNING, STATUS_COMPLETE, STATUS_FAILED)

NUMBER = (int, float)
OPTIONAL_NUMBER = (int, float, type(None))
OPTIONAL_INT = (int, type(None))
OPTIONAL_STR = (str, type(None))

# Fields every run.json has from the moment the run starts, with their types.
REQUIRED_FIELDS: dict[str, tuple[type, ...]] = {
    "schema_version": (int,),
    "run_id": (str,),
    "status": (str,),
    "error": OPTIONAL_STR,
    "model": (str,),
    "optimizer": (str,),
    "learning_rate": NUMBER,
    "config": (dict,),
    "weights": (str,),
    "data": (dict,),
    "epochs_run": (int,),
    "best_epoch": OPTIONAL_INT,
    "lr_drop_epochs": (list,),
    "early_stop_epoch": OPTIONAL_INT,
    "test_accuracy": OPTIONAL_NUMBER,
    "test_loss": OPTIONAL_NUMBER,
    "params_total": OPTIONAL_INT,
    "params_trainable": OPTIONAL_INT,
    "train_seconds": OPTIONAL_NUMBER,
    "wall_seconds": OPTIONAL_NUMBER,
    "versions": (dict,),
    "git_commit": OPTIONAL_STR,
    "started_at": (str,),
    "updated_at": (str,),
}

# Fields a complete run must also have filled in (not None).
COMPLETE_FIELDS = (
    "best_epoch",
    "test_accuracy",
    "test_loss",
    "params_total",
    "params_trainable",
    "train_seconds",
    "wall_seconds",
    "model_sha256",
)

# Optional fields writers may add; readers must tolerate their absence.
OPTIONAL_FIELDS = (
    "description",      # registry one-liner at the time of training
    "input_size",       # side of the square model input in pixels
    "weights_note",     # why the weights differ from what was asked, if they do
    "latest_epoch",     # last finished epoch while running
    "finished_at",
    "model_sha256",     # SHA-256 of model.keras, checked before loading
    "model_bytes",
    "pid",              # trainer process id, to tell a live run from a killed one
    "host",
    "latency",          # inference cost measurements, see serving
    "suite",            # suite name when started by `python -m training suite`
    "test_limit",       # predictions cover only the first N test images
    "resumed_from_epoch",  # set when a killed run was continued
    "feature_cache",    # frozen-base feature cache: folder, reused, computed, skipped_augmentation
    "evaluation",       # how test predictions were made: tta_flip, tta_translate, from_cached_features, re_evaluated
    "node",             # the machine that trained the run: host name, or Ray node IP and id (training.executors)
)


class SchemaError(ValueError):
    """A run.json that does not follow the contract; the message says what is wrong."""


def validate_run_record(record: Any) -> dict:
    """Return ``record`` if it is a valid run.json payload, else raise ``SchemaError``."""
    if not isinstance(record, dict):
        raise SchemaError("run.json must hold a JSON object")
    version = record.get("schema_version")
    if version != SCHEMA_VERSION:
        raise SchemaError(
            f"run.json has schema_version {version!r}; this code reads version {SCHEMA_VERSION}. "
            "Re-run training or upgrade the code."
        )
    for field, types in REQUIRED_FIELDS.items():
        if field not in record:
            raise SchemaError(f"run.json lacks the field {field!r}")
        value = record[field]
        # bool is a subclass of int; a boolean is never a valid number here.
        if isinstance(value, bool) or not isinstance(value, types):
            expected = " or ".join("null" if t is type(None) else t.__name__ for t in types)
            raise SchemaError(f"run.json field {field!r} should be {expected}, got {value!r}")
    if record["status"] not in STATUSES:
        raise SchemaError(f"run.json status {record['status']!r} is not one of {', '.join(STATUSES)}")
    if record["status"] == STATUS_FAILED and not record["error"]:
        raise SchemaError("a failed run must say why in 'error'")
    if record["status"] == STATUS_COMPLETE:
        missing = [field for field in COMPLETE_FIELDS if record.get(field) is None]
        if missing:
            raise SchemaError(f"complete run lacks {', '.join(missing)}")
    return record
