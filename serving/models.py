"""Loading a run's ``model.keras`` only when it is where it should be and is the file training wrote.

A model file is code-adjacent: Keras rebuilds objects from its ``config.json``.
So before Keras sees a byte, ``load_run_model`` checks, in order:

1. the run id is a plain folder name and the file resolves (symlinks followed)
   to a ``.keras`` file inside the artifacts folder;
2. ``run.json`` is valid and records the file's SHA-256 (written at save time);
3. the bytes hash to that SHA-256. They are copied to a private temporary file
   while hashing, and Keras loads that copy, so the file cannot be swapped
   between the check and the load;
4. the file is a Keras 3 zip archive whose config names no Lambda layer and no
   code outside Keras and this lab's ``labkeras.layers`` (older models name
   its former home, ``training.layers``, which is accepted by name only);
5. ``keras.saving.load_model(..., safe_mode=True, compile=False)``, which
   refuses Python lambdas on its own as a second line of defence.

Any failure raises ``ModelRefused`` with a sentence for the user.

Usage::

    from serving.models import ModelRefused, load_run_model
    try:
        model = load_run_model(artifacts_dir, run_id)
    except ModelRefused as refusal:
        st.error(str(refusal))
"""

from __future__ import annotations

import hashlib
import hmac
import importlib
import json
import os
import shutil
import tempfile
import zipfile
from pathlib import Path

from runstore.layout import MODEL_FILE, run_dir, runs_root, validate_run_id
from runstore.model_safety import (  # noqa: F401  (re-exported: the scan serving applies)
    ALLOWED_CODE_MODULES,
    CUSTOM_LAYERS_MODULE,
    KERAS_ARCHIVE_MEMBERS,
    MAX_CONFIG_BYTES,
    MAX_MODEL_BYTES,
    find_unsafe_config,
)
from runstore.errors import BrokenRun
from runstore.reader import read_run_record

_CHUNK_BYTES = 1024 * 1024


class ModelRefused(Exception):
    """A model file that will not be loaded; ``str()`` says why and what to do."""


def load_run_model(artifacts_dir: str | os.PathLike, run_id: str):
    """Load the ``model.keras`` of run ``run_id`` after the checks in the module docstring.

    Returns an uncompiled ``keras.Model``. Raises ``ModelRefused`` with a
    user-facing sentence when any check fails or Keras cannot load the file.
    """
    model_path = verified_model_path(artifacts_dir, run_id)
    expected_sha256 = _recorded_sha256(model_path.parent, run_id)
    private_folder = Path(tempfile.mkdtemp(prefix="cifarlab-model-"))
    try:
        private_copy = private_folder / MODEL_FILE
        actual_sha256 = _copy_and_hash(model_path, private_copy, run_id)
        if not hmac.compare_digest(actual_sha256, expected_sha256):
            raise ModelRefused(
                f"The model file of run {run_id} changed since training: its SHA-256 does not match "
                "the one in run.json, so it was not loaded. Restore the original file or train the run again."
            )
        check_archive(private_copy, run_id)
        return _load_with_keras(private_copy, run_id)
    finally:
        shutil.rmtree(private_folder, ignore_errors=True)


def verified_model_path(artifacts_dir: str | os.PathLike, run_id: str) -> Path:
    """The real path of run ``run_id``'s model file, refused unless it lies inside the artifacts folder."""
    try:
        validate_run_id(run_id)
    except ValueError:
        raise ModelRefused(
            f"{run_id!r} is not a valid run name, so no model was loaded. Pick a run from the list."
        ) from None
    try:
        artifacts_root = Path(artifacts_dir).resolve(strict=True)
    except (OSError, RuntimeError):
        raise ModelRefused(f"The artifacts folder {artifacts_dir} does not exist. Set ARTIFACTS_DIR to the right folder.") from None
    candidate = run_dir(artifacts_root, run_id) / MODEL_FILE
    try:
        # strict=True follows every symlink and fails when the target is missing.
        real_path = candidate.resolve(strict=True)
    except FileNotFoundError:
        raise ModelRefused(f"Run {run_id} has no {MODEL_FILE}, so there is nothing to load. Train the run again.") from None
    except (OSError, RuntimeError):
        raise ModelRefused(f"The model file of run {run_id} cannot be reached (a broken or looping link).") from None
    if not real_path.is_relative_to(runs_root(artifacts_root)) or real_path.suffix != ".keras":
        raise ModelRefused(
            f"The model file of run {run_id} points outside the artifacts folder, so it was not loaded. "
            "Only model files stored inside the artifacts folder are loaded."
        )
    if not real_path.is_file():
        raise ModelRefused(f"The model file of run {run_id} is not a regular file, so it was not loaded.")
    return real_path


def _recorded_sha256(folder: Path, run_id: str) -> str:
    """The model SHA-256 recorded in the run's ``run.json``."""
    try:
        record = read_run_record(folder)
    except BrokenRun as error:
        raise ModelRefused(f"Run {run_id} cannot be used: {error}.") from None
    recorded = record.get("model_sha256")
    if not isinstance(recorded, str) or len(recorded) != 64:
        raise ModelRefused(
            f"run.json of run {run_id} records no model SHA-256, so the model file cannot be verified "
            "and was not loaded. Train the run again with the current code."
        )
    return recorded.lower()


def _copy_and_hash(source: Path, destination: Path, run_id: str) -> str:
    """Copy ``source`` to ``destination`` and return the SHA-256 of exactly the bytes copied."""
    digest = hashlib.sha256()
    copied = 0
    try:
        with open(source, "rb") as reader, open(destination, "wb") as writer:
            while chunk := reader.read(_CHUNK_BYTES):
                copied += len(chunk)
                if copied > MAX_MODEL_BYTES:
                    raise ModelRefused(
                        f"The model file of run {run_id} is larger than {MAX_MODEL_BYTES // (1024 * 1024)} MB, "
                        "far beyond any model of this lab, so it was not loaded."
                    )
                digest.update(chunk)
                writer.write(chunk)
    except OSError as error:
        raise ModelRefused(f"The model file of run {run_id} cannot be read ({error.strerror or error}).") from None
    return digest.hexdigest()


def check_archive(path: str | os.PathLike, run_id: str) -> None:
    """Refuse a file that is not a Keras 3 archive, or whose config names a Lambda or foreign code."""
    path = Path(path)
    if not zipfile.is_zipfile(path):
        with open(path, "rb") as handle:
            head = handle.read(8)
        if head.startswith(b"PK\x03\x04"):
            raise ModelRefused(
                f"The model file of run {run_id} is damaged (a zip archive cut short), so it was not loaded. "
                "Train the run again."
            )
        kind = "a legacy HDF5 (.h5) file" if head.startswith(b"\x89HDF") else "not a zip archive"
        raise ModelRefused(
            f"The model file of run {run_id} is not in the Keras 3 .keras format ({kind}), so it was not loaded. "
            "Train the run again with the current code."
        )
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            missing = [name for name in KERAS_ARCHIVE_MEMBERS if name not in names]
            if missing:
                raise ModelRefused(
                    f"The model file of run {run_id} is a zip archive but not a Keras model (no {', '.join(missing)}). "
                    "Train the run again."
                )
            if archive.getinfo("config.json").file_size > MAX_CONFIG_BYTES:
                raise ModelRefused(f"The model file of run {run_id} has an implausibly large config, so it was not loaded.")
            config = json.loads(archive.read("config.json").decode("utf-8"))
    except ModelRefused:
        raise
    except (zipfile.BadZipFile, UnicodeDecodeError, json.JSONDecodeError, OSError, EOFError) as error:
        raise ModelRefused(f"The model file of run {run_id} is damaged ({type(error).__name__}), so it was not loaded.") from None
    problem = find_unsafe_config(config)
    if problem:
        raise ModelRefused(
            f"The model of run {run_id} was refused because it {problem}: loading it could run foreign code. "
            "Models in this lab use only Keras layers and labkeras.layers; retrain it without that layer."
        )


def _register_custom_layers() -> None:
    """Import ``labkeras.layers`` so Keras knows the lab's layers by their registered names."""
    importlib.import_module(CUSTOM_LAYERS_MODULE)


def _load_with_keras(path: Path, run_id: str):
    """``keras.saving.load_model`` in safe mode, with its failures turned into ``ModelRefused``."""
    import keras  # imported here: listing runs must not pay for Keras

    _register_custom_layers()
    try:
        model = keras.saving.load_model(path, safe_mode=True, compile=False)
    except Exception as error:  # Keras raises many types for a bad file; all mean "cannot load"
        text = str(error)
        if "safe_mode" in text or "unsafe" in text.lower():
            raise ModelRefused(
                f"The model of run {run_id} was refused because it needs unsafe deserialization "
                "(Python code inside the file); safe mode stays on in this app."
            ) from None
        first_line = text.strip().splitlines()[0][:200] if text.strip() else ""
        raise ModelRefused(
            f"The model of run {run_id} could not be loaded ({type(error).__name__}: {first_line}). "
            "It may come from another version of the code; train the run again."
        ) from None
    output_shape = tuple(model.output_shape) if not isinstance(model.output_shape, list) else None
    if output_shape is None or output_shape[-1] != 10:
        raise ModelRefused(
            f"The model of run {run_id} does not output 10 class probabilities (output shape {model.output_shape}), "
            "so it is not a CIFAR-10 classifier of this lab."
        )
    return model


def model_input_size(model) -> int:
    """The side in pixels of the square RGB input ``model`` expects (32 or 224 in this lab)."""
    shape = model.input_shape
    if isinstance(shape, list) or len(shape) != 4 or shape[1] != shape[2] or shape[3] != 3 or shape[1] is None:
        raise ValueError(f"Expected a model with one square RGB input, got input shape {shape}")
    return int(shape[1])
