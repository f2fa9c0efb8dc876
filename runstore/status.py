"""The run status words, and whether a run is running, complete, failed or interrupted: decided here and nowhere else.

``run.json`` says ``running`` from the moment a trainer starts until it writes
``complete`` or ``failed``. A trainer killed without warning (``kill -9``, a
power cut) leaves ``running`` behind, so a running run whose process is gone
on this host reads as ``interrupted``.

Usage::

    from runstore.status import folder_status
    folder_status(run_folder)   # "new", "running", "complete", "failed" or "interrupted"

Two more words describe a run folder from outside its record: ``broken`` (the
reader cannot show it: ``runstore.reader.RunInfo.status``) and ``resumable`` (not
complete, with a backup a new attempt resumes from: ``training.run_state``).
Every program compares against these constants, never against the strings.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import Mapping

from runstore.layout import RUN_FILE

STATUS_NEW = "new"  # no readable run.json (yet)
STATUS_RUNNING = "running"
STATUS_COMPLETE = "complete"
STATUS_FAILED = "failed"
STATUS_INTERRUPTED = "interrupted"
STATUS_BROKEN = "broken"  # run.json or another file is missing, torn or invalid (the reader's problems say which)
STATUS_RESUMABLE = "resumable"  # not complete, with a backup to resume from
# The statuses run.json itself may hold.
RECORDED_STATUSES = (STATUS_RUNNING, STATUS_COMPLETE, STATUS_FAILED)


def process_alive(record: Mapping) -> bool:
    """Whether the trainer that wrote ``record`` still runs (assumed yes when we cannot tell)."""
    pid = record.get("pid")
    host = record.get("host")
    # Another host's process ids mean nothing here; bool is an int but never a pid.
    if not isinstance(pid, int) or isinstance(pid, bool) or host != socket.gethostname():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def run_status(record: Mapping | None) -> str:
    """The status of the run ``record`` describes: ``new`` (no record), ``running``, ``complete``, ``failed`` or ``interrupted``."""
    if not record:
        return STATUS_NEW
    status = record.get("status", STATUS_NEW)
    if status == STATUS_RUNNING and not process_alive(record):
        return STATUS_INTERRUPTED
    return status


def read_record_leniently(folder: str | os.PathLike) -> dict | None:
    """``run.json`` of ``folder`` as written, without schema checks; None when missing or unreadable.

    For the writer, which must decide what to do with any folder it finds;
    readers that show a run use ``runstore.reader.read_run_record`` instead.
    """
    try:
        record = json.loads((Path(folder) / RUN_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def folder_status(folder: str | os.PathLike) -> str:
    """``run_status`` of the run in ``folder`` (``new`` when it has no readable ``run.json``)."""
    return run_status(read_record_leniently(folder))
