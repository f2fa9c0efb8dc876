"""The pure helpers of the benchmark scripts (no TensorFlow, no timing asserted)."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

from common import median_seconds, ratio_text  # noqa: E402
from time_to_accuracy import first_time_reaching  # noqa: E402


def test_first_time_reaching_returns_the_first_point_at_or_above_the_target():
    curve = [(10.0, 0.50), (20.0, 0.70), (30.0, 0.65), (40.0, 0.80)]
    assert first_time_reaching(curve, 0.70) == 20.0
    assert first_time_reaching(curve, 0.75) == 40.0
    assert first_time_reaching(curve, 0.90) is None
    assert first_time_reaching([], 0.1) is None


def test_ratio_text_formats_and_refuses_missing_values():
    assert ratio_text(30.0, 10.0) == "3.0x"
    assert ratio_text(None, 10.0) == "n/a"
    assert ratio_text(10.0, None) == "n/a"
    assert ratio_text(10.0, 0.0) == "n/a"


def test_median_seconds_calls_once_more_for_warm_up_and_rejects_zero_repeats():
    calls = []
    median_seconds(lambda: calls.append(1), repeats=3)
    assert len(calls) == 4
    with pytest.raises(ValueError, match="repeats"):
        median_seconds(lambda: None, repeats=0)
