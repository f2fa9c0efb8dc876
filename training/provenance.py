"""What a new run records about the code that trained it: library versions and the git commit.

Only the training side can know these (it imports TensorFlow); every writer of a
new lab run passes ``provenance()`` to ``runstore.writer.RunRecord``.
"""

from __future__ import annotations

import platform
import subprocess
from pathlib import Path

from runstore.layout import running_from_checkout

REPO_ROOT = Path(__file__).resolve().parents[1]


def git_commit() -> str | None:
    """The repository's HEAD commit, or None outside a git checkout."""
    if not running_from_checkout():
        return None  # installed: site-packages may lie inside some other repository (a venv in a project)
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = result.stdout.strip()
    return commit if result.returncode == 0 and commit else None


def library_versions() -> dict:
    """Versions of the libraries a run depends on."""
    import keras
    import numpy
    import tensorflow

    return {
        "python": platform.python_version(),
        "tensorflow": tensorflow.__version__,
        "keras": keras.__version__,
        "numpy": numpy.__version__,
    }


def provenance() -> dict:
    """What a new run records about the code that trained it: ``versions`` and ``git_commit``."""
    return {"versions": library_versions(), "git_commit": git_commit()}
