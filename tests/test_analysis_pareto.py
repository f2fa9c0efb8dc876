"""Pareto front on hand points, the cost table and storing latency in run.json."""

import json
import math

import pytest

from analysis.latency_record import store_latency
from analysis.pareto import cost_frame, mark_front, pareto_front


def test_pareto_front_hand_points():
    points = [
        (10.0, 0.80),  # 0 cheapest: on the front
        (20.0, 0.85),  # 1 on the front
        (25.0, 0.83),  # 2 dominated by 1
        (30.0, 0.90),  # 3 on the front
        (30.0, 0.88),  # 4 same cost as 3, less accurate: dominated
        (40.0, 0.90),  # 5 as accurate as 3 but dearer: dominated
        (math.nan, 0.99),  # 6 cost unknown: never on the front
    ]
    assert pareto_front(points) == [0, 1, 3]


def test_pareto_front_keeps_exact_duplicates_and_handles_empty():
    assert pareto_front([(1, 0.5), (1, 0.5)]) == [0, 1]
    assert pareto_front([]) == []
    with pytest.raises(ValueError, match="cost, accuracy"):
        pareto_front([(1, 2, 3)])


def record(run_id, accuracy, latency=None, status="complete", params=1000, size=2_000_000):
    entry = {"run_id": run_id, "model": "m", "status": status, "test_accuracy": accuracy,
             "params_total": params, "model_bytes": size}
    if latency is not None:
        entry["latency"] = latency
    return entry


def test_cost_frame_and_mark_front():
    frame = cost_frame([
        record("fast", 0.8, {"single_ms": 2.0, "batch256_ms": 100.0, "images_per_second": 2560.0}),
        record("slow", 0.7, {"single_ms": 5.0, "batch256_ms": 300.0, "images_per_second": 850.0}, params=10),
        record("unmeasured", 0.9),
        record("running", None, status="running"),
    ])
    assert frame["run_id"].tolist() == ["fast", "slow", "unmeasured"]
    assert frame.loc[0, "model_megabytes"] == pytest.approx(2.0)  # from model_bytes
    assert math.isnan(frame.loc[2, "single_ms"])
    marked = mark_front(frame, "single_ms")
    assert marked["on_front"].tolist() == [True, False, False]
    by_params = mark_front(frame, "params_total")
    assert by_params["on_front"].tolist() == [False, True, True]
    with pytest.raises(ValueError, match="Unknown cost column"):
        mark_front(frame, "price")


def test_store_latency_keeps_every_other_field(tmp_path):
    from tests.analysis_fixtures import write_run_folder

    folder = write_run_folder(tmp_path, "run-1", accuracy=0.5)
    before = json.loads((folder / "run.json").read_text())
    before["future_field"] = {"kept": True}
    (folder / "run.json").write_text(json.dumps(before))
    latency = {"single_ms": 1.5, "batch256_ms": 90.0, "images_per_second": 2844.4,
               "measured_at": "2026-11-23T23:00:00+00:00", "device": "cpu"}
    store_latency(folder, latency)
    after = json.loads((folder / "run.json").read_text())
    assert after["latency"] == latency
    assert after["future_field"] == {"kept": True}
    # A schema-1 record comes back lifted to the current schema, every field it had kept.
    from runstore.schema import upgrade_run_record

    assert {key: value for key, value in after.items() if key != "latency"} == upgrade_run_record(dict(before))
    with pytest.raises(ValueError, match="single_ms"):
        store_latency(folder, {"single_ms": -1, "batch256_ms": 1, "images_per_second": 1})


def test_latency_entry_from_a_measurement():
    from datetime import datetime, timezone

    from analysis.latency_record import latency_entry

    when = datetime(2026, 11, 23, 23, 0, tzinfo=timezone.utc)
    entry = latency_entry({"single_ms": 2.0, "batch_ms": 80.0, "images_per_second": 3200.0, "batch": 256, "repeats": 5},
                          device="test cpu", measured_at=when)
    assert entry == {"single_ms": 2.0, "batch256_ms": 80.0, "images_per_second": 3200.0,
                     "measured_at": "2026-11-23T23:00:00+00:00", "device": "test cpu", "repeats": 5}
    with pytest.raises(ValueError, match="batch of 256"):
        latency_entry({"single_ms": 2.0, "batch_ms": 8.0, "images_per_second": 1.0, "batch": 8})
    assert "cores" in latency_entry({"single_ms": 1.0, "batch_ms": 2.0, "images_per_second": 3.0})["device"]
