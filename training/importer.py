"""Bring your own model: ``python -m training import MODEL_FILE --name RUN_ID --preprocessing MODE``.

Turns a whole-model file saved anywhere (``model.save("m.keras")`` or the legacy
``model.save("m.h5")``) into a complete run folder that every dashboard page
treats like a run the lab trained. In order:

1. copy the file into a hidden build folder inside ``runs/`` while hashing it
   (so the bytes hashed are the bytes loaded);
2. read its config without building anything and refuse a Lambda layer or code
   outside Keras (``runstore.model_safety.find_unsafe_config``, the scan the dashboard
   uses); a weights-only, truncated or non-Keras file is refused here too;
3. load it with ``keras.saving.load_model(..., safe_mode=True, compile=False)``;
4. check for one square RGB input and 10 outputs;
5. evaluate on the CIFAR-10 test set with the model's own preprocessing
   (``training.byom``), turning logits into probabilities;
6. write model.keras (a softmax appended when the file emits logits),
   predictions.npz, model_summary.txt, history.csv (from ``--history``, else
   empty) and run.json (``source: imported``), then rename the build folder to
   ``runs/RUN_ID`` in one step.

Any refusal or crash deletes the build folder, so no partial run is ever listed.
A process killed outright (SIGKILL, power cut) can leave a hidden
``runs/.import-*`` folder, which the dashboard ignores and which is safe to delete.

Usage::

    from training.importer import import_model
    folder = import_model("notebook.keras", "my-notebook", preprocessing="unit", history="log.csv")
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import tempfile
import time
import zipfile
from pathlib import Path

from runstore import HISTORY_FILE, atomic_write_text, resolve_artifacts_dir
from runstore.history import HISTORY_REQUIRED_COLUMNS
from runstore.layout import run_dir, runs_root, validate_run_id
from runstore.writer import describe_write_error
from runstore.model_safety import KERAS_ARCHIVE_MEMBERS, MAX_CONFIG_BYTES, MAX_MODEL_BYTES, find_unsafe_config
from training.history_import import read_external_history
from runstore.preprocessing import check_preprocessing

MODEL_SUFFIXES = (".keras", ".h5", ".hdf5")
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
ZIP_SIGNATURE = b"PK\x03\x04"
BUILD_PREFIX = ".import-"
_CHUNK_BYTES = 1024 * 1024


class ImportRefused(ValueError):
    """A model file (or its history) that will not be imported; ``str()`` says why and what to do."""


def import_model(model_file: str | os.PathLike, run_id: str, preprocessing: str, history: str | os.PathLike | None = None,
                 artifacts_dir: str | os.PathLike | None = None, data_dir: str | os.PathLike | None = None,
                 config: dict | None = None, progress: bool = True,
                 progress_file: str | os.PathLike | None = None) -> Path:
    """Import ``model_file`` as complete run ``run_id`` (see the module docstring); return the run folder.

    Raises ``ImportRefused`` for a file, history or argument that cannot be imported,
    ``training.data.DataError`` when the test set is not found; nothing is left behind.
    ``progress_file``, when given, is rewritten at every step (see ``report_progress``),
    so another process (the dashboard's Add a model page) can show a progress bar.
    """
    wall_started = time.monotonic()

    def report(stage: str, done: int = 0, total: int = 0) -> None:
        if progress_file is not None:
            report_progress(progress_file, stage, done, total)

    report("checking")
    source = Path(model_file).expanduser()
    check_arguments(source, run_id, preprocessing, config)
    history_rows = _history_rows(history)
    from training.data import load_test_set, resolve_data_folder

    images, labels = load_test_set(data_dir)
    artifacts = resolve_artifacts_dir(artifacts_dir)
    final = run_dir(artifacts, run_id)
    if final.exists():
        raise ImportRefused(f"A run named {run_id!r} already exists ({final}). Choose another --name, or delete that folder.")
    runs_root(artifacts).mkdir(parents=True, exist_ok=True)
    # Hidden (leading dot), so the dashboard never lists it while it is being built.
    build = Path(tempfile.mkdtemp(prefix=f"{BUILD_PREFIX}{run_id}-", dir=runs_root(artifacts)))
    try:
        private_copy = build / f".source{source.suffix.lower()}"
        sha256, size = _copy_and_hash(source, private_copy)
        model_config, compile_config = read_model_config(private_copy)
        problem = find_unsafe_config(model_config)
        if problem:
            raise ImportRefused(
                f"{source.name} was refused because it {problem}: loading it could run code from the file, "
                "and nothing of it was run. Rebuild the model from Keras layers only (for example Rescaling "
                "instead of a Lambda that divides by 255), save it again and import that."
            )
        report("loading")
        model = _load_safely(private_copy, source.name)
        input_size = _checked_shapes(model, source.name)
        private_copy.unlink()
        from training.byom import evaluate_on_test_set

        print(f"Evaluating {source.name} on {len(labels):,} test images ({input_size}x{input_size}, preprocessing {preprocessing})", flush=True)
        report("evaluating", 0, len(labels))
        result = evaluate_on_test_set(model, images, labels, preprocessing, progress=progress,
                                      on_batch=lambda done, total: report("evaluating", done, total))
        report("writing", len(labels), len(labels))
        optimizer, learning_rate = optimizer_from_compile_config(compile_config)
        fields = {
            "run_id": run_id, "source": "imported", "source_file": source.name, "source_sha256": sha256,
            "source_bytes": size, "source_format": "h5" if private_copy.suffix != ".keras" else "keras",
            "model": model.name, "description": f"Imported from {source.name} (SHA-256 {sha256[:12]}…)",
            "preprocessing": preprocessing, "input_size": input_size, "outputs": result.outputs,
            "optimizer": (config or {}).get("optimizer", optimizer), "learning_rate": (config or {}).get("learning_rate", learning_rate),
            "config": dict(config or {}), "weights": f"imported from {source.name}",
            "data": {"source": str(resolve_data_folder(data_dir, allow_download=False)), "test_images": int(len(labels))},
        }
        write_finished_run(build, fields, model, result, labels, history_rows, wall_seconds=time.monotonic() - wall_started)
        _chmod_like_mkdir(build)
        os.rename(build, final)
    except OSError as error:
        shutil.rmtree(build, ignore_errors=True)
        message = describe_write_error(error, runs_root(artifacts), needed_bytes=2 * source.stat().st_size + 1_000_000,
                                       then="then import again: nothing of this import was kept.")
        if message:
            raise ImportRefused(message) from error
        raise
    except BaseException:
        shutil.rmtree(build, ignore_errors=True)
        raise
    report("done", len(labels), len(labels))
    print(f"{run_id}: test accuracy {result.accuracy:.4f} ({result.outputs}), run folder {final}", flush=True)
    return final


PROGRESS_STAGES = ("checking", "loading", "evaluating", "writing", "done")


def report_progress(path: str | os.PathLike, stage: str, done: int = 0, total: int = 0) -> None:
    """Replace ``path`` with ``{"stage": stage, "done": done, "total": total}`` (one JSON object, atomically).

    ``stage`` is one of ``PROGRESS_STAGES``; ``done``/``total`` count test images while evaluating.
    A reader polling the file always sees a whole object, never half of one.
    """
    if stage not in PROGRESS_STAGES:
        raise ValueError(f"unknown progress stage {stage!r}; expected one of {', '.join(PROGRESS_STAGES)}")
    atomic_write_text(Path(path), json.dumps({"stage": stage, "done": int(done), "total": int(total)}))


def _chmod_like_mkdir(folder: Path) -> None:
    """Give ``folder`` the permissions a plain mkdir would (mkdtemp makes it private to its owner)."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(folder, 0o777 & ~umask)


def check_arguments(source: Path, run_id: str, preprocessing: str, config: dict | None) -> None:
    """Refuse a bad name, preprocessing, config or model file name before anything is read."""
    try:
        validate_run_id(run_id)
        check_preprocessing(preprocessing)
    except ValueError as error:
        raise ImportRefused(str(error)) from None
    if config is not None and not isinstance(config, dict):
        raise ImportRefused(f"--config must be a JSON object such as {{\"epochs\": 10}}, got {type(config).__name__}")
    if source.suffix.lower() not in MODEL_SUFFIXES:
        raise ImportRefused(
            f"{source.name} is not a whole-model file: give a .keras file (model.save('model.keras')) "
            "or a legacy .h5 file (model.save('model.h5'))."
        )
    if not source.is_file():
        raise ImportRefused(f"The model file {source} does not exist.")


def _history_rows(history) -> list[dict]:
    """The history's rows, or [] without one; a bad history becomes ``ImportRefused``."""
    if history is None:
        return []
    from training.history_import import HistoryRefused

    try:
        return read_external_history(history)
    except HistoryRefused as error:
        raise ImportRefused(str(error)) from None


def _copy_and_hash(source: Path, destination: Path) -> tuple[str, int]:
    """Copy ``source`` to ``destination``; return the SHA-256 and size of exactly the bytes copied."""
    digest, copied = hashlib.sha256(), 0
    with open(source, "rb") as reader, open(destination, "wb") as writer:
        while chunk := reader.read(_CHUNK_BYTES):
            copied += len(chunk)
            if copied > MAX_MODEL_BYTES:
                raise ImportRefused(f"{source.name} is larger than {MAX_MODEL_BYTES // 2**20} MB, far beyond a CIFAR-10 model.")
            digest.update(chunk)
            writer.write(chunk)
    return digest.hexdigest(), copied


def read_model_config(path: Path) -> tuple[dict, dict | None]:
    """``(model config, compile config or None)`` read from a .keras or .h5 file without building anything."""
    with open(path, "rb") as handle:
        head = handle.read(8)
    if head.startswith(ZIP_SIGNATURE):
        return _keras_archive_config(path)
    if head == HDF5_SIGNATURE:
        return _hdf5_config(path)
    raise ImportRefused(
        f"{_shown_name(path)} is neither a Keras .keras archive nor an HDF5 .h5 file (it may be another kind of file "
        "renamed). Save the model with model.save('model.keras') and import that."
    )


def _shown_name(path: Path) -> str:
    return "The model file" if path.name.startswith(".source") else path.name


def _keras_archive_config(path: Path) -> tuple[dict, dict | None]:
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            missing = [name for name in KERAS_ARCHIVE_MEMBERS if name not in names]
            if missing:
                raise ImportRefused(f"The model file is a zip archive but not a Keras model (no {', '.join(missing)}).")
            if archive.getinfo("config.json").file_size > MAX_CONFIG_BYTES:
                raise ImportRefused("The model file has an implausibly large config, so it was not loaded.")
            config = json.loads(archive.read("config.json").decode("utf-8"))
            archive.getinfo("model.weights.h5")  # a .keras file without weights cannot be evaluated
    except ImportRefused:
        raise
    except KeyError:
        raise ImportRefused("The model file holds no weights (model.weights.h5 is missing from the archive).") from None
    except (zipfile.BadZipFile, UnicodeDecodeError, json.JSONDecodeError, OSError, EOFError):
        raise ImportRefused("The model file is damaged or cut short (its zip archive cannot be read). Save it again.") from None
    if not isinstance(config, dict):
        raise ImportRefused("The model file's config is not a Keras model config.")
    return config, config.get("compile_config")


def _hdf5_config(path: Path) -> tuple[dict, dict | None]:
    import h5py

    try:
        with h5py.File(path, "r") as handle:
            model_config = handle.attrs.get("model_config")
            training_config = handle.attrs.get("training_config")
    except OSError:
        raise ImportRefused("The .h5 file is damaged or cut short (HDF5 cannot open it). Save it again.") from None
    if model_config is None:
        raise ImportRefused(
            "The .h5 file holds only weights (saved with save_weights), not a model, so there is nothing to evaluate. "
            "Save the whole model with model.save('model.keras') and import that."
        )
    try:
        config = json.loads(model_config.decode("utf-8") if isinstance(model_config, bytes) else model_config)
        training = json.loads(training_config.decode("utf-8") if isinstance(training_config, bytes) else training_config) if training_config is not None else None
    except (UnicodeDecodeError, json.JSONDecodeError, AttributeError):
        raise ImportRefused("The .h5 file's model config is not readable JSON, so it is not a Keras model file.") from None
    compile_config = {"optimizer": training.get("optimizer_config")} if isinstance(training, dict) else None
    return config, compile_config


def optimizer_from_compile_config(compile_config: dict | None) -> tuple[str, float | None]:
    """``(optimizer name, initial learning rate)`` recorded in the file; ("unknown", None) when it does not say."""
    optimizer = (compile_config or {}).get("optimizer") if isinstance(compile_config, dict) else None
    if not isinstance(optimizer, dict):
        return "unknown", None
    settings = optimizer.get("config") if isinstance(optimizer.get("config"), dict) else {}
    # The class name, not config["name"]: Keras numbers optimizer names per process (adam_2).
    name = str(optimizer.get("class_name") or settings.get("name") or "unknown").lower()
    rate = settings.get("learning_rate")
    if isinstance(rate, dict):  # a schedule: its starting rate
        rate = (rate.get("config") or {}).get("initial_learning_rate")
    return name, float(rate) if isinstance(rate, (int, float)) and not isinstance(rate, bool) else None


def _load_safely(path: Path, shown_name: str):
    """``keras.saving.load_model`` in safe mode; any failure becomes ``ImportRefused``."""
    import keras

    import labkeras.layers  # noqa: F401  (the lab's own layers are allowed and must be registered)

    try:
        return keras.saving.load_model(path, safe_mode=True, compile=False)
    except Exception as error:  # Keras raises many types for a bad file; all mean "cannot load"
        text = str(error).strip()
        if "safe_mode" in text or "unsafe" in text.lower():
            raise ImportRefused(f"{shown_name} needs unsafe deserialization (Python code inside the file); safe mode stays on.") from None
        first_line = text.splitlines()[0][:300] if text else ""
        raise ImportRefused(
            f"{shown_name} could not be loaded by Keras ({type(error).__name__}: {first_line}). If it uses custom layers, "
            "rebuild it from standard Keras layers; if it was cut short, save it again."
        ) from None


def _checked_shapes(model, shown_name: str) -> int:
    """The model's input side, after refusing a non-image input or an output that is not 10 classes."""
    from training.byom import check_class_output, image_input_side

    try:
        side = image_input_side(model)
        check_class_output(model)
    except ValueError as error:
        raise ImportRefused(f"{shown_name} is not a CIFAR-10 image classifier: {error}.") from None
    return side


def write_finished_run(folder: Path, fields: dict, model, result, labels, history_rows: list[dict], wall_seconds: float) -> None:
    """Write model.keras, predictions, summary, history and, last, a complete run.json into ``folder``."""
    from training.byom import model_for_dashboard
    from training.callbacks import summarize_history
    from runstore.writer import RunRecord, save_model_and_predictions, write_history_rows, write_model_summary
    from training.provenance import provenance

    kept = model_for_dashboard(model, result.outputs)
    saved = save_model_and_predictions(folder, kept, labels, result.probs)
    parameters = write_model_summary(folder, kept)
    # Without a history the file holds only the header: the run has no curves, and says so in run.json.
    write_history_rows(folder / HISTORY_FILE, history_rows, columns=HISTORY_REQUIRED_COLUMNS)
    summary = summarize_history(history_rows)
    # The imported file holds the weights it was saved with: by default the last epoch's.
    last_epoch = history_rows[-1]["epoch"] if history_rows else None
    # CSVLogger records no time; a history from the lab's own format does (elapsed_seconds).
    elapsed = history_rows[-1].get("elapsed_seconds", math.nan) if history_rows else math.nan
    record = RunRecord(folder, fields, provenance=provenance())
    record.complete(
        test_accuracy=result.accuracy, test_loss=result.loss, **parameters,
        **saved, epochs_run=len(history_rows), best_epoch=None if last_epoch is None else int(last_epoch),
        lr_drop_epochs=summary["lr_drop_epochs"], latest_epoch=history_rows[-1]["epoch"] if history_rows else None,
        has_curves=bool(history_rows), best_epoch_rule="last epoch of the history (the weights the file was saved with)",
        # Schema 2 lets an imported run leave what its file does not say empty, never a made-up 0.
        train_seconds=None if math.isnan(elapsed) else float(elapsed),
        wall_seconds=round(wall_seconds, 3),
    )
