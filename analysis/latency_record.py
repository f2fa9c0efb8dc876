"""Storing a run's measured inference latency in its run.json, keeping every other field.

The Cost vs accuracy view measures latency once (``serving.predict.measure_latency``)
and keeps the result with the run as ``run.json["latency"]``::

    {"single_ms": 3.1, "batch256_ms": 210.0, "images_per_second": 1219.0,
     "measured_at": "2026-11-23T23:40:00+00:00", "device": "CPU ..."}

Usage::

    from analysis.latency_record import store_latency
    store_latency(run_folder, latency)
"""

from __future__ import annotations

import math
import os
import platform
from datetime import datetime, timezone
from pathlib import Path

from runstore.status import STATUS_COMPLETE
from runstore.writer import RunRecord

REQUIRED_LATENCY_FIELDS = ("single_ms", "batch256_ms", "images_per_second")


def validate_latency(latency) -> dict:
    """Return ``latency`` if it holds positive finite numbers for every required field, else raise ``ValueError``."""
    if not isinstance(latency, dict):
        raise ValueError(f"latency must be a dict, got {type(latency).__name__}")
    for field in REQUIRED_LATENCY_FIELDS:
        value = latency.get(field)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
            raise ValueError(f"latency field {field!r} must be a positive number, got {value!r}")
    return latency


def describe_cpu() -> str:
    """The CPU model and core count, e.g. ``Intel(R) Xeon(R) ... (2 cores)``: latency means little without it."""
    name = ""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.lower().startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    name = name or platform.processor() or platform.machine() or "unknown CPU"
    return f"{name} ({os.cpu_count() or '?'} cores)"


def latency_entry(measurement: dict, device: str | None = None, measured_at: datetime | None = None) -> dict:
    """The ``run.json["latency"]`` entry for one ``serving.predict.measure_latency`` result.

    That function reports ``batch_ms`` for its ``batch`` size; the stored field
    is ``batch256_ms``, so a measurement with another batch size is refused.
    """
    batch = measurement.get("batch", 256)
    if batch != 256:
        raise ValueError(f"latency is stored for a batch of 256 images; this measurement used {batch}")
    batch_ms = measurement.get("batch256_ms", measurement.get("batch_ms"))
    entry = {
        "single_ms": measurement.get("single_ms"),
        "batch256_ms": batch_ms,
        "images_per_second": measurement.get("images_per_second"),
        "measured_at": (measured_at or datetime.now(timezone.utc)).isoformat(timespec="seconds"),
        "device": device or describe_cpu(),
    }
    if "repeats" in measurement:
        entry["repeats"] = measurement["repeats"]
    return validate_latency(entry)


def store_latency(run_folder: str | os.PathLike, latency: dict) -> dict:
    """Set ``latency`` in the run.json of ``run_folder`` (through ``runstore.writer``); return the record.

    Raises ``BrokenRun`` when run.json cannot be read, ``ValueError`` for a bad ``latency``.
    """
    latency = validate_latency(dict(latency))
    # The whole parsed file, so fields this code does not know about survive.
    record = RunRecord.load(run_folder)
    if record.fields["status"] != STATUS_COMPLETE:
        raise ValueError(f"run {record.fields['run_id']} is {record.fields['status']}; latency is measured only for finished runs")
    record.update(latency=latency)
    return record.fields
