"""Cost vs accuracy: which runs are worth their latency, parameters or size on disk.

A run is on the Pareto front when no other run is at least as accurate *and*
at least as cheap, with one of the two strictly better.

Usage::

    from analysis.pareto import pareto_front, cost_frame
    on_front = pareto_front([(12.0, 0.81), (30.0, 0.86), (40.0, 0.84)])   # -> [0, 1]
    frame = cost_frame(records)          # one row per complete run with its costs
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import pandas as pd
from runstore.status import STATUS_COMPLETE

# The costs the view can plot accuracy against: column name -> axis label.
COST_COLUMNS = {
    "single_ms": "Latency, one image (ms, CPU)",
    "batch256_ms": "Latency, batch of 256 (ms, CPU)",
    "params_total": "Parameters",
    "model_megabytes": "Size on disk (MB)",
}


def _finite(value) -> bool:
    try:
        return value is not None and math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def pareto_front(points: Sequence[tuple[float, float]]) -> list[int]:
    """Indices of the points (cost, accuracy) on the Pareto front, cheapest first.

    Lower cost and higher accuracy are better. Points with a missing or
    non-finite coordinate are never on the front. Exact duplicates are both kept.
    """
    candidates = []
    for index, point in enumerate(points):
        if len(point) != 2:
            raise ValueError(f"each point must be (cost, accuracy); point {index} is {point!r}")
        cost, accuracy = point
        if _finite(cost) and _finite(accuracy):
            candidates.append((float(cost), float(accuracy), index))
    # Sweep cheapest first (most accurate first among equal costs): a point is on
    # the front exactly when it is more accurate than everything cheaper.
    candidates.sort(key=lambda item: (item[0], -item[1], item[2]))
    front: list[int] = []
    best_accuracy = -math.inf
    best_cost = None
    for cost, accuracy, index in candidates:
        if accuracy > best_accuracy:
            front.append(index)
            best_accuracy, best_cost = accuracy, cost
        elif accuracy == best_accuracy and cost == best_cost:
            front.append(index)  # an exact duplicate of a front point is not dominated either
    return front


def cost_frame(records: Iterable[Mapping]) -> pd.DataFrame:
    """One row per complete run: ``run_id``, ``model``, ``test_accuracy`` and every cost column.

    Latency columns come from ``run.json["latency"]`` and are NaN when it has
    not been measured yet; ``model_megabytes`` comes from ``model_bytes``.
    """
    rows = []
    for record in records:
        if record.get("status") != STATUS_COMPLETE or record.get("test_accuracy") is None:
            continue
        latency = record.get("latency") or {}
        model_bytes = record.get("model_bytes")
        rows.append(
            {
                "run_id": record["run_id"],
                "model": record.get("model", ""),
                "test_accuracy": float(record["test_accuracy"]),
                "single_ms": latency.get("single_ms", math.nan),
                "batch256_ms": latency.get("batch256_ms", math.nan),
                "images_per_second": latency.get("images_per_second", math.nan),
                "latency_device": latency.get("device", ""),
                "params_total": record.get("params_total", math.nan),
                "model_megabytes": model_bytes / 1e6 if _finite(model_bytes) else math.nan,
            }
        )
    columns = ["run_id", "model", "test_accuracy", "single_ms", "batch256_ms", "images_per_second",
               "latency_device", "params_total", "model_megabytes"]
    frame = pd.DataFrame(rows, columns=columns)
    for column in columns[2:]:
        if column != "latency_device":
            frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    return frame


def mark_front(frame: pd.DataFrame, cost_column: str) -> pd.DataFrame:
    """``frame`` with a boolean ``on_front`` column for accuracy vs ``cost_column``."""
    if cost_column not in frame.columns:
        raise ValueError(f"Unknown cost column {cost_column!r}; valid: {', '.join(COST_COLUMNS)}")
    points = list(zip(frame[cost_column].tolist(), frame["test_accuracy"].tolist()))
    on_front = set(pareto_front(points))
    marked = frame.copy()
    marked["on_front"] = [position in on_front for position in range(len(frame))]
    return marked
