"""A class at once: many simulated users on one real dashboard server, measured at the server.

Each session is a ``ProtocolSession`` (bench/protocol_client.py): it speaks
Streamlit's websocket protocol as a browser tab does (a page load, then sidebar
clicks, then the page's images over HTTP) but costs the harness almost no CPU,
so on a small machine the figures are the server's rather than the browsers'.
It was checked against Chromium (``--check-browser``): the same page runs for
every view and the same media are shown.

Every scenario is ``SESSIONS:THINK`` (THINK = mean seconds a user reads before
the next click; 0 = no pause). For each it prints views, errors, p50/p95 of a
view (rerun sent -> script finished -> images fetched), views per second, server
CPU in cores and per view (process and children, psutil) and resident memory, then p50/p95
per page, then whether the targets hold: 10 sessions without pause and 30 with
5 s think time, both p95 <= 2 s with no errors.

With ``--workers N`` the same scenarios run on one plain Streamlit process and
then on N processes behind nginx with sticky sessions (``dashboard/serve.py``,
what ``make serve`` starts); each session keeps the proxy's ``labsession``
cookie, so its websocket and images reach one backend. Server CPU and memory
are summed over every serving process (the backends and nginx).

    python bench/load.py                                  # bench runs, scenarios 1:0 5:0 10:0 30:5, 30 s each
    python bench/load.py --scenarios 10:0 30:5 --seconds 60 --artifacts-dir /tmp/runs
    python bench/load.py --baseline-checkout /tmp/old     # the same scenarios on another checkout, side by side
    python bench/load.py --workers 2                      # one Streamlit process, then 2 behind nginx (make serve)
    python bench/load.py --url http://127.0.0.1:8501 --server-pid 1234   # a server already running
    python bench/load.py --soak 30                        # sessions coming and going; memory at start and end
    python bench/load.py --check-browser                  # compare the client with a Chromium walk
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))  # run as `python bench/load.py` or imported as bench.load

from bench.protocol_client import ProtocolSession, View  # noqa: E402

DEFAULT_PAGES = ("overview", "curves", "confusion", "misclassified", "classify", "data", "compare", "failures", "report")
DEFAULT_SCENARIOS = ("1:0", "5:0", "10:0", "30:5")
# (sessions, think seconds) the issue sets a p95 target for.
TARGET_SCENARIOS = {(10, 0.0), (30, 5.0)}
TARGET_P95_SECONDS = 2.0
# A soak's resident memory at its end may exceed its start by at most this share (issue 15).
SOAK_MEMORY_GROWTH_LIMIT = 0.20


@dataclass(frozen=True)
class Scenario:
    """How many sessions at once, and how long each pauses between views on average."""

    sessions: int
    think_seconds: float

    @classmethod
    def parse(cls, text: str) -> Scenario:
        """``"30:5"`` -> 30 sessions, 5 s mean think time; refuses anything else with a message."""
        try:
            sessions, think = text.split(":")
            scenario = cls(int(sessions), float(think))
        except ValueError:
            raise ValueError(f"a scenario is SESSIONS:THINK_SECONDS, like 30:5, not {text!r}") from None
        if scenario.sessions < 1 or scenario.think_seconds < 0:
            raise ValueError(f"a scenario needs at least one session and no negative think time, not {text!r}")
        return scenario

    @property
    def label(self) -> str:
        return f"{self.sessions} x {self.think_seconds:g} s"

    @property
    def is_target(self) -> bool:
        return (self.sessions, self.think_seconds) in TARGET_SCENARIOS


@dataclass
class ScenarioResult:
    """Everything measured while one scenario ran on one server."""

    scenario: Scenario
    server: str = "server"
    views: list[View] = field(default_factory=list)
    wall_seconds: float = 0.0
    server_cpu_seconds: float = 0.0
    memory_mb: dict[str, float] = field(default_factory=dict)

    @property
    def errors(self) -> list[View]:
        return [view for view in self.views if view.error is not None]

    def seconds(self, page: str | None = None) -> list[float]:
        """Times of the views that succeeded (of ``page``, or all)."""
        return [view.seconds for view in self.views if view.error is None and page in (None, view.page)]

    @property
    def meets_target(self) -> bool:
        seconds = self.seconds()
        return bool(seconds) and not self.errors and percentile(seconds, 95) <= TARGET_P95_SECONDS

    def memory_growth(self, at: str = "end") -> float | None:
        """Resident memory at ``at`` over the start, minus 1 (0.05 = grew 5%); None before both were measured."""
        start, end = self.memory_mb.get("start"), self.memory_mb.get(at)
        return end / start - 1.0 if start and end is not None else None


def percentile(values: list[float], share: float) -> float:
    """The ``share`` (0..100) percentile of ``values`` (linear interpolation); NaN for no values."""
    if not 0 <= share <= 100:
        raise ValueError(f"share must be between 0 and 100, got {share}")
    return float(np.percentile(values, share)) if values else float("nan")


def choose_next_page(rng: random.Random, current: str | None, pages: tuple[str, ...]) -> str:
    """A page other than ``current`` (a user clicks somewhere new), uniformly among ``pages``."""
    if not pages:
        raise ValueError("pages must not be empty")
    others = [name for name in pages if name != current] or list(pages)
    return rng.choice(others)


class CpuMeter:
    """CPU time (user + system) used by a changing set of processes, sampled now and then.

    A process that exits keeps the last time it was seen with, so a worker that
    stops does not make its work vanish from the total.
    """

    def __init__(self) -> None:
        self.last_seen: dict[int, float] = {}

    def sample(self, process_ids: set[int]) -> float:
        """Record the CPU seconds of ``process_ids`` and return the total over every process seen so far."""
        import psutil

        for process_id in process_ids:
            try:
                times = psutil.Process(process_id).cpu_times()
                self.last_seen[process_id] = times.user + times.system + times.children_user + times.children_system
            except psutil.Error:
                pass  # it exited; its last sample stands
        return sum(self.last_seen.values())


# Without a server log to read, the server counts as settled once it used under this many
# cores for QUIET_WINDOW_SECONDS in a row.
QUIET_CORES = 0.1
QUIET_WINDOW_SECONDS = 3.0


def warmup_announced(log_path: Path) -> bool:
    """Whether a server log has the line Classify's warm-up prints when it is over (``serving.warmup``)."""
    from serving.warmup import FINISHED_LINE_PREFIX

    try:
        return FINISHED_LINE_PREFIX in Path(log_path).read_text(errors="replace")
    except OSError:
        return False


async def settle(server_ids: list[int], timeout: float, log_paths: list[Path] = ()) -> tuple[float, bool]:
    """Wait until Classify's background warm-up has loaded its models; (seconds waited, settled).

    Without this the first scenario would share the CPU with that warm-up (16 models with
    500 runs) and the figures would mix serving with loading. With ``log_paths`` it waits for
    every server's "warm-up finished" line; otherwise (a server started elsewhere) for a quiet
    CPU, a weaker sign (a model read from a cold disk is quiet too). Gives up after ``timeout`` s.
    """
    meter = CpuMeter()
    start = time.monotonic()
    previous = meter.sample(process_tree(server_ids))
    while time.monotonic() - start < timeout:
        if log_paths and all(warmup_announced(path) for path in log_paths):
            return time.monotonic() - start, True
        await asyncio.sleep(1.0 if log_paths else QUIET_WINDOW_SECONDS)
        used = meter.sample(process_tree(server_ids))
        if not log_paths and (used - previous) / QUIET_WINDOW_SECONDS < QUIET_CORES:
            return time.monotonic() - start, True
        previous = used
    return time.monotonic() - start, False


def process_tree(root_ids: list[int]) -> set[int]:
    """The ``root_ids`` and all their descendants alive now."""
    import psutil

    found: set[int] = set()
    for root_id in root_ids:
        with contextlib.suppress(psutil.Error):
            found |= {root_id, *(child.pid for child in psutil.Process(root_id).children(recursive=True))}
    return found


def resident_megabytes(root_ids: list[int]) -> float:
    """Resident memory of the server processes and their children, in MB."""
    import psutil

    total = 0
    for process_id in process_tree(root_ids):
        with contextlib.suppress(psutil.Error):
            total += psutil.Process(process_id).memory_info().rss
    return total / 1e6


async def user(number: int, base_url: str, scenario: Scenario, settings: argparse.Namespace, deadline: float,
               result: ScenarioResult, views_per_session: int | None = None) -> None:
    """One user: open a tab, click through pages with think time until ``deadline`` (or ``views_per_session``)."""
    rng = random.Random(settings.seed * 100_003 + number)
    session = ProtocolSession(base_url, timeout=settings.timeout)
    current = None
    try:
        await session.open()
    except Exception as failure:
        result.views.append(View("open", error=f"session {number} could not open: {failure}"))
        return
    try:
        done = 0
        while time.monotonic() < deadline and (views_per_session is None or done < views_per_session):
            current = choose_next_page(rng, current, settings.pages)
            view = await session.visit(current)
            result.views.append(view)
            done += 1
            if settings.verbose:
                print(f"    {result.server} {scenario.label} session {number:>3} {current:<14} "
                      f"{view.seconds:6.2f} s {view.error or 'ok'}", flush=True)
            if view.error:
                break  # a browser would show the error; this user leaves
            await asyncio.sleep(rng.uniform(0, 2 * scenario.think_seconds))
    finally:
        await session.close()


async def run_scenario(base_url: str, server_ids: list[int], scenario: Scenario, settings: argparse.Namespace,
                       server: str = "server") -> ScenarioResult:
    """Run ``scenario`` for ``settings.seconds`` against ``base_url``; measure the server's CPU and memory."""
    result = ScenarioResult(scenario, server)
    meter = CpuMeter()
    cpu_start = meter.sample(process_tree(server_ids))
    result.memory_mb["start"] = peak = resident_megabytes(server_ids)
    start = time.monotonic()
    deadline = start + settings.seconds

    async def started_later(number: int) -> None:
        # Users arrive over the ramp rather than in the same millisecond.
        await asyncio.sleep(settings.ramp_seconds * number / scenario.sessions)
        await user(number, base_url, scenario, settings, deadline, result)

    tasks = [asyncio.create_task(started_later(number)) for number in range(scenario.sessions)]
    while not all(task.done() for task in tasks):
        peak = max(peak, resident_megabytes(server_ids))
        meter.sample(process_tree(server_ids))
        await asyncio.sleep(1.0)
    for outcome in await asyncio.gather(*tasks, return_exceptions=True):
        if isinstance(outcome, Exception):
            result.views.append(View("crash", error=f"a session crashed: {outcome!r}"))
    result.wall_seconds = time.monotonic() - start
    result.server_cpu_seconds = meter.sample(process_tree(server_ids)) - cpu_start
    result.memory_mb["peak"] = max(peak, resident_megabytes(server_ids))
    await asyncio.sleep(2.0)  # let the server drop the closed sessions
    result.memory_mb["end"] = resident_megabytes(server_ids)
    return result


async def soak(base_url: str, server_ids: list[int], settings: argparse.Namespace) -> ScenarioResult:
    """Sessions coming and going for ``settings.soak`` minutes: each user stays for 5-40 views, then a new one comes.

    ``measure`` has let the server settle first, so memory's start already holds the
    models Classify's warm-up loads: the soak asks whether sessions that come and go
    leave memory behind, not whether a server loads its models.
    """
    scenario = Scenario(settings.soak_sessions, settings.soak_think)
    result = ScenarioResult(scenario, "soak")
    result.memory_mb["start"] = resident_megabytes(server_ids)
    meter = CpuMeter()
    cpu_start = meter.sample(process_tree(server_ids))
    start = time.monotonic()
    deadline = start + settings.soak * 60
    rng = random.Random(settings.seed)
    arrivals = iter(range(10**9))

    async def seat(seat_number: int) -> None:
        await asyncio.sleep(settings.ramp_seconds * seat_number / scenario.sessions)
        while time.monotonic() < deadline:
            await user(next(arrivals), base_url, scenario, settings, deadline, result,
                       views_per_session=rng.randint(5, 40))

    tasks = [asyncio.create_task(seat(number)) for number in range(scenario.sessions)]
    next_report = start + 60
    peak = result.memory_mb["start"]
    while not all(task.done() for task in tasks):
        meter.sample(process_tree(server_ids))
        peak = max(peak, resident_megabytes(server_ids))
        if time.monotonic() >= next_report:
            next_report += 60
            print(f"  soak {(time.monotonic() - start) / 60:4.1f} min: {len(result.views)} views, "
                  f"{len(result.errors)} errors, server {resident_megabytes(server_ids):.0f} MB", flush=True)
        await asyncio.sleep(1.0)
    result.wall_seconds = time.monotonic() - start
    result.server_cpu_seconds = meter.sample(process_tree(server_ids)) - cpu_start
    result.memory_mb["peak"] = peak
    await asyncio.sleep(5.0)
    result.memory_mb["end"] = resident_megabytes(server_ids)
    if settings.soak_reconnect_seconds:
        # Streamlit keeps up to 128 closed sessions for server.disconnectedSessionTTL (120 s) so that
        # a tab whose network blinked can resume, and prunes them lazily, when a session next
        # disconnects: wait out that window, then open and close one tab.
        await asyncio.sleep(settings.soak_reconnect_seconds + 5.0)
        session = ProtocolSession(base_url, timeout=settings.timeout)
        await session.open()
        try:
            await session.visit(settings.pages[0])
        finally:
            await session.close()
        await asyncio.sleep(2.0)
        result.memory_mb["after reconnect window"] = resident_megabytes(server_ids)
    return result


async def warm_up(base_url: str, settings: argparse.Namespace) -> list[View]:
    """Visit every page once, untimed, so the sessions meet a warm server (imports and caches filled)."""
    session = ProtocolSession(base_url, timeout=max(settings.timeout, 300.0))
    await session.open()
    try:
        return [await session.visit(page) for page in settings.pages]
    finally:
        await session.close()


def print_results(results: list[ScenarioResult], run_count: int | None, ran_on: str) -> None:
    """The summary table, per-page p50/p95, errors, and whether the targets hold."""
    cores = os.cpu_count()
    print(f"  {'server':<12} {'sessions x think':<17} {'views':>6} {'errors':>6} {'p50 s':>6} {'p95 s':>6} "
          f"{'views/s':>7} {'CPU cores':>9} {'CPU s/view':>10} {'RSS MB start/peak/end':>22}")
    for result in results:
        seconds = result.seconds()
        memory = result.memory_mb
        print(f"  {result.server:<12} {result.scenario.label:<17} {len(seconds):>6} {len(result.errors):>6} "
              f"{percentile(seconds, 50):>6.2f} {percentile(seconds, 95):>6.2f} "
              f"{len(seconds) / max(result.wall_seconds, 1e-9):>7.1f} "
              f"{result.server_cpu_seconds / max(result.wall_seconds, 1e-9):>9.2f} "
              f"{result.server_cpu_seconds / max(len(seconds), 1):>10.2f} "
              f"{memory.get('start', 0):>8.0f}/{memory.get('peak', memory.get('end', 0)):.0f}/{memory.get('end', 0):.0f}")
    print("  per page, p50 / p95 s:")
    pages = sorted({view.page for result in results for view in result.views if view.error is None})
    print(f"  {'server':<12} {'sessions x think':<17} " + " ".join(f"{page[:12]:>12}" for page in pages))
    for result in results:
        cells = []
        for page in pages:
            seconds = result.seconds(page)
            cells.append(f"{percentile(seconds, 50):.2f}/{percentile(seconds, 95):.2f}" if seconds else "-")
        print(f"  {result.server:<12} {result.scenario.label:<17} " + " ".join(f"{cell:>12}" for cell in cells))
    for result in results:
        for view in result.errors[:10]:
            print(f"    - {result.server} {result.scenario.label} {view.page}: {view.error}")
    print(f"  {run_count if run_count is not None else '?'} runs in the artifacts folder; {cores} cores; "
          f"load average now {os.getloadavg()[0]:.1f} (other work on the machine inflates every figure)")
    for result in results:
        if result.scenario.is_target:
            verdict = "met" if result.meets_target else "NOT met"
            print(f"  target {result.server} {result.scenario.label}: p95 <= {TARGET_P95_SECONDS:g} s, no errors: {verdict} "
                  f"(on {ran_on})")
        for moment, words in (("end", "5 s after the last session closed"),
                              ("after reconnect window", "once Streamlit let go of the closed sessions (reconnect window)")):
            growth = result.memory_growth(moment) if result.server == "soak" else None
            if growth is not None:
                verdict = "met" if growth <= SOAK_MEMORY_GROWTH_LIMIT and not result.errors else "NOT met"
                print(f"  target soak, memory {words}: within {SOAK_MEMORY_GROWTH_LIMIT:.0%} of the start, no errors: "
                      f"{growth:+.1%} ({result.memory_mb['start']:.0f} -> {result.memory_mb[moment]:.0f} MB), {verdict} "
                      f"(on {ran_on})")


def parse_arguments(argv=None) -> argparse.Namespace:
    """The command line; bad values are refused with a message."""
    parser = argparse.ArgumentParser(description="Many simulated users (Streamlit's protocol) against the dashboard.")
    parser.add_argument("--scenarios", nargs="+", default=list(DEFAULT_SCENARIOS),
                        help="SESSIONS:THINK_SECONDS each (default: 1:0 5:0 10:0 30:5)")
    parser.add_argument("--sessions", type=int, help="shorthand for one scenario SESSIONS:--think-seconds")
    parser.add_argument("--think-seconds", type=float, default=0.0, help="think time for --sessions (default 0)")
    parser.add_argument("--seconds", type=float, default=30.0, help="how long each scenario keeps starting views (default 30)")
    parser.add_argument("--ramp-seconds", type=float, default=3.0, help="sessions start spread over this time (default 3)")
    parser.add_argument("--pages", nargs="+", default=list(DEFAULT_PAGES))
    parser.add_argument("--artifacts-dir", help="runs folder to serve; the 12 bench runs are written into it first "
                        "if it has none (default: a temporary folder of the 12 bench runs)")
    parser.add_argument("--url", help="measure a server already running here instead of starting one")
    parser.add_argument("--server-pid", type=int, nargs="*", default=[],
                        help="with --url: the server process ids whose CPU and memory to measure")
    parser.add_argument("--baseline-checkout", help="another checkout of this repo (e.g. `git worktree add /tmp/old "
                        "<commit>`): its dashboard runs the same scenarios right before this one's")
    parser.add_argument("--workers", type=int, default=1, help="N > 1: run the scenarios on one Streamlit process, "
                        "then on N behind nginx with sticky sessions (dashboard/serve.py), side by side")
    parser.add_argument("--soak", type=float, metavar="MINUTES", help="instead of the scenarios: sessions come and go "
                        "for MINUTES; memory at start and end")
    parser.add_argument("--soak-sessions", type=int, default=30)
    parser.add_argument("--soak-think", type=float, default=5.0)
    parser.add_argument("--soak-reconnect-seconds", type=float, default=120.0,
                        help="after the soak, wait this long (Streamlit's server.disconnectedSessionTTL, default 120) "
                        "and measure memory again once it let go of the closed sessions; 0 skips")
    parser.add_argument("--settle-timeout", type=float, default=300.0, help="after the warm-up visit, wait at most "
                        "this long for Classify's background model warm-up to finish (default 300 s)")
    parser.add_argument("--check-browser", action="store_true",
                        help="walk the pages in Chromium and with the client on the same server and compare")
    parser.add_argument("--timeout", type=float, default=120.0, help="longest wait for one view (default 120 s)")
    parser.add_argument("--verbose", action="store_true", help="print every view as it finishes")
    parser.add_argument("--seed", type=int, default=0)
    arguments = parser.parse_args(argv)
    try:
        if arguments.sessions is not None:
            arguments.scenarios = [f"{arguments.sessions}:{arguments.think_seconds:g}"]
        arguments.scenarios = [Scenario.parse(text) for text in arguments.scenarios]
    except ValueError as error:
        parser.error(str(error))
    if arguments.seconds <= 0 or arguments.timeout <= 0 or arguments.ramp_seconds < 0:
        parser.error("--seconds and --timeout must be positive, --ramp-seconds not negative")
    if arguments.settle_timeout < 0 or arguments.soak_reconnect_seconds < 0:
        parser.error("--settle-timeout and --soak-reconnect-seconds must not be negative")
    if arguments.soak is not None and arguments.soak <= 0:
        parser.error("--soak must be a positive number of minutes")
    if arguments.url and (arguments.baseline_checkout or arguments.workers > 1):
        parser.error("--baseline-checkout and --workers start their own servers; they cannot be used with --url")
    if arguments.workers < 1:
        parser.error(f"--workers must be at least 1, got {arguments.workers}")
    if arguments.workers > 1:
        from dashboard.serve import find_nginx

        if find_nginx() is None:
            parser.error("--workers needs nginx (Debian: apt-get install nginx-light)")
    unknown = sorted(set(arguments.pages) - set(DEFAULT_PAGES))
    if unknown:
        parser.error(f"unknown pages {unknown}; choose from {list(DEFAULT_PAGES)}")
    arguments.pages = tuple(arguments.pages)
    return arguments


def bench_helpers():
    """``bench/dashboard_server.py`` (it imports its neighbours as top-level modules, so bench/ goes on the path)."""
    bench_folder = str(Path(__file__).resolve().parent)
    if bench_folder not in sys.path:
        sys.path.insert(0, bench_folder)
    import dashboard_server

    return dashboard_server


def prepare_artifacts(folder: Path) -> tuple[int, str]:
    """Make sure ``folder`` holds runs (writing the 12 bench runs if it has none); return how many, and what they are."""
    make_bench_artifacts = bench_helpers().make_bench_artifacts

    runs = folder / "runs"
    fixtures = not runs.is_dir() or not any(runs.iterdir())
    if fixtures:
        print(f"  writing the 12 bench runs into {folder} ...", flush=True)
        make_bench_artifacts(folder)
    count = sum(1 for path in runs.iterdir() if path.is_dir())
    # A verdict means little without what it ran on: the fixtures' tiny CNNs load and answer far faster than VGG16.
    ran_on = "the 12 bench fixture runs (tiny CNNs, not the demo's models)" if fixtures else f"the {count} runs in {folder}"
    return count, ran_on


@contextlib.contextmanager
def started_server(folder: Path, checkout: Path | None, log_folder: Path, workers: int = 1):
    """Serve ``checkout``'s dashboard (default: this one) on ``folder``; yield (URL, [pid], [log path], [backend URL]).

    One plain Streamlit process for ``workers`` 1; otherwise ``workers`` processes behind
    nginx (``dashboard.serve.serve_workers``), whose pids are all measured.
    """
    from dashboard.launch import serve_dashboard
    from dashboard.serve import serve_workers

    cifar10_dir = bench_helpers().cifar10_dir
    name = "baseline" if checkout else "server"
    if workers == 1:
        log_path = log_folder / f"streamlit-{name}.log"
        with serve_dashboard(folder, log_path, cifar10_dir=cifar10_dir(), checkout=checkout) as server:
            yield server.base_url, [server.process.pid], [log_path], [server.base_url]
        return
    with serve_workers(workers, log_folder / f"serve-{name}-{workers}", artifacts_dir=folder,
                       cifar10_dir=cifar10_dir(), checkout=checkout) as pool:
        yield (pool.base_url, [process.pid for process in pool.processes], [b.log_path for b in pool.backends],
               [b.base_url for b in pool.backends])


def servers_to_measure(settings: argparse.Namespace) -> list[tuple[str, Path | None, int]]:
    """(name, checkout, workers) of each server to run the scenarios on, in order."""
    servers = [("baseline", Path(settings.baseline_checkout).resolve(), 1)] if settings.baseline_checkout else []
    if settings.workers == 1:
        return [*servers, ("this", None, 1)]
    return [*servers, ("1 process", None, 1), (f"{settings.workers} processes", None, settings.workers)]


async def measure(base_url: str, server_ids: list[int], settings: argparse.Namespace, name: str,
                  warm_urls: list[str] | None = None, log_paths: list[Path] = ()) -> list[ScenarioResult]:
    """Warm the server up (each of ``warm_urls``, default ``base_url``), then run every scenario (or the soak) on it.

    Behind the proxy each backend is warmed directly: a warm-up session through nginx would warm only its own.
    """
    warm = [view for views in await asyncio.gather(*(warm_up(url, settings) for url in warm_urls or [base_url]))
            for view in views]
    failed = [view for view in warm if view.error]
    if server_ids:
        waited, quiet = await settle(server_ids, settings.settle_timeout, log_paths)
        print(f"  {name}: {'settled' if quiet else 'not settled, measuring anyway'} {waited:.0f} s after the warm-up "
              f"visit ({'warm-up finished line' if log_paths else 'quiet CPU'}; server "
              f"{resident_megabytes(server_ids):.0f} MB)", flush=True)
    results = []
    if failed:
        warm_result = ScenarioResult(Scenario(1, 0), f"{name} warm-up", views=failed)
        results.append(warm_result)
    if settings.soak:
        results.append(await soak(base_url, server_ids, settings))
        return results
    for scenario in settings.scenarios:
        print(f"  {name}: {scenario.label} for {settings.seconds:.0f} s ...", flush=True)
        results.append(await run_scenario(base_url, server_ids, scenario, settings, name))
    return results


def main(argv=None) -> int:
    """Run the load test; 0 when there was no error, 1 otherwise."""
    import tempfile

    from bench.common import header
    from dashboard.launch import server_tracebacks

    settings = parse_arguments(argv)
    header("a class at once: simulated sessions speaking Streamlit's protocol, measured at the server")
    if settings.url:
        results = asyncio.run(measure(settings.url, settings.server_pid, settings, "server"))
        print_results(results, None, f"the server at {settings.url}")
        return 1 if any(result.errors for result in results) else 0
    results: list[ScenarioResult] = []
    tracebacks: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-load-") as temporary:
        folder = Path(settings.artifacts_dir or Path(temporary) / "artifacts").resolve()
        folder.mkdir(parents=True, exist_ok=True)
        run_count, ran_on = prepare_artifacts(folder)
        if settings.check_browser:
            from bench.browser_check import compare_walks

            CHROMIUM = bench_helpers().CHROMIUM
            # With --workers, Chromium and the client go through nginx: the proxy must pass the websocket.
            with started_server(folder, None, Path(temporary), settings.workers) as (base_url, *_):
                problems = compare_walks(base_url, list(settings.pages), CHROMIUM)
            print("  the client matches Chromium" if not problems else "\n".join(f"  - {p}" for p in problems))
            return 1 if problems else 0
        for name, checkout, workers in servers_to_measure(settings):
            with started_server(folder, checkout, Path(temporary), workers) as (base_url, server_ids, log_paths,
                                                                                backend_urls):
                # An older checkout's warm-up prints no "finished" line: its settling falls back to a quiet CPU.
                announcing = checkout is None and os.environ.get("DASHBOARD_WARMUP", "1") != "0"
                results += asyncio.run(measure(base_url, server_ids, settings, name, backend_urls,
                                               log_paths if announcing else []))
                tracebacks += [f"{name}: {line}" for log_path in log_paths for line in server_tracebacks(log_path)]
    print_results(results, run_count, ran_on)
    for line in tracebacks[:10]:
        print(f"    - server log: {line}")
    return 1 if tracebacks or any(result.errors for result in results) else 0


if __name__ == "__main__":
    sys.exit(main())
