"""Give the memory that finished views and closed sessions freed back to the operating system, twice a minute.

Measured on the 21 demo runs with 30 tabs coming and going (docs/performance.md,
"A class at once"): the memory the views really hold comes back to where it
started once their sessions are gone, but the process's resident size does not.
Two reasons, each fixed here:

- **Python's collector waits for allocations.** A closed session's objects hang in
  reference cycles, and the collector only runs when new objects are allocated. A
  server whose class has just left allocates nothing, so it held them until the
  next visitor came. ``release_memory`` collects first.
- **The C allocator keeps what it was given.** Every script run has its own thread,
  and glibc serves threads from up to eight arenas per core. A Compare or Failures
  view allocates and frees tens of megabytes of arrays and Arrow buffers; glibc
  keeps the freed pages for reuse, so resident memory stayed at the high-water
  mark of the busiest minute (+130 MB after an 8-minute soak, all of it free inside
  malloc). ``malloc_trim(0)`` hands every free page of every arena back.

A pass costs milliseconds (``bench/load.py --soak`` logs nothing of it; the CPU per
view it reports includes it). Where the C library is not glibc there is no
``malloc_trim``, and only the collection runs.
"""

from __future__ import annotations

import ctypes
import gc
import os
import threading
import time

RELEASE_INTERVAL_SECONDS = 30.0
# Seconds between passes; 0 switches the release off (bench/load.py --soak compares both ways).
INTERVAL_ENV = "DASHBOARD_MEMORY_RELEASE_SECONDS"
THREAD_NAME = "memory-release"

_LOCK = threading.Lock()
_THREAD: threading.Thread | None = None


def _malloc_trim():
    """glibc's ``malloc_trim``, or None when the process's C library has none (musl, macOS)."""
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (AttributeError, OSError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


MALLOC_TRIM = _malloc_trim()


def trim_c_heap() -> bool:
    """Return the C allocator's free pages to the operating system; whether this C library can (glibc)."""
    if MALLOC_TRIM is None:
        return False
    MALLOC_TRIM(0)
    return True


def release_memory() -> bool:
    """Collect Python's unreachable cycles, then trim the C heap; whether the trim was possible."""
    gc.collect()
    return trim_c_heap()


def release_interval_seconds() -> float:
    """Seconds between passes: ``$DASHBOARD_MEMORY_RELEASE_SECONDS``, default 30; 0 means off.

    Raises ``ValueError`` with what to write when the variable is not a number of seconds.
    """
    text = os.environ.get(INTERVAL_ENV, "").strip()
    if not text:
        return RELEASE_INTERVAL_SECONDS
    try:
        seconds = float(text)
    except ValueError:
        raise ValueError(f"{INTERVAL_ENV}={text!r} is not a number of seconds: "
                         f"write e.g. {INTERVAL_ENV}=30, or 0 to switch the release off") from None
    if seconds < 0 or seconds != seconds:
        raise ValueError(f"{INTERVAL_ENV}={text!r} must be 0 (off) or a positive number of seconds")
    return seconds


def start_memory_release(interval_seconds: float | None = None) -> bool:
    """Run ``release_memory`` every ``interval_seconds`` in a daemon thread, once per process; whether this call started it.

    ``interval_seconds`` defaults to ``release_interval_seconds()``; 0 starts nothing.
    """
    global _THREAD
    seconds = release_interval_seconds() if interval_seconds is None else interval_seconds
    if seconds <= 0:
        return False
    with _LOCK:
        if _THREAD is not None:
            return False

        def every_interval() -> None:
            while True:
                time.sleep(seconds)
                release_memory()

        _THREAD = threading.Thread(target=every_interval, name=THREAD_NAME, daemon=True)
        _THREAD.start()
    return True
