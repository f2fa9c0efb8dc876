"""Executors: who trains a list of runs, and where. ``local`` (default) or ``ray``.

Both take a plain list of ``RunConfig`` (suites and seeds are expanded before) and
return ``(run_id, outcome)`` pairs. Both claim each run in its folder before training
it (``runstore.claims``), so two drivers on the same suite never train a run twice,
and both skip runs that are already complete and resume interrupted ones.

- ``LocalExecutor`` trains the runs one after another in this process. It never
  imports Ray.
- ``RayExecutor`` makes each pending run one Ray task, so as many train at once as
  the cluster's resources allow. A task asks for one GPU (and one CPU) when the
  cluster has GPUs, otherwise ``cpus_per_run`` CPUs (default 2: one for the model's
  maths and one for the input pipeline; TensorFlow's thread pools are sized to it).
  Every task runs in a fresh worker process (``max_calls=1``), so no TensorFlow or
  GPU state leaks from one run into the next. A worker that dies (killed, preempted,
  out of memory) is retried ``max_retries`` times and resumes from its last finished
  epoch; after that the run is marked failed with the reason and the others go on.
  Without ``address`` Ray starts on this machine; ``address="auto"`` or
  ``"HOST:PORT"`` joins a running cluster (``ray start --head``).

Usage::

    python -m training suite demo --executor ray               # Ray on this machine
    python -m training suite seed --executor ray --address auto  # join a cluster
    python -m training suite demo --executor ray --dry-run     # the plan and each run's resources
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import socket
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from runstore import atomic_write_json, resolve_artifacts_dir, run_dir
from runstore.claims import RunClaimed, claim_run, read_claim, release_claim
from runstore.status import STATUS_COMPLETE
from runstore.writer import fail_unfinished_run, record_node
from training.config import ConfigError, RunConfig
from training.run_state import planned_status

EXECUTORS = ("local", "ray")
REPO_ROOT = Path(__file__).resolve().parents[1]
RAY_PIN = "ray==2.60.0"  # keep in step with requirements.txt

COMPLETE = STATUS_COMPLETE  # the outcome of a run trained to the end: its status word
SKIPPED = "skipped"
CLAIMED = "claimed"  # being trained by another driver: neither done here nor failed
PROBE_PREFIX = ".executor-probe-"


class ExecutorError(ConfigError):
    """The executor cannot start (Ray missing, cluster unreachable, resources no node has); says what to do."""


@dataclass(frozen=True)
class ExecutorSettings:
    """How runs are spread. Only the Ray executor reads anything but ``trainer``."""

    address: str | None = None          # None: start Ray here; "auto" or "HOST:PORT": join that cluster
    cpus_per_run: int = 2               # CPUs a run asks for when it has no GPU
    gpus_per_run: int | None = None     # None: 1 when the cluster has a GPU, else 0
    max_retries: int = 2                # re-runs of a task whose worker died (3 attempts in all)
    local_cpus: int | None = None       # CPUs of a Ray started here (None: all of this machine's)
    log_to_driver: bool = True          # show the workers' epoch lines in the driver's output
    trainer: Callable | None = None     # trains one config; None: training.train.run_training


def is_failure(outcome: str) -> bool:
    """Whether an outcome string means the run failed (anything but complete, skipped or claimed)."""
    return outcome not in (COMPLETE, SKIPPED, CLAIMED) and not outcome.startswith(CLAIMED + ":")


def summary_lines(name: str, outcomes: list[tuple[str, str]]) -> list[str]:
    """The closing lines of a driver: how many runs are complete, which failed and why."""
    failed = [(run_id, outcome) for run_id, outcome in outcomes if is_failure(outcome)]
    elsewhere = [run_id for run_id, outcome in outcomes if outcome.startswith(CLAIMED)]
    done = len(outcomes) - len(failed) - len(elsewhere)
    lines = [f"{name}: {done} of {len(outcomes)} runs complete"
             + (f", {len(elsewhere)} being trained by another driver" if elsewhere else "")]
    lines += [f"  {run_id} failed: {outcome}" for run_id, outcome in failed]
    return lines


# ----------------------------------------------------------------------------- one run, wherever it trains


def this_node() -> str:
    """A name for the machine training here: the Ray node (IP and id) inside a Ray worker, else the host name."""
    if "ray" in sys.modules:
        import ray

        if ray.is_initialized():
            context = ray.get_runtime_context()
            return f"{ray.util.get_node_ip_address()} (ray node {context.get_node_id()[:8]})"
    return socket.gethostname()


def train_claimed(config: RunConfig, token: str, trainer: Callable | None = None) -> dict:
    """Claim ``config``'s run folder, train it unless complete, release the claim; never raises for a run's own failure.

    Returns ``{"run_id", "outcome", "node"}``; outcome is complete, skipped,
    ``claimed: <who>`` or the error message (the run's run.json then says failed).
    """
    node = this_node()
    folder = run_dir(resolve_artifacts_dir(config.artifacts_dir), config.run_id)
    result = {"run_id": config.run_id, "node": node}
    try:
        claim = claim_run(folder, token, node=node)
    except RunClaimed as held:
        return {**result, "outcome": f"{CLAIMED}: {held}"}
    try:
        if planned_status(config) == STATUS_COMPLETE:
            return {**result, "outcome": SKIPPED}
        if trainer is None:
            from training.train import run_training as trainer
        with claim.heartbeat():
            try:
                trainer(config)
                outcome = COMPLETE
            except Exception as error:  # run_training recorded it as failed; the suite goes on
                outcome = str(error) or type(error).__name__
            finally:
                record_node(folder, node)
        return {**result, "outcome": outcome}
    finally:
        # Released on every exit, Ctrl-C included: the run is then complete, failed or resumable.
        claim.release()


def _new_token() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:12]}"


# ----------------------------------------------------------------------------- local


class LocalExecutor:
    """Trains the runs one after another in this process (no Ray)."""

    name = "local"

    def __init__(self, settings: ExecutorSettings | None = None):
        self.settings = settings or ExecutorSettings()

    def describe(self, configs: Sequence[RunConfig]) -> str:
        """The plan's resources: every run in this process, one at a time."""
        return f"Executor local: {len(configs)} run(s) one after another in this process, using all of its CPUs and GPUs."

    def run(self, configs: Sequence[RunConfig]) -> list[tuple[str, str]]:
        """Train every run not yet complete, in order; one failure does not stop the others."""
        from tqdm import tqdm

        token = _new_token()
        outcomes = []
        with tqdm(total=len(configs), unit="run", desc="runs", file=sys.stderr) as bar:
            for config in configs:
                if planned_status(config) == STATUS_COMPLETE:
                    bar.write(f"{config.run_id}: already complete, skipped")
                    outcomes.append((config.run_id, SKIPPED))
                    bar.update()
                    continue
                started = time.monotonic()
                bar.write(f"{config.run_id}: started ({config.model}) on {this_node()}")
                try:
                    result = train_claimed(config, token, self.settings.trainer)
                finally:
                    if "keras" in sys.modules:
                        # Free the finished model's graph and memory before the next run.
                        sys.modules["keras"].backend.clear_session()
                outcomes.append((config.run_id, result["outcome"]))
                bar.write(_outcome_line(result, time.monotonic() - started))
                bar.update()
        return outcomes


def _outcome_line(result: dict, seconds: float) -> str:
    outcome = result["outcome"]
    if outcome == COMPLETE:
        return f"{result['run_id']}: complete on {result['node']} in {seconds:.0f} s"
    if outcome == SKIPPED:
        return f"{result['run_id']}: already complete, skipped"
    if outcome.startswith(CLAIMED):
        return f"{result['run_id']}: skipped, {outcome[len(CLAIMED) + 2:]}"
    return f"{result['run_id']}: FAILED on {result['node']}: {outcome}"


# ----------------------------------------------------------------------------- Ray


def import_ray():
    """The ``ray`` module, or ``ExecutorError`` saying how to install it."""
    try:
        import ray
    except ImportError:
        raise ExecutorError(
            f"--executor ray needs Ray, which is not installed here. Install it with "
            f"`.venv/bin/python -m pip install {RAY_PIN}` (pinned in requirements.txt), or use --executor local."
        ) from None
    return ray


def check_address(address: str, timeout: float = 5.0) -> None:
    """Fail fast with a clear message when ``HOST:PORT`` does not answer (``auto`` is checked by Ray)."""
    if address == "auto":
        return
    host, _, port = address.rpartition(":")
    if address.startswith("ray://"):
        host, _, port = address[len("ray://"):].rpartition(":")
    if not host or not port.isdigit():
        raise ExecutorError(f"--address {address!r} is not HOST:PORT (e.g. 10.0.0.5:6379) or 'auto'.")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            pass
    except OSError as error:
        raise ExecutorError(
            f"No Ray cluster answers at {address} ({error}). Start one there with `ray start --head --port {port}`, "
            "check the address and the firewall, or leave out --address to start Ray on this machine."
        ) from None


def _plain_env_paths(configs: Sequence[RunConfig]) -> list[RunConfig]:
    """Configs with relative folders made absolute: a worker's working directory is not the driver's."""
    fixed = []
    for config in configs:
        changes = {}
        for key in ("artifacts_dir", "data_dir"):
            value = getattr(config, key)
            if value and not Path(value).expanduser().is_absolute():
                changes[key] = str(Path(value).expanduser().resolve())
        fixed.append(dataclasses.replace(config, **changes) if changes else config)
    return fixed


def _worker_env() -> dict:
    """Environment for the workers: this checkout importable, and the driver's default folders."""
    from training.data import CIFAR10_ENV

    env = {"PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
           # Workers must write where the driver looks, whatever their own environment says.
           "ARTIFACTS_DIR": str(resolve_artifacts_dir(None))}
    for name in (CIFAR10_ENV, "TF_CPP_MIN_LOG_LEVEL", "TF_DETERMINISTIC_OPS", "KERAS_HOME"):
        if os.environ.get(name):
            env[name] = os.environ[name]
    return env


def _ray_task(config: RunConfig, token: str, probe: str, cpus: int, gpus: int, trainer: Callable | None) -> dict:
    """Body of one Ray task: check the shared folder, size TensorFlow's threads, train under the claim."""
    probe_path = Path(probe)
    if not probe_path.is_file():
        # Not retried (it is not a crash): the same node would not see it next time either.
        return {"run_id": config.run_id, "node": this_node(), "outcome": (
            f"node {this_node()} cannot see the artifacts folder {probe_path.parent} (the driver's marker file "
            f"{probe_path.name} is missing there). Put the artifacts on a filesystem every node mounts at the same "
            "path (NFS, a cloud filestore) and pass it with --artifacts-dir."
        )}
    if not gpus:
        # Only the CPUs Ray gave this run, or concurrent runs fight over every core. Read by TensorFlow
        # when it first loads, which is later in this fresh worker (max_calls=1).
        os.environ["TF_NUM_INTRAOP_THREADS"] = str(cpus)
        os.environ["TF_NUM_INTEROP_THREADS"] = str(max(1, cpus // 2))
    if trainer is None:
        from training.quiet import start_tensorflow

        # TensorFlow's start-up notes would otherwise fill the driver's terminal, once per run.
        start_tensorflow(verbose=False)
    return train_claimed(config, token, trainer)


class RayExecutor:
    """Trains each pending run as one Ray task on whichever node has the resources."""

    name = "ray"

    def __init__(self, settings: ExecutorSettings | None = None):
        self.settings = settings or ExecutorSettings()
        if self.settings.cpus_per_run < 1:
            raise ExecutorError(f"--cpus-per-run must be at least 1, got {self.settings.cpus_per_run}")
        self._started_here = False

    # --- connecting and sizing

    def connect(self):
        """Start or join Ray (clear errors before anything trains); return the ``ray`` module."""
        ray = import_ray()
        settings = self.settings
        if settings.address:
            check_address(settings.address)
        if ray.is_initialized():
            return ray
        options = {"include_dashboard": False, "log_to_driver": settings.log_to_driver,
                   "runtime_env": {"env_vars": _worker_env()}, "configure_logging": False}
        try:
            if settings.address:
                ray.init(address=settings.address, **options)
            else:
                ray.init(num_cpus=settings.local_cpus, **options)
                self._started_here = True
        except (ConnectionError, RuntimeError, ValueError) as error:
            where = settings.address or "this machine"
            raise ExecutorError(
                f"Could not start or join Ray at {where}: {error}. With --address auto a cluster must be running on "
                "this machine (`ray start --head`); otherwise give its HOST:PORT."
            ) from None
        return ray

    def shutdown(self) -> None:
        """Stop Ray if this executor started it (a joined cluster keeps running)."""
        if self._started_here and "ray" in sys.modules:
            sys.modules["ray"].shutdown()
            self._started_here = False

    def resources(self, ray) -> tuple[int, int]:
        """(cpus, gpus) each run asks for; ``ExecutorError`` when no live node could ever give them."""
        nodes = [node.get("Resources", {}) for node in ray.nodes() if node.get("Alive")]
        most_gpus = max((node.get("GPU", 0) for node in nodes), default=0)
        gpus = self.settings.gpus_per_run if self.settings.gpus_per_run is not None else (1 if most_gpus else 0)
        cpus = 1 if gpus else self.settings.cpus_per_run
        if not any(node.get("CPU", 0) >= cpus and node.get("GPU", 0) >= gpus for node in nodes):
            have = "; ".join(f"{node.get('CPU', 0):g} CPU, {node.get('GPU', 0):g} GPU" for node in nodes) or "no live nodes"
            raise ExecutorError(
                f"Each run asks for {cpus} CPU(s) and {gpus} GPU(s), but no node of this Ray cluster has that "
                f"(nodes: {have}). Lower --cpus-per-run, add a node with those resources, or ask for no GPU."
            )
        return cpus, gpus

    def describe(self, configs: Sequence[RunConfig]) -> str:
        """The plan's resources: what each run asks for and how many the cluster fits at once."""
        ray = self.connect()
        try:
            cpus, gpus = self.resources(ray)
            total = ray.cluster_resources()
            at_once = int(min(total.get("CPU", 0) // cpus, total.get("GPU", 0) // gpus if gpus else float("inf")))
            where = self.settings.address or "this machine (started for this command)"
            lines = [f"Executor ray on {where}: {len(ray.nodes())} node(s), {total.get('CPU', 0):g} CPU, "
                     f"{total.get('GPU', 0):g} GPU; up to {at_once} run(s) at once, "
                     f"{self.settings.max_retries} retr{'y' if self.settings.max_retries == 1 else 'ies'} per crashed worker."]
            lines += [f"  {config.run_id:<36} {cpus} CPU, {gpus} GPU" for config in configs]
            return "\n".join(lines)
        finally:
            self.shutdown()

    # --- running

    def run(self, configs: Sequence[RunConfig]) -> list[tuple[str, str]]:
        """Train every run not yet complete as Ray tasks; report each start, finish and failure as it happens."""
        from tqdm import tqdm

        configs = _plain_env_paths(configs)
        outcomes = {config.run_id: SKIPPED for config in configs if planned_status(config) == STATUS_COMPLETE}
        for run_id in outcomes:
            print(f"{run_id}: already complete, skipped", flush=True)
        pending = [config for config in configs if config.run_id not in outcomes]
        if not pending:
            return [(config.run_id, outcomes[config.run_id]) for config in configs]  # no need to start Ray
        ray = self.connect()
        probes: list[Path] = []
        refs: dict = {}
        token = _new_token()
        try:
            cpus, gpus = self.resources(ray)
            probes = self._write_probes(pending, token)
            task = ray.remote(num_cpus=cpus, num_gpus=gpus, max_retries=self.settings.max_retries,
                              retry_exceptions=False, max_calls=1)(_ray_task)
            with tqdm(total=len(configs), initial=len(outcomes), unit="run", desc="runs", file=sys.stderr) as bar, \
                    _sigterm_as_interrupt():
                for config in pending:
                    probe = str(self._probe_path(config, token))
                    refs[task.remote(config, token, probe, cpus, gpus, self.settings.trainer)] = config
                bar.write(f"Submitted {len(refs)} run(s) to Ray, each asking for {cpus} CPU and {gpus} GPU.")
                started: dict[str, float] = {}
                pids: dict[str, int] = {}
                while refs:
                    ready, _ = ray.wait(list(refs), num_returns=1, timeout=1.0)
                    self._report_starts(refs.values(), token, started, pids, bar)
                    for ref in ready:
                        config = refs.pop(ref)
                        result = self._result(ray, ref, config, token)
                        outcomes[config.run_id] = result["outcome"]
                        bar.write(_outcome_line(result, time.monotonic() - started.get(config.run_id, time.monotonic())))
                        bar.update()
            return [(config.run_id, outcomes[config.run_id]) for config in configs]
        except KeyboardInterrupt:
            self._stop(ray, refs)
            raise
        finally:
            for probe in probes:
                probe.unlink(missing_ok=True)
            self.shutdown()

    @staticmethod
    def _probe_path(config: RunConfig, token: str) -> Path:
        return resolve_artifacts_dir(config.artifacts_dir) / f"{PROBE_PREFIX}{token}"

    def _write_probes(self, configs: Sequence[RunConfig], token: str) -> list[Path]:
        """One marker per artifacts folder: a worker that cannot see it is not on the shared filesystem."""
        probes = sorted({self._probe_path(config, token) for config in configs})
        for probe in probes:
            try:
                atomic_write_json(probe, {"driver": token, "written_at": time.time()})
            except OSError as error:
                raise ExecutorError(f"Cannot write to the artifacts folder {probe.parent}: {error}") from None
        return probes

    @staticmethod
    def _report_starts(configs, token: str, started: dict, pids: dict, bar) -> None:
        """Print a line for each run a worker has claimed (or a retry has taken over) since the last look."""
        for config in configs:
            claim = read_claim(run_dir(resolve_artifacts_dir(config.artifacts_dir), config.run_id))
            if not claim or claim.get("token") != token or claim.get("pid") == pids.get(config.run_id):
                continue
            if config.run_id in pids:
                bar.write(f"{config.run_id}: its worker was lost; retrying on {claim.get('node')}, "
                          "resuming from the last finished epoch")
            else:
                started[config.run_id] = time.monotonic()
                bar.write(f"{config.run_id}: started ({config.model}) on {claim.get('node')}")
            pids[config.run_id] = claim.get("pid")

    def _result(self, ray, ref, config: RunConfig, token: str) -> dict:
        """The task's result, or, when its worker died on every attempt, the run marked failed with why."""
        try:
            return ray.get(ref)
        except ray.exceptions.RayError as error:
            reason = (f"its worker died on all {self.settings.max_retries + 1} attempts "
                      f"({type(error).__name__}: {str(error).strip().splitlines()[0][:300]}). "
                      "Run the same command again to resume from its last finished epoch.")
            folder = run_dir(resolve_artifacts_dir(config.artifacts_dir), config.run_id)
            last = read_claim(folder) or {}
            fail_unfinished_run(folder, reason)
            release_claim(folder, token)
            return {"run_id": config.run_id, "node": last.get("node") or "an unknown node", "outcome": reason}

    def _stop(self, ray, refs: dict) -> None:
        """Ctrl-C: interrupt every task so each run records itself failed-but-resumable, then let them finish."""
        for ref in refs:
            with contextlib.suppress(Exception):
                ray.cancel(ref, force=False)
        with contextlib.suppress(Exception):
            ray.wait(list(refs), num_returns=len(refs), timeout=20)


@contextlib.contextmanager
def _sigterm_as_interrupt():
    """Treat SIGTERM (a scheduler stopping the driver) like Ctrl-C, so every run is left resumable."""
    def interrupt(signum, frame):
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def make_executor(name: str, settings: ExecutorSettings | None = None):
    """The executor called ``name`` (local or ray); ``ExecutorError`` for any other name."""
    if name == "local":
        return LocalExecutor(settings)
    if name == "ray":
        return RayExecutor(settings)
    raise ExecutorError(f"Unknown executor {name!r}. Valid executors: {', '.join(EXECUTORS)}")
