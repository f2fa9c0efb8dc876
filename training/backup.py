"""Epoch backups that are whole or absent, and the check that picks one to resume from.

A run folder's ``backup/`` holds one folder per backed-up epoch::

    backup/epoch-<N>/weights.weights.h5       model and optimizer state after N finished epochs
    backup/epoch-<N>/training_metadata.json   {"epoch": N, "weights_bytes": ...}
    backup/best.weights.h5                    the best epoch's weights (``BestWeightsCheckpoint``)

``N`` counts finished epochs, so it is also the (0-based) epoch a resumed attempt
trains first: Keras' ``initial_epoch``. ``EpochBackup`` writes each backup into
``backup/.partial-<pid>/`` and renames that folder to ``epoch-<N>`` (a rename is
atomic), and only then deletes the older ones, keeping the last ``keep``: a
SIGKILL at any moment leaves the previous whole backup in place. Keras'
``BackupAndRestore`` wrote ``latest.weights.h5`` and then ``training_metadata.json``
in place, so a kill could leave a 0-byte weights file beside valid metadata
(issue 27): that old layout is still resumed from when whole and ignored when torn.

Resuming, the trainer calls ``latest_whole_backup(run_folder)``, which opens each
candidate's weights with h5py and reads every array, newest first, and skips a
backup that ``history.csv`` does not reach yet; it passes the
chosen epoch to ``fit(initial_epoch=...)`` and ``training.callbacks.EpochBackup``
loads its weights when training begins. Whatever was chosen is said in
``BackupCheck.note``. This module imports neither Keras nor TensorFlow (``suite
--dry-run`` asks ``has_backup`` without them); the model is only called.

Usage::

    check = latest_whole_backup(folder)
    print(check.note)                      # "backup epoch-5 is torn (...); resuming from epoch 4"
    callback = EpochBackup(folder / "backup", resume_epoch=check.epoch)
    model.fit(..., initial_epoch=check.epoch or 0, callbacks=[callback])
"""

from __future__ import annotations

import errno
import gc
import json
import os
import re
import shutil
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from runstore.atomic import atomic_write_json
from runstore.writer import free_bytes
from runstore.layout import BACKUP_DIR, HISTORY_FILE

WEIGHTS_FILE = "weights.weights.h5"  # Keras insists on the .weights.h5 ending
METADATA_FILE = "training_metadata.json"
EPOCH_FOLDER = re.compile(r"^epoch-(\d+)$")
PARTIAL_PREFIX = ".partial-"
# The layout Keras' BackupAndRestore wrote before the lab had its own backups.
LEGACY_WEIGHTS = "latest.weights.h5"
LEGACY_FILES = (LEGACY_WEIGHTS, METADATA_FILE, f"{LEGACY_WEIGHTS}.bkp", f"{METADATA_FILE}.bkp")

# For crash tests only: "<stage>:<N>" makes the trainer SIGKILL itself at that stage of
# epoch N's backup (stages: weights-written, published). Unset in any real run.
CRASH_ENV = "TRAINING_BACKUP_CRASH_AT"


@dataclass(frozen=True)
class Backup:
    """One whole backup: the state after ``epoch`` finished epochs."""

    epoch: int     # finished epochs = the epoch a resumed attempt starts at
    weights: Path  # the .weights.h5 file (model and optimizer variables)
    name: str      # how notes call it: "epoch-5", or "latest.weights.h5" for the old layout


@dataclass(frozen=True)
class BackupCheck:
    """What ``latest_whole_backup`` found: the backup to resume from (None: start over) and why, in a sentence."""

    backup: Backup | None
    note: str | None  # None only when there was no backup at all (a brand-new run)

    @property
    def epoch(self) -> int | None:
        """The epoch to resume from, or None for a fresh start."""
        return None if self.backup is None else self.backup.epoch


# ----------------------------------------------------------------------------- checking


def weights_problem(path: Path, expected_bytes: int | None = None) -> str | None:
    """Why the Keras weights file ``path`` cannot be restored from, or None when it is whole.

    Whole means: the size the writer recorded (when it recorded one), a readable HDF5
    file (h5py refuses a truncated or foreign file on opening), the ``layers`` and
    ``optimizer`` groups Keras' ``save_weights`` writes, and every array readable.
    """
    import h5py

    try:
        size = path.stat().st_size
    except OSError as error:
        return f"{path.name} unreadable: {error.strerror or error}"
    if size == 0:
        return f"{path.name} is empty"
    if expected_bytes is not None and size != expected_bytes:
        return f"{path.name} has {size} bytes, {expected_bytes} were written"
    arrays = 0
    try:
        with h5py.File(path, "r") as handle:
            missing = [group for group in ("layers", "optimizer") if not isinstance(handle.get(group), h5py.Group)]
            if missing:
                return f"{path.name} has no {' or '.join(missing)} group"
            names: list[str] = []
            handle.visititems(lambda name, item: names.append(name) if isinstance(item, h5py.Dataset) else None)
            for name in names:
                # Reading every array, not just the headers: a torn file can have whole headers.
                # One at a time, so a large model's backup is never all in memory at once.
                handle[name][()]
                arrays += 1
    except Exception as error:  # h5py raises OSError, RuntimeError, KeyError... for damaged files
        return f"{path.name} is not a readable weights file: {str(error).splitlines()[0] if str(error) else type(error).__name__}"
    if not arrays:
        return f"{path.name} holds no weights"
    return None


def _read_epoch(metadata: Path) -> tuple[int | None, dict, str | None]:
    """(epoch, the whole metadata, problem) of a ``training_metadata.json``."""
    try:
        payload = json.loads(metadata.read_text(encoding="utf-8"))
        epoch = payload["epoch"]
        if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
            raise TypeError(f"epoch is {epoch!r}")
        return epoch, payload, None
    except FileNotFoundError:
        return None, {}, f"{metadata.name} is missing"
    except (OSError, ValueError, KeyError, TypeError) as error:
        return None, {}, f"{metadata.name} is unreadable ({type(error).__name__}: {error})"


def _candidates(backup_dir: Path) -> list[tuple[int, str, Path | None, str | None, int | None]]:
    """(epoch, name, weights, problem, expected bytes) of every backup in ``backup_dir``, newest first.

    Problems found without opening the weights (unparseable metadata) are filled in here.
    """
    found = []
    for child in backup_dir.iterdir() if backup_dir.is_dir() else []:
        match = EPOCH_FOLDER.match(child.name)
        if match and child.is_dir():
            epoch, payload, problem = _read_epoch(child / METADATA_FILE)
            if problem is None and epoch != int(match.group(1)):
                problem = f"{METADATA_FILE} says epoch {epoch}"
            expected = payload.get("weights_bytes")
            found.append((int(match.group(1)), child.name, child / WEIGHTS_FILE, problem,
                          expected if isinstance(expected, int) else None))
    legacy_metadata = backup_dir / METADATA_FILE
    if legacy_metadata.is_file() or (backup_dir / LEGACY_WEIGHTS).is_file():
        epoch, _, problem = _read_epoch(legacy_metadata)
        # An unreadable old-layout epoch sorts last: it cannot be newer than anything known.
        found.append((-1 if epoch is None else epoch, LEGACY_WEIGHTS, backup_dir / LEGACY_WEIGHTS, problem, None))
    # Newest first; at the same epoch the lab's own layout before the old one.
    return sorted(found, key=lambda item: (item[0], item[1] != LEGACY_WEIGHTS), reverse=True)


def history_epochs(run_folder: str | os.PathLike) -> int:
    """How many epochs ``history.csv`` of ``run_folder`` holds without a gap, counting from epoch 0."""
    from runstore.history import read_history_rows  # pandas: not needed by has_backup

    count = 0
    for row in read_history_rows(Path(run_folder) / HISTORY_FILE):
        if row["epoch"] != count:
            break
        count += 1
    return count


def latest_whole_backup(run_folder: str | os.PathLike) -> BackupCheck:
    """The newest backup in ``run_folder/backup`` that is whole and that the history reaches, and a note saying so.

    Whole: its metadata parses and its weights pass ``weights_problem``. Reached:
    ``history.csv`` has a row for every epoch before it (a kill between the backup
    and the history row leaves a backup one epoch ahead; resuming from it would
    leave a gap in the history). A torn newest backup falls back to the next older
    whole one; with none, the check says to start over. Nothing is changed on disk
    (``EpochBackup`` tidies when training begins).
    """
    skipped: list[str] = []
    reached = None
    for epoch, name, weights, problem, expected in _candidates(Path(run_folder) / BACKUP_DIR):
        if problem is None:
            problem = weights_problem(weights, expected)
        if problem is None:
            reached = history_epochs(run_folder) if reached is None else reached
            if epoch > reached:
                skipped.append(f"backup {name} is ahead of {HISTORY_FILE}, which ends after {reached} epochs")
                continue
        if problem is None:
            backup = Backup(epoch, weights, name)
            said = "; ".join(skipped)
            return BackupCheck(backup, f"{said}; resuming from epoch {epoch}" if said
                               else f"resuming from epoch {epoch} (backup {name} is whole)")
        skipped.append(f"backup {name} is torn ({problem})")
    if not skipped:
        return BackupCheck(None, None)
    return BackupCheck(None, "; ".join(skipped) + "; no whole backup; starting over")


def backup_of_epoch(backup_dir: str | os.PathLike, epoch: int) -> Backup:
    """The backup ``latest_whole_backup`` chose for ``epoch`` (the lab's layout first); ``FileNotFoundError`` if gone."""
    backup_dir = Path(backup_dir)
    weights = backup_dir / f"epoch-{epoch}" / WEIGHTS_FILE
    if weights.is_file():
        return Backup(epoch, weights, weights.parent.name)
    if (backup_dir / LEGACY_WEIGHTS).is_file() and _read_epoch(backup_dir / METADATA_FILE)[0] == epoch:
        return Backup(epoch, backup_dir / LEGACY_WEIGHTS, LEGACY_WEIGHTS)
    raise FileNotFoundError(f"No backup of epoch {epoch} in {backup_dir} (was it deleted while the run started?)")


def has_backup(run_folder: str | os.PathLike) -> bool:
    """Whether ``run_folder/backup`` holds any epoch backup, whole or not (cheap: opens nothing)."""
    return bool(_candidates(Path(run_folder) / BACKUP_DIR))


# ----------------------------------------------------------------------------- writing


def _fsync(path: Path) -> None:
    """Flush ``path`` (a file or a folder) to disk, so a rename after it never publishes unwritten data."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_save_weights(model, path: str | os.PathLike) -> None:
    """``model.save_weights(path)`` whole or not at all: a temporary name in the same folder, fsync, ``os.replace``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f"{PARTIAL_PREFIX}{os.getpid()}-{path.name}")
    try:
        _refuse_when_it_cannot_fit(model, temporary)
        model.save_weights(temporary, overwrite=True)
        _fsync(temporary)
        os.replace(temporary, path)
    except BaseException:
        _release_failed_write(temporary)
        raise
    _fsync(path.parent)


def _release_failed_write(path: Path) -> None:
    """Delete a half-written weights file or folder and give its space back.

    After a failed write (a full disk) Keras' weights file stays open: its store is a
    local of the finished saving frames, which the exception's traceback still holds
    (Keras filters them out of the traceback it shows, but the frames it keeps point
    back at them), and an open file's blocks are not freed by deleting it. Clearing
    those frames' locals and collecting closes the file, so the run can record its
    failure in the space this frees. Called from an ``except`` block.
    """
    _clear_finished_frames(sys.exc_info()[1])
    gc.collect()
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


# HDF5's own structures beside the arrays (a few KB for the lab's models): room left on top of the arrays' bytes.
HDF5_OVERHEAD_BYTES = 256 * 1024


def weights_file_bytes(model) -> int:
    """About the size of ``model.save_weights``' file: every model and optimizer variable, plus HDF5's overhead."""
    variables = list(model.weights)
    optimizer = getattr(model, "optimizer", None)  # an uncompiled model has none
    if optimizer is not None and optimizer.built:
        variables += list(optimizer.variables)
    return sum(int(np.prod(v.shape)) * np.dtype(v.dtype).itemsize for v in variables) + HDF5_OVERHEAD_BYTES


def _refuse_when_it_cannot_fit(model, path: Path) -> None:
    """Raise ENOSPC before writing ``path`` when its file system lacks room for the weights.

    Not only for a clearer error: when h5py itself runs out of space mid-write, the
    HDF5 library is left with a file it cannot close and the process crashes at
    exit (a segmentation fault instead of the trainer's message and exit status 1).
    """
    free = free_bytes(path.parent)
    if free is not None and free < weights_file_bytes(model):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))


def _clear_finished_frames(error: BaseException | None) -> None:
    """Drop the locals of every finished frame ``error``'s traceback chain reaches (and their callers')."""
    while error is not None:
        tb = error.__traceback__
        while tb is not None:
            frame = tb.tb_frame
            while frame is not None:
                try:
                    frame.clear()
                except RuntimeError:
                    pass  # still executing: this function's callers
                frame = frame.f_back
            tb = tb.tb_next
        error = error.__cause__ or error.__context__


def _crash_point(stage: str, epoch: int) -> None:
    """SIGKILL this process when ``CRASH_ENV`` names this stage of this epoch (crash tests only)."""
    if os.environ.get(CRASH_ENV) == f"{stage}:{epoch}":
        os.kill(os.getpid(), signal.SIGKILL)


def write_epoch_backup(model, backup_dir: Path, epoch: int, keep: int = 2) -> Path:
    """Back up ``model`` (weights and optimizer) after ``epoch`` finished epochs as ``backup_dir/epoch-<epoch>``.

    Written into ``.partial-<pid>/`` and renamed in whole; older backups beyond the
    newest ``keep`` (and the old layout's files) are deleted only after that.
    """
    if keep < 1:
        raise ValueError(f"keep must be at least 1, got {keep}")
    backup_dir.mkdir(parents=True, exist_ok=True)
    partial = backup_dir / f"{PARTIAL_PREFIX}{os.getpid()}"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir()
    weights = partial / WEIGHTS_FILE
    try:
        _refuse_when_it_cannot_fit(model, weights)
        model.save_weights(weights, overwrite=True)
        _fsync(weights)
        _crash_point("weights-written", epoch)
        atomic_write_json(partial / METADATA_FILE, {"epoch": epoch, "weights_bytes": weights.stat().st_size})
        _fsync(partial)
    except BaseException:
        _release_failed_write(partial)  # the older backups stay as they were
        raise
    final = backup_dir / f"epoch-{epoch}"
    if final.exists():
        # Only a torn backup of this epoch (the run resumed from an older one): the older one stays meanwhile.
        shutil.rmtree(final)
    os.replace(partial, final)
    _fsync(backup_dir)
    _crash_point("published", epoch)
    newest = sorted((epoch for epoch, name, *_ in _candidates(backup_dir) if name != LEGACY_WEIGHTS), reverse=True)
    for old in newest[keep:]:
        shutil.rmtree(backup_dir / f"epoch-{old}", ignore_errors=True)
    for name in LEGACY_FILES:
        (backup_dir / name).unlink(missing_ok=True)
    return final


def restore_backup(model, backup: Backup) -> None:
    """Load ``backup``'s weights and optimizer state into ``model`` (its optimizer built first, as Keras does)."""
    if model.optimizer is not None and not model.optimizer.built:
        # load_weights fills existing variables: the optimizer's must exist to take their saved values.
        model.optimizer.build(model.trainable_variables)
    model.load_weights(backup.weights)


def remove_leftovers(backup_dir: Path, keep: Backup | None) -> None:
    """Delete what a killed attempt left that is not ``keep``: half-written folders and backups that are torn or newer."""
    if not backup_dir.is_dir():
        return
    for child in backup_dir.iterdir():
        if child.name.startswith(PARTIAL_PREFIX) and child.is_dir():
            shutil.rmtree(child, ignore_errors=True)
        elif child.name.startswith(PARTIAL_PREFIX):
            child.unlink(missing_ok=True)
        match = EPOCH_FOLDER.match(child.name)
        # Newer than the chosen one means torn (the check skipped it); older whole ones stay as fallbacks.
        if match and (keep is None or int(match.group(1)) > keep.epoch):
            shutil.rmtree(child, ignore_errors=True)
    if keep is None or keep.name != LEGACY_WEIGHTS:
        for name in LEGACY_FILES:
            (backup_dir / name).unlink(missing_ok=True)
