"""Adding a model from the browser: stage the uploaded file, run the import command on it, report back.

The dashboard never imports ``training`` (data flows one way, through run
folders), so the Add a model page runs the same command a user would type::

    python -m training import FILE --name RUN_ID --preprocessing MODE [--history CSV] --progress-file PATH

as a subprocess. That keeps TensorFlow's evaluation of 10,000 test images out of
the server process, so other sessions stay responsive, and means the browser
route applies exactly the checks of the command (safe mode, shapes, 10 classes).

The upload is written to a private staging folder ``<artifacts>/uploads/<random>/``
(mode 0700, outside ``runs/`` so it is never listed) and deleted afterwards,
whatever happened. The command itself builds the run in a hidden folder and
renames it into ``runs/`` only when complete, so a refusal leaves nothing.

Usage (what the page does)::

    check_model_upload(upload.name, upload.size, limit_bytes)
    staging = stage_upload(artifacts, upload.name, upload.getvalue())
    try:
        job = start_import(staging, run_id, "unit", artifacts)
        while job.running():
            show(read_progress(staging.progress_path))
        outcome = job.outcome()        # ImportOutcome(ok, message)
    finally:
        discard_staging(staging)
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from runstore.layout import run_dir, validate_run_id
from runstore.preprocessing import PREPROCESSING_MODES

REPO_ROOT = Path(__file__).resolve().parents[1]
UPLOADS_DIR = "uploads"
MODEL_SUFFIXES = (".keras", ".h5", ".hdf5")
HISTORY_SUFFIXES = (".csv",)
# A CIFAR-10 model of this study is at most ~100 MB (ResNet50V2 at 224 px); twice that
# leaves room for a larger notebook model while bounding the memory an upload holds
# (Streamlit keeps uploaded files in memory). Override with MODEL_UPLOAD_MAX_MB; the
# server's own cap, server.maxUploadSize in dashboard/.streamlit/config.toml, must be raised too.
DEFAULT_MODEL_UPLOAD_MB = 200
MODEL_UPLOAD_ENV = "MODEL_UPLOAD_MAX_MB"
# A CSVLogger file of a few hundred epochs is a few tens of kilobytes.
MAX_HISTORY_BYTES = 5 * 1024 * 1024
MEGABYTE = 1024 * 1024  # Streamlit's megabyte, as in server.maxUploadSize
STOP_GRACE_SECONDS = 15

# Which kinds of models expect each preprocessing mode, shown after the mode's own
# description (runstore.preprocessing, the one list of modes) in the picker.
_PREPROCESSING_EXAMPLES = {
    "raw": "a Rescaling layer inside, as the lab's models have",
    "unit": "what most notebooks do before fit",
    "tf": "MobileNet, Inception, Xception style",
    "caffe": "VGG16, ResNet50 style",
    "torch": "DenseNet, PyTorch style",
}
PREPROCESSING_CHOICES: dict[str, str] = {
    mode: f"{mode}: {description}" + (f" ({_PREPROCESSING_EXAMPLES[mode]})" if mode in _PREPROCESSING_EXAMPLES else "")
    for mode, description in PREPROCESSING_MODES.items()
}

_UNSAFE_NAME_CHARACTERS = re.compile(r"[^A-Za-z0-9._-]+")


class UploadRefused(ValueError):
    """An upload refused before the import runs; ``str()`` says why and what to do."""


def model_upload_limit_mb(environ: dict | None = None) -> int:
    """The largest model file accepted, in megabytes: ``$MODEL_UPLOAD_MAX_MB`` or 200."""
    text = (os.environ if environ is None else environ).get(MODEL_UPLOAD_ENV, "").strip()
    if not text:
        return DEFAULT_MODEL_UPLOAD_MB
    if not text.isdigit() or int(text) < 1:
        raise UploadRefused(f"{MODEL_UPLOAD_ENV}={text!r} is not a whole number of megabytes such as 200; fix it and restart.")
    return int(text)


def check_model_upload(name: str, size: int, limit_bytes: int) -> None:
    """Refuse a model upload by its name and size before a byte is written anywhere."""
    suffix = Path(name).suffix.lower()
    if suffix not in MODEL_SUFFIXES:
        raise UploadRefused(
            f"{name} is not a whole-model file: upload the .keras file from model.save('model.keras') "
            "or a legacy .h5 file from model.save('model.h5')."
        )
    if size == 0:
        raise UploadRefused(f"{name} is empty. Save the model again and upload that file.")
    if size > limit_bytes:
        raise UploadRefused(
            f"{name} is {size / MEGABYTE:.0f} MB, over this server's limit of {limit_bytes // MEGABYTE} MB. "
            "Import it from a terminal instead: python -m training import FILE --name NAME --preprocessing MODE."
        )


def check_history_upload(name: str, size: int) -> None:
    """Refuse a history upload that is not a CSVLogger file by name, or is too large to be one."""
    if Path(name).suffix.lower() not in HISTORY_SUFFIXES:
        raise UploadRefused(
            f"{name} is not a CSV file. Upload the file keras.callbacks.CSVLogger wrote, or leave the history out "
            "(a TensorBoard log folder can be imported from a terminal with --history)."
        )
    if size > MAX_HISTORY_BYTES:
        raise UploadRefused(f"{name} is {size / MEGABYTE:.1f} MB, far larger than a CSVLogger file; upload the right file.")


def check_run_name(artifacts_dir: str | os.PathLike, run_id: str) -> str:
    """``run_id`` stripped, refused when it is not a valid run folder name or a run of that name exists."""
    run_id = (run_id or "").strip()
    try:
        validate_run_id(run_id)
    except ValueError:
        raise UploadRefused(
            f"{run_id!r} cannot name a run: use 1 to 128 letters, digits, '.', '_' or '-', starting with a letter or digit."
        ) from None
    if run_dir(artifacts_dir, run_id).exists():
        raise UploadRefused(f"A run named {run_id!r} already exists. Choose another name.")
    return run_id


def safe_file_name(name: str) -> str:
    """``name`` reduced to its last path part with only letters, digits, '.', '_' and '-' (never hidden, never empty)."""
    base = _UNSAFE_NAME_CHARACTERS.sub("_", Path(str(name).replace("\\", "/")).name).lstrip(".")
    return base or "upload"


def suggest_run_id(file_name: str) -> str:
    """A run name proposed from an uploaded file name: ``My model (v2).keras`` → ``my-model-v2``."""
    stem = Path(safe_file_name(file_name)).stem
    words = [word for word in re.split(r"[^A-Za-z0-9]+", stem) if word]
    return "-".join(words).lower()[:64] or "imported-model"


@dataclass(frozen=True)
class Staging:
    """The private folder holding one upload while it is imported."""

    folder: Path
    model_path: Path
    history_path: Path | None

    @property
    def progress_path(self) -> Path:
        """Where the import command keeps its progress (``--progress-file``)."""
        return self.folder / "progress.json"

    @property
    def log_path(self) -> Path:
        """The import command's stdout and stderr (a file, never a pipe: TensorFlow is chatty)."""
        return self.folder / "import.log"


def uploads_root(artifacts_dir: str | os.PathLike) -> Path:
    """``<artifacts>/uploads``: staging folders live here, never in ``runs/``."""
    return Path(artifacts_dir) / UPLOADS_DIR


def stage_upload(artifacts_dir: str | os.PathLike, model_name: str, model_bytes: bytes,
                 history_name: str | None = None, history_bytes: bytes | None = None) -> Staging:
    """Write the uploaded model (and history) into a new private folder under ``<artifacts>/uploads``.

    The model keeps its (sanitised) file name, which the run records as its source.
    """
    root = uploads_root(artifacts_dir)
    root.mkdir(parents=True, exist_ok=True)
    # mkdtemp: a fresh, unguessable folder readable by this user only.
    folder = Path(tempfile.mkdtemp(prefix="upload-", dir=root))
    try:
        model_path = folder / safe_file_name(model_name)
        model_path.write_bytes(model_bytes)
        history_path = None
        if history_bytes is not None:
            history_path = folder / f"history-{safe_file_name(history_name or 'history.csv')}"
            history_path.write_bytes(history_bytes)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return Staging(folder, model_path, history_path)


def discard_staging(staging: Staging) -> None:
    """Delete the staging folder and, when no other upload is in progress, the empty ``uploads`` folder."""
    shutil.rmtree(staging.folder, ignore_errors=True)
    try:
        staging.folder.parent.rmdir()
    except OSError:
        pass  # another session's upload is still staged there


def import_command(staging: Staging, run_id: str, preprocessing: str, artifacts_dir: str | os.PathLike,
                   python: str = sys.executable) -> list[str]:
    """The ``python -m training import`` command line for a staged upload."""
    if preprocessing not in PREPROCESSING_CHOICES:
        raise UploadRefused(f"Unknown preprocessing {preprocessing!r}; choose one of {', '.join(PREPROCESSING_CHOICES)}.")
    command = [python, "-m", "training", "import", str(staging.model_path), "--name", run_id,
               "--preprocessing", preprocessing, "--artifacts-dir", str(Path(artifacts_dir).resolve()),
               "--progress-file", str(staging.progress_path)]
    return command + (["--history", str(staging.history_path)] if staging.history_path else [])


@dataclass(frozen=True)
class Progress:
    """How far an import is: a fraction for the bar and a sentence beside it."""

    fraction: float
    text: str


_STAGE_TEXT = {
    "checking": "Checking the file (format, safe-mode scan of its config)…",
    "loading": "Loading the model in Keras safe mode…",
    "writing": "Writing the run folder…",
    "done": "Done.",
}


def read_progress(path: str | os.PathLike) -> Progress:
    """The import's progress from its ``--progress-file``; "Starting…" until the command has written it.

    Checking and loading take the first 10 %, evaluation 10–95 %, writing the rest.
    """
    try:
        state = json.loads(Path(path).read_text(encoding="utf-8"))
        stage, done, total = state["stage"], int(state.get("done", 0)), int(state.get("total", 0))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return Progress(0.0, "Starting Python and TensorFlow…")
    if stage == "evaluating":
        share = done / total if total > 0 else 0.0
        return Progress(0.10 + 0.85 * min(max(share, 0.0), 1.0), f"Evaluating on the test images: {done:,} of {total:,}…")
    fraction = {"checking": 0.02, "loading": 0.05, "writing": 0.95, "done": 1.0}.get(stage, 0.0)
    return Progress(fraction, _STAGE_TEXT.get(stage, "Working…"))


@dataclass(frozen=True)
class ImportOutcome:
    """How an import ended: ``ok`` and a sentence for the user (the refusal, or where the run is)."""

    ok: bool
    message: str


def refusal_message(returncode: int, output: str) -> str:
    """The sentence to show for a failed import command, from its exit status and its output.

    The command prints ``error: <sentence>`` for every refusal (status 1) and argparse
    ``... error: <sentence>`` for a bad argument (status 2); a crash ends in a traceback.
    """
    if returncode in (130, -signal.SIGINT):
        return "The import was cancelled before it finished; nothing was added."
    if returncode < 0:
        return (f"The import was stopped by signal {-returncode} (the server may be short of memory) before it finished; "
                "nothing was added. Try again, or import from a terminal.")
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    for line in reversed(lines):
        if line.startswith("error: "):
            return line[len("error: "):]
        if ": error: " in line and line.startswith("python -m training"):
            return line.split(": error: ", 1)[1]
    last = lines[-1][:300] if lines else "no output"
    return f"The import failed unexpectedly (exit status {returncode}: {last}); nothing was added. The server log has the details."


class ImportJob:
    """A running ``python -m training import`` on a staged upload."""

    def __init__(self, staging: Staging, command: list[str], environ: dict | None = None):
        self.staging = staging
        with open(staging.log_path, "wb") as log:
            self.process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT,
                                            env={**(os.environ if environ is None else environ), "TF_CPP_MIN_LOG_LEVEL": "2"})

    def running(self) -> bool:
        """Whether the command is still working."""
        return self.process.poll() is None

    def stop(self) -> None:
        """Cancel the import: SIGINT first, so the command deletes its hidden build folder, then insist."""
        if not self.running():
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def outcome(self) -> ImportOutcome:
        """Wait for the command and say how it ended."""
        returncode = self.process.wait()
        try:
            output = self.staging.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            output = ""
        if returncode == 0:
            return ImportOutcome(True, output.strip().splitlines()[-1] if output.strip() else "")
        return ImportOutcome(False, refusal_message(returncode, output))


def start_import(staging: Staging, run_id: str, preprocessing: str, artifacts_dir: str | os.PathLike,
                 environ: dict | None = None) -> ImportJob:
    """Start importing ``staging`` as run ``run_id``; poll ``job.running()`` and ``read_progress``."""
    return ImportJob(staging, import_command(staging, run_id, preprocessing, artifacts_dir), environ)
