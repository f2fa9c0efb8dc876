"""The ``realdata`` marker (tests/conftest.py): without CIFAR-10 a real-data test skips locally and fails in CI."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(("required", "outcome"), [("1", "1 error"), ("0", "1 skipped")])
def test_a_missing_data_set_fails_in_ci_and_skips_elsewhere(tmp_path, required, outcome):
    """CI sets REQUIRE_REALDATA=1: a real-data test without CIFAR-10 must fail there, never pass by skipping."""
    repo = REPO_ROOT
    (tmp_path / "test_needs_data.py").write_text(
        "import pytest\n\n@pytest.mark.realdata\ndef test_needs_data():\n    pass\n", encoding="utf-8")
    environment = {**os.environ, "REQUIRE_REALDATA": required, "CIFAR10_DIR": str(tmp_path / "missing"),
                   "PYTHONPATH": str(repo)}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "tests.conftest", "-c", str(repo / "pyproject.toml"),
         "--rootdir", str(tmp_path), str(tmp_path / "test_needs_data.py")],
        capture_output=True, text=True, env=environment, cwd=tmp_path, timeout=300,
    )
    assert outcome in result.stdout, result.stdout + result.stderr
    assert "real CIFAR-10 is not at CIFAR10_DIR" in result.stdout
