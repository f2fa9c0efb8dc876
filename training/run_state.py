"""What a trainer would do with a run's folder now: skip it, resume it or train it.

``planned_status(config)`` is ``runstore.status.folder_status`` of the run's
folder, except that an unfinished run with a backup reads ``resumable``. The
suite plan and the executors decide with it; neither imports the other for it.

Usage::

    from training.run_state import planned_status
    planned_status(config)   # "complete", "resumable", or another runstore.status word
"""

from __future__ import annotations

from runstore import resolve_artifacts_dir, run_dir
from runstore.status import STATUS_COMPLETE, STATUS_RESUMABLE, folder_status
from training.backup import has_backup
from training.config import RunConfig


def planned_status(config: RunConfig) -> str:
    """``complete``, ``resumable`` (unfinished, with a backup to resume from) or the folder's status."""
    folder = run_dir(resolve_artifacts_dir(config.artifacts_dir), config.run_id)
    status = folder_status(folder)
    if status != STATUS_COMPLETE and has_backup(folder):
        return STATUS_RESUMABLE
    return status
