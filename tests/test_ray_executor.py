"""The executors on real Ray: a tiny suite in parallel, a killed worker resumed, two drivers, bad input.

Each Ray test starts its own local cluster (2 CPUs, no dashboard) through the
executor itself, trains simple_cnn with one block on tiny synthetic data, and
asserts on the run folders. ``train_tiny`` is the trainer: ``run_training`` on
in-memory data, logging every attempt and, for run ids that ask for it, killing
its own worker process with SIGKILL after a finished epoch (a preempted machine).

Run as a script it is the second driver of the claims test (sequential, no Ray)::

    python tests/test_ray_executor.py ARTIFACTS_DIR
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from runstore import read_history  # noqa: E402
from runstore.claims import RunClaimed, claim_is_stale, claim_run, read_claim  # noqa: E402
from runstore.schema import validate_run_record  # noqa: E402
from training.config import RunConfig  # noqa: E402
from training.executors import (  # noqa: E402
    CLAIMED, COMPLETE, SKIPPED, ExecutorError, ExecutorSettings, LocalExecutor, RayExecutor, is_failure,
)

ATTEMPTS_LOG = "attempts.log"
EPOCHS = 3
TWO_DRIVER_EPOCHS = 6  # long enough runs that the second driver starts while the first trains


def tiny_configs(artifacts: Path, entries=("lr1e-3", "lr3e-3"), seeds=(0, 1), epochs: int = EPOCHS) -> list[RunConfig]:
    """Two suite entries (learning rates) x two seeds, as the seeds expansion would hand them over."""
    rates = {"lr1e-3": 0.001, "lr3e-3": 0.003}
    return [RunConfig.from_dict({
        "model": "simple_cnn", "blocks": 1, "epochs": epochs, "batch_size": 16, "validation_size": 40,
        "augment": False, "early_stopping_patience": 50, "learning_rate": rates.get(entry, 0.001), "seed": seed,
        "run_id": f"tiny-{entry}-s{seed}", "artifacts_dir": str(artifacts), "suite": "tiny",
    }) for entry in entries for seed in seeds]


def _finished_epochs(history: Path) -> int:
    try:
        return max(0, len(history.read_text().splitlines()) - 1)
    except FileNotFoundError:
        return 0


def _kill_self_after_new_epoch(history: Path) -> None:
    """SIGKILL this process once one more epoch than now is in ``history`` (a worker lost mid-run)."""
    start = _finished_epochs(history)

    def watch() -> None:
        while _finished_epochs(history) <= start:
            time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=watch, daemon=True).start()


def train_tiny(config: RunConfig) -> None:
    """The trainer the executors call here: ``run_training`` on tiny synthetic data, logging each attempt.

    Run ids containing ``killonce`` lose their worker after an epoch on the first
    attempt only; ``killalways`` on every attempt.
    """
    from tests.training_fixtures import synthetic_cifar
    from training.train import run_training

    artifacts = Path(config.artifacts_dir)
    with open(artifacts / ATTEMPTS_LOG, "a", encoding="utf-8") as log:
        log.write(f"{config.run_id} {os.getpid()}\n")
    folder = artifacts / "runs" / config.run_id
    first_attempt = not (artifacts / f"{config.run_id}.killed").exists()
    if "killalways" in config.run_id or ("killonce" in config.run_id and first_attempt):
        (artifacts / f"{config.run_id}.killed").touch()
        _kill_self_after_new_epoch(folder / "history.csv")
    run_training(config, data=synthetic_cifar(train_count=200, test_count=40), verbose=0)


def _attempts(artifacts: Path) -> list[str]:
    path = artifacts / ATTEMPTS_LOG
    return [line.split()[0] for line in path.read_text().splitlines()] if path.exists() else []


def _record(artifacts: Path, run_id: str) -> dict:
    return json.loads((artifacts / "runs" / run_id / "run.json").read_text())


@pytest.fixture
def by_value():
    """Ship this module's functions to Ray workers by value (the workers cannot import a test module by name)."""
    import ray.cloudpickle

    module = sys.modules[__name__]
    ray.cloudpickle.register_pickle_by_value(module)
    yield
    ray.cloudpickle.unregister_pickle_by_value(module)


def _ray(**settings) -> RayExecutor:
    return RayExecutor(ExecutorSettings(local_cpus=2, cpus_per_run=1, log_to_driver=False, trainer=train_tiny, **settings))


# ----------------------------------------------------------------------------- claims (no Ray)


def test_a_claim_is_exclusive_until_released(tmp_path):
    claim = claim_run(tmp_path / "run", token="driver-a", node="here")
    with pytest.raises(RunClaimed, match="being trained by process"):
        claim_run(tmp_path / "run", token="driver-b")
    assert read_claim(tmp_path / "run")["node"] == "here"
    # The same driver's retry takes its own claim over.
    again = claim_run(tmp_path / "run", token="driver-a")
    again.release()
    assert read_claim(tmp_path / "run") is None
    claim_run(tmp_path / "run", token="driver-b").release()
    del claim


def test_a_dead_or_silent_claim_is_stale_and_taken(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    claim = claim_run(tmp_path / "run", token="old")
    record = {**claim.record, "pid": dead.pid}
    (tmp_path / "run" / "claim.json").write_text(json.dumps(record))
    assert claim_is_stale(record)
    taken = claim_run(tmp_path / "run", token="new")
    assert read_claim(tmp_path / "run")["token"] == "new"
    # A claim on another host is judged by its heartbeat alone.
    remote = {**taken.record, "host": "elsewhere", "heartbeat_at": time.time()}
    assert not claim_is_stale(remote)
    assert claim_is_stale({**remote, "heartbeat_at": time.time() - 3600})


def test_the_local_executor_skips_a_run_another_driver_holds(tmp_path):
    configs = tiny_configs(tmp_path, entries=("lr1e-3",), seeds=(0,))
    folder = tmp_path / "runs" / configs[0].run_id
    held = claim_run(folder, token="other-driver")
    outcomes = LocalExecutor(ExecutorSettings(trainer=train_tiny)).run(configs)
    assert outcomes[0][1].startswith(CLAIMED + ":") and not is_failure(outcomes[0][1])
    assert _attempts(tmp_path) == [] and not (folder / "run.json").exists()
    held.release()


# ----------------------------------------------------------------------------- bad input


def test_missing_ray_is_explained_before_anything_trains(tmp_path, monkeypatch, capsys):
    from training.cli import main

    monkeypatch.setitem(sys.modules, "ray", None)  # what `import ray` sees when it is not installed
    code = main(["suite", "demo", "--executor", "ray", "--artifacts-dir", str(tmp_path)])
    assert code == 2
    assert "needs Ray, which is not installed" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


def test_an_unreachable_address_is_explained(tmp_path, capsys):
    from training.cli import main

    code = main(["suite", "demo", "--executor", "ray", "--address", "127.0.0.1:9", "--artifacts-dir", str(tmp_path)])
    assert code == 2
    assert "No Ray cluster answers at 127.0.0.1:9" in capsys.readouterr().err
    assert main(["suite", "demo", "--executor", "ray", "--address", "nonsense", "--dry-run"]) == 2
    assert "is not HOST:PORT" in capsys.readouterr().err


@pytest.mark.slow
def test_resources_no_node_has_are_refused_before_anything_trains(tmp_path):
    configs = tiny_configs(tmp_path, seeds=(0,))
    executor = _ray()
    ray = executor.connect()
    try:
        with pytest.raises(ExecutorError, match=r"asks for 64 CPU\(s\).*no node of this Ray cluster has that"):
            RayExecutor(ExecutorSettings(cpus_per_run=64)).resources(ray)
        if not ray.cluster_resources().get("GPU"):
            with pytest.raises(ExecutorError, match=r"1 GPU\(s\)"):
                RayExecutor(ExecutorSettings(gpus_per_run=1)).run(configs)
        plan = RayExecutor(ExecutorSettings(cpus_per_run=1)).describe(configs)
        assert "up to 2 run(s) at once" in plan and f"{configs[0].run_id}" in plan and "1 CPU, 0 GPU" in plan
    finally:
        executor.shutdown()
    assert not (tmp_path / "runs").exists()


# ----------------------------------------------------------------------------- Ray, end to end


@pytest.mark.slow
def test_ray_trains_a_tiny_suite_in_parallel_to_completion(tmp_path, by_value):
    configs = tiny_configs(tmp_path)
    started = time.monotonic()
    outcomes = _ray().run(configs)
    print(f"tiny suite under Ray (2 CPUs, 1 per run): {time.monotonic() - started:.1f} s")
    assert outcomes == [(config.run_id, COMPLETE) for config in configs]
    for config in configs:
        record = validate_run_record(_record(tmp_path, config.run_id))
        assert record["status"] == "complete" and record["config"]["seed"] == config.seed
        assert "ray node" in record["node"]
        assert read_history(tmp_path / "runs" / config.run_id)["epoch"].tolist() == list(range(EPOCHS))
        assert not (tmp_path / "runs" / config.run_id / "claim.json").exists()
    assert sorted(_attempts(tmp_path)) == sorted(config.run_id for config in configs)
    assert not list(tmp_path.glob(".executor-probe-*"))
    # Run again: everything is complete, nothing trains.
    assert _ray().run(configs) == [(config.run_id, SKIPPED) for config in configs]
    assert len(_attempts(tmp_path)) == len(configs)


@pytest.mark.slow
def test_a_killed_worker_is_retried_and_resumes_while_a_doomed_run_fails_alone(tmp_path, by_value):
    configs = tiny_configs(tmp_path, entries=("killonce", "killalways"), seeds=(0,), epochs=4)
    resumed, doomed = (config.run_id for config in configs)
    outcomes = dict(_ray(max_retries=1).run(configs))

    assert outcomes[resumed] == COMPLETE
    record = validate_run_record(_record(tmp_path, resumed))
    assert record["status"] == "complete" and record["resumed_from_epoch"] >= 1
    history = read_history(tmp_path / "runs" / resumed)
    assert history["epoch"].tolist() == [0, 1, 2, 3]  # one continuous history
    assert history["elapsed_seconds"].is_monotonic_increasing

    assert is_failure(outcomes[doomed]) and "died on all 2 attempts" in outcomes[doomed]
    failed = validate_run_record(_record(tmp_path, doomed))
    assert failed["status"] == "failed" and "died on all 2 attempts" in failed["error"]
    assert (tmp_path / "runs" / doomed / "backup").is_dir()  # still resumable later
    assert not (tmp_path / "runs" / doomed / "claim.json").exists()
    assert sorted(_attempts(tmp_path)) == sorted([resumed, resumed, doomed, doomed])


@pytest.mark.slow
def test_two_drivers_on_one_suite_train_each_run_once(tmp_path, by_value):
    configs = tiny_configs(tmp_path, epochs=TWO_DRIVER_EPOCHS)
    other = subprocess.Popen([sys.executable, __file__, str(tmp_path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not list((tmp_path / "runs").glob("*/claim.json")):  # the sequential driver is training its first run
        assert other.poll() is None, other.communicate()[1][-2000:]
        assert time.monotonic() < deadline
        time.sleep(0.1)
    ray_outcomes = dict(_ray().run(configs))
    out, errors = other.communicate(timeout=300)
    assert other.returncode == 0, errors[-2000:]
    local_outcomes = dict(json.loads(out.strip().splitlines()[-1]))

    assert sorted(_attempts(tmp_path)) == sorted(config.run_id for config in configs)  # each trained exactly once
    for config in configs:
        pair = sorted([ray_outcomes[config.run_id].split(":")[0], local_outcomes[config.run_id].split(":")[0]])
        assert pair in ([COMPLETE, SKIPPED], [CLAIMED, COMPLETE]), (config.run_id, pair)
        assert _record(tmp_path, config.run_id)["status"] == "complete"
    # They overlapped: one driver found a run the other was training.
    assert any(outcome.startswith(CLAIMED) for outcome in [*ray_outcomes.values(), *local_outcomes.values()])


if __name__ == "__main__":
    # The second driver of test_two_drivers_on_one_suite_train_each_run_once.
    artifacts = Path(sys.argv[1])
    print(json.dumps(LocalExecutor(ExecutorSettings(trainer=train_tiny)).run(tiny_configs(artifacts, epochs=TWO_DRIVER_EPOCHS))))
