"""A suite plan's measured time estimate: every run's images, passes and evaluations, probes cached per machine,
a damaged cache ignored, and a plain sentence when the plan is over its stated time."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from training.plan_estimate import estimate_run, estimate_suite, probe_note, summary_lines
from training.speed_probe import ProbeKey, cache_key, cache_path, measure_here, probe_figures, read_cache
from training.suites import describe_plan, get_suite

REPO_ROOT = Path(__file__).resolve().parents[1]
TINY_SUITE = {
    "tiny": {
        "description": "Two tiny groups.",
        "stated_minutes": 1,
        "defaults": {"model": "simple_cnn", "blocks": 1, "batch_size": 16, "validation_size": 1000, "early_stopping_patience": 100},
        "runs": [
            {"run_id": "tiny-a", "train_limit": 480, "epochs": 3, "epoch_images": 160, "seeds": [0, 1]},
            {"run_id": "tiny-b", "train_limit": 480, "epochs": 3, "epoch_images": 160, "learning_rate": 0.01, "seeds": [0]},
        ],
        "questions": [{"title": "Rate?", "factor": "learning_rate", "groups": ["tiny-a", "tiny-b"]}],
    }
}
# Figures as a probe records them, chosen so the arithmetic is checkable by hand.
FIGURES = {"build_seconds": 1.0, "first_steps_seconds": 2.0, "train_images_per_second": 100.0, "eval_images_per_second": 1000.0,
           "eval_first_seconds": 0.5, "predict_images_per_second": 2000.0, "predict_first_seconds": 0.5,
           "epoch_write_seconds": 0.1, "save_seconds": 1.0, "base_images_per_second": None}


def _tiny_suite(tmp_path, **changes):
    path = tmp_path / "suites.json"
    path.write_text(json.dumps({"tiny": {**TINY_SUITE["tiny"], **changes}}), encoding="utf-8")
    return get_suite("tiny", artifacts_dir=str(tmp_path / "artifacts"), path=path)


class CountingProbe:
    """The real probe, in this process, counting the models it measures."""

    def __init__(self):
        self.measured: list[ProbeKey] = []

    def __call__(self, keys):
        self.measured.extend(keys)
        return measure_here(keys, timed_seconds=0.1)


@pytest.fixture(scope="module")
def probed(tmp_path_factory):
    """One real probe of the tiny suite's model, then a second plan from the cache."""
    tmp_path = tmp_path_factory.mktemp("plan")
    suite = _tiny_suite(tmp_path)
    artifacts = tmp_path / "artifacts"
    probe = CountingProbe()
    first = probe_figures([ProbeKey.of(config) for config in suite.runs], artifacts, measure=probe)
    after_first = len(probe.measured)
    second = probe_figures([ProbeKey.of(config) for config in suite.runs], artifacts, measure=probe)
    return suite, artifacts, probe, after_first, first, second


def test_the_plan_lists_every_run_with_its_images_passes_evaluations_and_time(probed):
    suite, _, _, _, figures, _ = probed
    estimates = estimate_suite(suite, figures)
    plan = describe_plan(suite, estimates)
    for run_id in ("tiny-a-s0", "tiny-a-s1", "tiny-b-s0"):
        assert run_id in plan
        assert estimates[run_id].images_seen == 480 and estimates[run_id].evaluations == 3
        assert estimates[run_id].seconds > 0
    assert plan.count("480 images seen = 1.00 passes over 480, 3 evaluations") == 3


def test_the_probe_is_cached_per_machine_and_reused(probed):
    suite, artifacts, probe, after_first, first, second = probed
    # Both groups train the same model at the same batch: one probe, and none the second time.
    assert after_first == 1 and len(probe.measured) == 1
    assert second == first
    [(name, entry)] = read_cache(cache_path(artifacts)).items()
    assert name == cache_key(ProbeKey.of(suite.runs[0])) and "simple_cnn blocks=1 batch=16" in name
    assert entry["train_images_per_second"] > 0 and entry["measured_at"]


@pytest.mark.parametrize("damage", ["{not json", '{"entries": []}', '{"entries": {"x": {"train_images_per_second": "fast"}}}'])
def test_a_cache_that_cannot_be_read_is_ignored_and_remade(tmp_path, damage):
    key = ProbeKey("simple_cnn", (("blocks", 1),), 16)
    path = cache_path(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_text(damage, encoding="utf-8")
    measured = []

    def fake_free_measure(keys):  # the figures of a real probe are not what this test is about
        measured.extend(keys)
        return {key: dict(FIGURES) for key in keys}

    assert probe_figures([key], tmp_path, measure=fake_free_measure) == {key: FIGURES}
    assert measured == [key]
    assert read_cache(path) == {cache_key(key): FIGURES}  # the file is whole again


def test_an_entry_missing_a_figure_is_measured_again(tmp_path):
    key = ProbeKey("simple_cnn", (("blocks", 1),), 16)
    path = cache_path(tmp_path)
    path.parent.mkdir(parents=True)
    partial = {name: value for name, value in FIGURES.items() if name != "save_seconds"}
    path.write_text(json.dumps({"entries": {cache_key(key): partial}}), encoding="utf-8")
    assert read_cache(path) == {}


def test_the_plan_says_when_and_at_what_load_its_probes_were_measured():
    figures = {ProbeKey("a"): {**FIGURES, "measured_at": "2026-12-04T18:00:00+00:00", "load_average": 4.2},
               ProbeKey("b"): {**FIGURES, "measured_at": "2026-12-04T18:01:00+00:00", "load_average": 7.5}}
    assert probe_note(figures, "/x/speed-probes.json") == (
        "Speed probes: /x/speed-probes.json, measured 2026-12-04T18:00:00+00:00 to 2026-12-04T18:01:00+00:00 at load "
        "average 4.2 to 7.5; delete that file to measure again (on an idle machine the estimate is truer).")


def test_the_estimate_follows_what_a_run_does(tmp_path):
    suite = _tiny_suite(tmp_path)
    estimate = estimate_run(suite.runs[0], FIGURES)
    # 3 epochs of 160 images at 100/s; 3 validation passes of 1,000 at 1,000/s plus 0.1 s of writes each;
    # once: 1 + 2 + 0.5 + 0.5 + 1; test: 10,000 images at 2,000/s.
    assert estimate.seconds == pytest.approx(4.8 + 3 * 1.1 + 5.0 + 5.0)
    assert (estimate.images_seen, estimate.passes, estimate.evaluations, estimate.budget_limited) == (480, 1.0, 3, False)


def test_a_time_budget_caps_the_estimate_and_says_so(tmp_path):
    suite = _tiny_suite(tmp_path, runs=[{"run_id": "tiny-a", "epochs": 40, "epoch_images": 1600, "time_budget_seconds": 30}], questions=[])
    estimate = estimate_run(suite.runs[0], FIGURES)
    assert estimate.budget_limited and estimate.seconds == pytest.approx(30 + 5.0 + 5.0)
    # Each evaluation point costs 16 s of training + 1.1 s of validation: 30 s holds about 1.75 of them.
    assert estimate.evaluations == 2 and estimate.images_seen == int(30 / 17.1 * 1600)
    assert "(the time budget ends it)" in describe_plan(suite, {estimate.run_id: estimate})


def test_a_plan_over_its_stated_time_says_so_plainly(tmp_path):
    about = {"cpu": "Test CPU", "cores": 2, "gpus": [], "tensorflow": "2.21.0", "keras": "3"}
    suite = _tiny_suite(tmp_path, stated_minutes=0.1)
    estimates = estimate_suite(suite, {ProbeKey.of(suite.runs[0]): FIGURES})
    lines = summary_lines(suite, estimates, start_seconds=4.0, about=about)
    assert lines[0].startswith("Estimated time here: 58 s for 3 run(s), one after another (Test CPU, 2 cores, no GPU")
    assert "OVER its stated time: about 58 s against the stated 0.1 min (52 s over, 9.7x)." in lines
    roomy = _tiny_suite(tmp_path, stated_minutes=10)
    assert "Within its stated 10 min (10% of it)." in summary_lines(roomy, estimates, start_seconds=4.0, about=about)


def test_a_gpu_suite_on_a_cpu_only_machine_says_how_long_it_would_take_here(tmp_path):
    suite = _tiny_suite(tmp_path, meant_for="gpu", stated_minutes=None)
    estimates = estimate_suite(suite, {ProbeKey.of(suite.runs[0]): FIGURES})
    cpu_only = {"cpu": "Test CPU", "cores": 2, "gpus": [], "tensorflow": "2.21.0", "keras": "3"}
    assert "This suite is meant for a GPU; this machine has none, and here it would take about 54 s." in summary_lines(
        suite, estimates, about=cpu_only)
    with_gpu = {**cpu_only, "gpus": ["NVIDIA H200"]}
    assert not any("meant for a GPU" in line for line in summary_lines(suite, estimates, about=with_gpu))


@pytest.mark.parametrize("changes, says", [
    ({"stated_minutes": "an hour"}, "'stated_minutes' must be a number of minutes above 0"),
    ({"stated_minutes": 0}, "'stated_minutes' must be a number of minutes above 0"),
    ({"meant_for": "tpu"}, "'meant_for' must be one of cpu, gpu"),
])
def test_a_bad_stated_time_or_hardware_is_refused(tmp_path, changes, says):
    from training.config import ConfigError

    with pytest.raises(ConfigError, match=says):
        _tiny_suite(tmp_path, **changes)


def test_the_plan_from_a_cache_imports_no_tensorflow_and_gives_the_total(tmp_path):
    """With this machine's probes cached, ``suite demo --dry-run`` estimates without starting TensorFlow."""
    from runstore.atomic import atomic_write_json

    demo = get_suite("demo", artifacts_dir=str(tmp_path))
    entries = {cache_key(ProbeKey.of(config)): FIGURES for config in demo.runs}
    cache_path(tmp_path).parent.mkdir(parents=True)
    atomic_write_json(cache_path(tmp_path), {"version": 1, "entries": entries})
    code = ("import sys; from training.cli import main; status = main(['suite', 'demo', '--dry-run', '--artifacts-dir', "
            f"{str(tmp_path)!r}]); print('tensorflow' in sys.modules, status)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT, timeout=120, check=False)
    lines = result.stdout.splitlines()
    assert lines[-1] == "False 0", result.stderr
    assert not any(line.startswith("Measuring") for line in lines)
    assert any(line.startswith("Estimated time here:") for line in lines)
    assert any(line.startswith("Within its stated 15 min") or line.startswith("OVER its stated time") for line in lines)
    assert any(line.startswith("Speed probes: ") for line in lines)
    assert "demo-b1-adam-lr0.01-s2" in result.stdout and "8 evaluations" in result.stdout
