"""Claims: at most one trainer per run folder, across processes, drivers and machines.

A trainer claims a run before training it by creating ``<run folder>/claim.json``
atomically: the claim is written completely to a temporary file and then
hard-linked to its final name, which fails when the name exists (``link`` is
atomic, like ``O_CREAT|O_EXCL``, also over NFS, and readers never see a half-written
claim). The claim says who holds it: ``token`` (one per driver and run, so a retried
attempt of the same driver takes its own claim over), ``host``, ``pid``, ``node``,
``claimed_at`` and ``heartbeat_at`` (seconds since the epoch, refreshed every
``HEARTBEAT_SECONDS`` while the run trains).

A claim is stale, and may be taken by anyone, when its process is gone (same host,
pid no longer alive) or its heartbeat is older than ``STALE_AFTER_SECONDS`` (another
host whose trainer was killed or lost). Breaking a stale claim happens under a second,
short-lived exclusive file (``claim.json.break``) and only if the claim is still the
one judged stale, so two drivers never both break and take the same claim.

Usage::

    from runstore.claims import RunClaimed, claim_run
    try:
        claim = claim_run(folder, token)
    except RunClaimed as held:
        print(held)                  # who trains it, and since when
    else:
        with claim.heartbeat():
            train(...)
        claim.release()
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import tempfile
import threading
import time
from pathlib import Path

from runstore.atomic import atomic_write_json

CLAIM_FILE = "claim.json"
BREAK_SUFFIX = ".break"
HEARTBEAT_SECONDS = 15.0      # how often a live trainer refreshes heartbeat_at
STALE_AFTER_SECONDS = 90.0    # a claim not refreshed for this long belongs to a lost trainer
BREAK_LOCK_STALE_SECONDS = 30.0  # breaking takes milliseconds; an older break file is a crashed breaker's


class RunClaimed(RuntimeError):
    """The run is claimed by another live trainer; ``holder`` is its claim record."""

    def __init__(self, folder: Path, holder: dict):
        self.folder = Path(folder)
        self.holder = holder
        age = time.time() - float(holder.get("heartbeat_at", 0) or 0)
        super().__init__(
            f"Run {self.folder.name!r} is being trained by process {holder.get('pid')} on {holder.get('host')} "
            f"(node {holder.get('node')}; last heartbeat {age:.0f} s ago). It is left to that trainer; if it is gone, "
            f"its claim expires {STALE_AFTER_SECONDS:.0f} s after the last heartbeat and the run can be resumed."
        )


def claim_path(folder: str | os.PathLike) -> Path:
    """Where the claim of run folder ``folder`` lives."""
    return Path(folder) / CLAIM_FILE


def read_claim(folder: str | os.PathLike) -> dict | None:
    """The claim record of ``folder``, or None when nobody holds it (or it vanished while being read)."""
    try:
        record = json.loads(claim_path(folder).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True


def claim_is_stale(record: dict, now: float | None = None, stale_after: float = STALE_AFTER_SECONDS) -> bool:
    """Whether ``record``'s trainer is gone: a dead pid on this host, or a heartbeat older than ``stale_after``."""
    now = time.time() if now is None else now
    pid = record.get("pid")
    if record.get("host") == socket.gethostname() and isinstance(pid, int) and not _pid_alive(pid):
        return True
    heartbeat = record.get("heartbeat_at")
    if not isinstance(heartbeat, (int, float)):
        return True  # not a claim this code wrote
    return now - heartbeat > stale_after


class Claim:
    """A held claim: refresh it while training (``heartbeat``), release it when done."""

    def __init__(self, folder: Path, record: dict):
        self.folder = Path(folder)
        self.record = record

    @property
    def token(self) -> str:
        """The token this claim was taken with."""
        return self.record["token"]

    def refresh(self) -> bool:
        """Rewrite ``heartbeat_at``; False (and no write) when the claim is no longer ours."""
        current = read_claim(self.folder)
        if current is None or current.get("token") != self.token or current.get("pid") != self.record["pid"]:
            return False
        self.record = {**self.record, "heartbeat_at": time.time()}
        # Replacing the file by rename keeps the name present: no one can claim in between.
        atomic_write_json(claim_path(self.folder), self.record)
        return True

    @contextlib.contextmanager
    def heartbeat(self, every: float = HEARTBEAT_SECONDS):
        """Refresh the claim from a daemon thread every ``every`` seconds while the block runs."""
        stop = threading.Event()

        def beat() -> None:
            while not stop.wait(every):
                try:
                    if not self.refresh():
                        return
                except OSError:
                    pass  # a full or flaky disk: the next beat tries again

        thread = threading.Thread(target=beat, name=f"claim-heartbeat-{self.folder.name}", daemon=True)
        thread.start()
        try:
            yield self
        finally:
            stop.set()
            thread.join(timeout=5)

    def release(self) -> None:
        """Remove the claim if it is still ours (never someone else's)."""
        release_claim(self.folder, self.token)


def release_claim(folder: str | os.PathLike, token: str) -> bool:
    """Remove ``folder``'s claim when it carries ``token``; return whether it did."""
    current = read_claim(folder)
    if current is None or current.get("token") != token:
        return False
    claim_path(folder).unlink(missing_ok=True)
    return True


def _link_new(path: Path, record: dict) -> bool:
    """Create ``path`` holding ``record`` only if it does not exist; True when this call created it."""
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(record, handle, indent=2, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)  # atomic and exclusive: fails with FileExistsError when claimed
        except FileExistsError:
            return False
        return True
    finally:
        os.unlink(temporary)


def _break_stale(path: Path, judged: dict) -> None:
    """Remove the claim at ``path`` if it still is ``judged`` (stale), under an exclusive break file."""
    lock = path.with_name(path.name + BREAK_SUFFIX)
    try:
        fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        # Another breaker is at work; its lock is only left behind if it crashed.
        with contextlib.suppress(OSError):
            if time.time() - lock.stat().st_mtime > BREAK_LOCK_STALE_SECONDS:
                lock.unlink()
        return
    os.close(fd)
    try:
        if read_claim(path.parent) == judged:
            path.unlink(missing_ok=True)
    finally:
        lock.unlink(missing_ok=True)


def claim_run(folder: str | os.PathLike, token: str, node: str | None = None,
              stale_after: float = STALE_AFTER_SECONDS, attempts: int = 5) -> Claim:
    """Claim run folder ``folder`` (created if needed) for this process; raise ``RunClaimed`` if another holds it.

    A claim carrying the same ``token`` is taken over (a retry of the same driver's
    attempt); a stale one is broken and taken (see the module docstring).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = claim_path(folder)
    now = time.time()
    record = {"token": token, "host": socket.gethostname(), "pid": os.getpid(), "node": node,
              "claimed_at": now, "heartbeat_at": now}
    holder: dict | None = None
    for _ in range(attempts):
        if _link_new(path, record):
            return Claim(folder, record)
        holder = read_claim(folder)
        if holder is None:
            continue  # released (or broken) between our link and our read: try again
        if holder.get("token") == token:
            # Our own earlier attempt (a killed worker being retried): take it over.
            record["claimed_at"] = holder.get("claimed_at", now)
            atomic_write_json(path, record)
            return Claim(folder, record)
        if not claim_is_stale(holder, stale_after=stale_after):
            raise RunClaimed(folder, holder)
        _break_stale(path, holder)
        time.sleep(0.05)
    raise RunClaimed(folder, holder or {})
