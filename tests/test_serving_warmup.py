"""Classify's background warm-up: it loads each model and traces the inference function Classify then reuses."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

import serving.warmup as warmup
from serving.warmup import WARM_BATCH_SIZES, start_warmup, warm_models, warmup_report
from tests.factories import make_run

APP = str(Path(__file__).resolve().parents[1] / "dashboard" / "app.py")


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory):
    folder = tmp_path_factory.mktemp("warm")
    make_run(folder, "run-a", seed=0, epochs=2)
    make_run(folder, "run-b", seed=1, epochs=2)
    return folder


def test_warm_models_traces_the_inference_classify_reuses(artifacts):
    from serving.models import load_run_model
    from serving.predict import _inference_function, predict_probs

    models = {}

    def load(run_id):
        models[run_id] = load_run_model(artifacts, run_id)
        return models[run_id]

    report = warm_models(["run-a", "run-b"], load, modules=("serving.uploads",))
    assert report.finished and report.failed == {} and set(report.seconds_by_run) == {"run-a", "run-b"}
    for model in models.values():
        function = _inference_function(model)
        traces = function.experimental_get_tracing_count()
        assert traces == len(WARM_BATCH_SIZES)
        for size in (1, 3):  # one upload, then several: neither needs a new trace
            predict_probs(model, np.zeros((size, 32, 32, 3), dtype=np.float32))
        assert function.experimental_get_tracing_count() == traces


def test_a_model_that_cannot_load_is_recorded_and_the_rest_still_warm(artifacts):
    from serving.models import ModelRefused, load_run_model

    def load(run_id):
        if run_id == "missing":
            raise ModelRefused("Run missing has no model.keras")
        return load_run_model(artifacts, run_id)

    report = warm_models(["missing", "run-a"], load)
    assert report.failed == {"missing": "ModelRefused: Run missing has no model.keras"}
    assert list(report.seconds_by_run) == ["run-a"]
    assert report.summary().startswith("Classify warm-up finished: 1 of 2 models ready, 1 refused, in ")


def test_start_warmup_runs_once_per_process_and_says_when_it_is_over(monkeypatch, capsys):
    monkeypatch.setattr(warmup, "_REPORT", None)
    calls = []
    assert start_warmup(["x"], calls.append, then=lambda: calls.append("then")) is True
    assert start_warmup(["y"], calls.append) is False
    deadline = time.monotonic() + 60
    printed = ""
    while warmup.FINISHED_LINE_PREFIX not in printed and time.monotonic() < deadline:
        time.sleep(0.05)
        printed += capsys.readouterr().out
    assert calls == ["x", "then"]  # the loader was called for the first list only, then the follow-up
    assert "x" in warmup_report().failed
    # The server log's line that an operator (and bench/load.py) waits for.
    assert "Classify warm-up finished: 0 of 1 models ready, 1 refused" in printed


def test_the_dashboard_frame_warms_every_finished_run_through_its_own_cache(app_env, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setattr(warmup, "_REPORT", None)
    app = AppTest.from_file(APP, default_timeout=60)
    app.run()
    assert not app.exception
    report = warmup_report()
    assert report is not None and report.run_ids[0] == app.session_state["run"]  # the focus run first
    deadline = time.monotonic() + 120
    while not report.finished and time.monotonic() < deadline:
        time.sleep(0.1)
    assert report.failed == {}
    assert set(report.seconds_by_run) == {"simple-cnn-a", "vgg16-transfer-b"}  # the complete fixture runs
