"""The ``run.json`` record: required fields, their types, and validation.

Epoch numbers in ``run.json`` (``best_epoch``, ``lr_drop_epochs``,
``early_stop_epoch``, ``latest_epoch``) are Keras' 0-based epoch indices, the
same numbers as the ``epoch`` column of ``history.csv``, so the two join
directly. ``epochs_run`` is a count. The dashboard shows epochs 1-based.
"""

from __future__ import annotations

from typing import Any, Callable

from runstore.layout import SCHEMA_VERSION
from runstore.preprocessing import PREPROCESSING_MODES
from runstore.status import RECORDED_STATUSES, STATUS_COMPLETE, STATUS_FAILED

STATUSES = RECORDED_STATUSES

# Where a run came from: the lab's trainer, `python -m training import`, or LabCallback in a user's fit.
SOURCE_TRAINED = "trained"
SOURCE_IMPORTED = "imported"
SOURCE_CALLBACK = "callback"
SOURCES = (SOURCE_TRAINED, SOURCE_IMPORTED, SOURCE_CALLBACK)

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
    "learning_rate": OPTIONAL_NUMBER,  # null when an imported model does not say
    "group": (str,),                   # replicate group (schema 2); a run without seeds is a group of one
    "source": (str,),                  # trained | imported | callback (schema 2)
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
    "test_accuracy",
    "test_loss",
    "params_total",
    "params_trainable",
    "wall_seconds",
    "model_sha256",
)
# ...and, for a run the lab watched train (not an imported file, which may come without curves or timings):
COMPLETE_TRAINING_FIELDS = ("best_epoch", "train_seconds")

# Optional fields writers may add; readers must tolerate their absence.
OPTIONAL_FIELDS = (
    "description",      # registry one-liner at the time of training
    "input_size",       # side of the square model input in pixels (else read from the model)
    "preprocessing",    # how a reader prepares pixels for the model (runstore.preprocessing; absent = raw)
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
    "resume_note",      # which backup a restarted run resumed from, or why it started over (torn backups)
    "feature_cache",    # frozen-base feature cache: folder, reused, computed, skipped_augmentation
    "evaluation",       # how test predictions were made: tta_flip, tta_translate, from_cached_features, re_evaluated
    "seed",             # training-randomness seed of this replicate (training.replicates)
    "source_file", "source_sha256", "source_bytes", "source_format",  # an imported model's original file
    "outputs",          # probabilities or logits, as the imported model gave them
    "has_curves",       # false for an import without a history
    "node",             # the machine that trained the run: host name, or Ray node IP and id (training.executors)
)


# Optional fields whose value, when present, is checked.
OPTIONAL_FIELD_TYPES: dict[str, tuple[type, ...]] = {
    "input_size": (int,),
    "preprocessing": (str,),
    "seed": (int,),
}

def _version_1_to_2(record: dict) -> dict:
    """Schema 1 had no replicates and one source: each run is a group of one, trained by the lab."""
    record.setdefault("group", record.get("run_id"))
    record.setdefault("source", SOURCE_TRAINED)
    record["schema_version"] = 2
    return record


def _version_2_to_3(record: dict) -> dict:
    """Schema 3 only adds an optional file (validation predictions); a version-2 record reads as it is."""
    record["schema_version"] = 3
    return record


# Older versions this code still reads, each with the step that lifts a record
# one version up (version -> function of the record).
UPGRADES: dict[int, Callable[[dict], dict]] = {1: _version_1_to_2, 2: _version_2_to_3}
READABLE_VERSIONS = (*UPGRADES, SCHEMA_VERSION)


class SchemaError(ValueError):
    """A run.json that does not follow the contract; the message says what is wrong."""


def upgrade_run_record(record: dict) -> dict:
    """``record`` lifted to ``SCHEMA_VERSION`` through ``UPGRADES``; ``SchemaError`` for a version this code cannot read."""
    version = record.get("schema_version")
    if isinstance(version, bool) or version not in READABLE_VERSIONS:
        raise SchemaError(
            f"run.json has schema_version {version!r}; this code reads version {SCHEMA_VERSION}. "
            "Re-run training or upgrade the code."
        )
    while version != SCHEMA_VERSION:
        record = UPGRADES[version](dict(record))
        version = record["schema_version"]
    return record


def validate_run_record(record: Any) -> dict:
    """Return ``record`` (upgraded to the current version) if it is a valid run.json payload, else raise ``SchemaError``."""
    if not isinstance(record, dict):
        raise SchemaError("run.json must hold a JSON object")
    record = upgrade_run_record(record)
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
    for field, types in OPTIONAL_FIELD_TYPES.items():
        value = record.get(field)
        if value is not None and (isinstance(value, bool) or not isinstance(value, types)):
            raise SchemaError(f"run.json field {field!r} should be {' or '.join(t.__name__ for t in types)}, got {value!r}")
    if record.get("preprocessing") is not None and record["preprocessing"] not in PREPROCESSING_MODES:
        raise SchemaError(
            f"run.json preprocessing {record['preprocessing']!r} is not one of {', '.join(PREPROCESSING_MODES)}"
        )
    if record["source"] not in SOURCES:
        raise SchemaError(f"run.json source {record['source']!r} is not one of {', '.join(SOURCES)}")
    if record["status"] == STATUS_FAILED and not record["error"]:
        raise SchemaError("a failed run must say why in 'error'")
    if record["status"] == STATUS_COMPLETE:
        required = COMPLETE_FIELDS + (() if record["source"] == SOURCE_IMPORTED else COMPLETE_TRAINING_FIELDS)
        missing = [field for field in required if record.get(field) is None]
        if missing:
            raise SchemaError(f"complete run lacks {', '.join(missing)}")
    return record
