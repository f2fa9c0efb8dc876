"""Many users at once: N concurrent Chromium sessions on a real dashboard server for S seconds.

Starts ``streamlit run dashboard/app.py`` on an artifacts folder (by default a
fresh folder of the 12 bench runs, see ``bench/dashboard_server.py``), opens one
headless Chromium with one browser context per session, and lets every session
loop until the time is up: go to another page through the sidebar (overview,
curves, confusion, misclassified, classify, data, compare), wait until Streamlit
has finished running the page and its key content is there, and on Classify
sometimes upload a generated PNG or JPEG and wait for the model's answer.

It counts requests (page views and classifications), errors (an exception or an
error/warning box on the page, a lost connection, a wait that timed out, a
traceback in the server log), p50/p95 latency per action and the server's
resident memory (process and children) before, at the peak and after. It prints
one table and exits with status 1 if there was any error. Everything runs on
127.0.0.1 and stops by itself: no new action starts after ``--seconds`` and every
wait is bounded by ``--timeout``.

    CIFAR10_DIR=... python bench/load.py                          # 20 sessions x 60 s (issue 6)
    CIFAR10_DIR=... python bench/load.py --sessions 3 --seconds 15
    CIFAR10_DIR=... python bench/load.py --artifacts-dir /tmp/bench-runs   # reuse (or create) a runs folder
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

# Pages a session visits, in the sidebar's words: URL path -> (link title, page title, key content selector).
# The key content is what a user came for; its presence (with the page title) means the page really rendered.
PAGE_CHECKS = {
    "overview": ("Overview", "Leaderboard", '[data-testid="stDataFrame"]'),
    "curves": ("Curves", "Training curves", '[data-testid="stPlotlyChart"]'),
    "confusion": ("Confusion", "Confusion", '[data-testid="stPlotlyChart"]'),
    "misclassified": ("Misclassified", "Misclassified test images", '[data-testid="stImage"]'),
    "classify": ("Classify", "Classify an image", '[data-testid="stFileUploader"]'),
    "data": ("Data", "The data: CIFAR-10", '[data-testid="stImage"]'),
    "compare": ("Compare", "Compare two runs", '[data-testid="stMetric"]'),
    "failures": ("Failures", "Where models fail together", '[data-testid="stMain"]'),
    "report": ("Report", "Report for stakeholders", '[data-testid="stMain"]'),
}
# A laptop-sized window: Chromium renders in software here (--disable-gpu), and pixels cost CPU.
VIEWPORT = {"width": 1280, "height": 800}
DEFAULT_PAGES = ("overview", "curves", "confusion", "misclassified", "classify", "data", "compare")
CHROMIUM_ARGUMENTS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
# Sentences that must never reach a user of a healthy artifacts folder (checked in the page's main area).
FORBIDDEN_TEXT = ("Traceback", "cannot be read", "is not available", "are not available", "was not used",
                  "went wrong", "Connection error")

# One JavaScript probe, run in the page: is the script finished, and what would a user see?
PAGE_STATE_SCRIPT = """
({title, content, upload, full}) => {
  const app = document.querySelector('[data-testid="stApp"]');
  const main = document.querySelector('[data-testid="stMain"]');
  // innerText forces a layout: only read it when it is needed, not on every poll.
  const text = main && (full || upload) ? main.innerText : '';
  const headings = [...document.querySelectorAll('[data-testid="stMain"] h1')].map(h => h.innerText.trim());
  const uploadShown = upload ? [...document.querySelectorAll('[data-testid="stMain"] h4')]
      .some(h => h.innerText.includes(upload)) : true;
  return {
    script: app ? app.getAttribute('data-test-script-state') : 'missing',
    connection: app ? app.getAttribute('data-test-connection-state') : 'missing',
    titled: headings.some(h => h.startsWith(title)),
    content: document.querySelector(content) !== null,
    skeletons: document.querySelectorAll('[data-testid="stSkeleton"]').length,
    uploadShown: uploadShown,
    answered: text.includes(' answers ') || text.includes('Majority answer'),
    exceptions: [...document.querySelectorAll('[data-testid="stException"]')].map(e => e.innerText.slice(0, 300)),
    errors: [...document.querySelectorAll('[data-testid="stAlertContentError"], [data-testid="stAlertContentWarning"]')]
        .map(e => e.innerText.slice(0, 300)),
    text: text,
  };
}
"""
# The same probe reduced to "done yet?", so Playwright can poll it in the page.
DONE_SCRIPT = f"""
(argument) => {{
  const state = ({PAGE_STATE_SCRIPT.strip()})(argument);
  if (state.exceptions.length || state.errors.length || state.connection === 'DISCONNECTED_FOREVER') return true;
  const rendered = state.script === 'notRunning' && state.titled && state.content && state.skeletons === 0;
  return rendered && state.uploadShown && (!argument.upload || state.answered);
}}
"""


@dataclass
class Outcome:
    """One finished action of one session."""

    kind: str  # "page:<name>" or "classify"
    seconds: float
    error: str | None = None


@dataclass
class LoadResult:
    """Everything a load run measured."""

    outcomes: list[Outcome] = field(default_factory=list)
    memory_mb: dict[str, float] = field(default_factory=dict)
    server_tracebacks: list[str] = field(default_factory=list)
    wall_seconds: float = 0.0
    warm_up_seconds: float = 0.0
    server_cpu_seconds: float = 0.0
    harness_cpu_seconds: float = 0.0

    @property
    def errors(self) -> list[Outcome]:
        """Actions that failed, in the order they happened."""
        return [outcome for outcome in self.outcomes if outcome.error is not None]

    @property
    def error_count(self) -> int:
        """Failed actions plus tracebacks in the server log."""
        return len(self.errors) + len(self.server_tracebacks)


def percentile(values: list[float], share: float) -> float:
    """The ``share`` (0..100) percentile of ``values`` (linear interpolation); NaN for no values."""
    if not 0 <= share <= 100:
        raise ValueError(f"share must be between 0 and 100, got {share}")
    return float(np.percentile(values, share)) if values else float("nan")


def latency_rows(outcomes: list[Outcome]) -> list[tuple[str, int, int, float, float, float]]:
    """Per action kind, then "all": (kind, done, errors, p50 s, p95 s, max s) over successful actions."""
    kinds = sorted({outcome.kind for outcome in outcomes}, key=lambda kind: (kind == "classify", kind))
    rows = []
    for kind in [*kinds, "all"]:
        chosen = [outcome for outcome in outcomes if kind in ("all", outcome.kind)]
        seconds = [outcome.seconds for outcome in chosen if outcome.error is None]
        errors = sum(outcome.error is not None for outcome in chosen)
        rows.append((kind, len(seconds), errors, percentile(seconds, 50), percentile(seconds, 95),
                     max(seconds) if seconds else float("nan")))
    return rows


def problems_on_page(state: dict) -> str | None:
    """What a user would see go wrong on a probed page, in one line, or None when all is well."""
    if state["exceptions"]:
        return "exception shown: " + state["exceptions"][0].replace("\n", " ")
    if state["errors"]:
        return "error box shown: " + state["errors"][0].replace("\n", " ")
    if state["connection"] == "DISCONNECTED_FOREVER":
        return "the browser lost its connection to the server"
    for sentence in FORBIDDEN_TEXT:
        if sentence in state["text"]:
            return f"page says {sentence!r}"
    return None


def make_upload_images(count: int, seed: int) -> list[tuple[str, str, bytes]]:
    """``count`` photo-like test uploads made with Pillow: (file extension, MIME type, bytes).

    Sizes from 48 to 900 pixels a side, PNG and JPEG alternating, RGB and RGBA:
    a gradient, a filled ellipse and noise, so the decoder and resizer do real work.
    """
    from PIL import Image, ImageDraw

    if count < 1:
        raise ValueError(f"count must be at least 1, got {count}")
    rng = np.random.default_rng(seed)
    images = []
    for number in range(count):
        width, height = (int(side) for side in rng.integers(48, 900, size=2))
        ramp = np.linspace(0, 255, width, dtype=np.float64)[None, :, None]
        pixels = ramp * rng.uniform(0.2, 1.0, size=(1, 1, 3)) + rng.normal(0, 25, size=(height, width, 3))
        image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")
        box = sorted(rng.integers(0, width, 2).tolist()), sorted(rng.integers(0, height, 2).tolist())
        ImageDraw.Draw(image).ellipse([box[0][0], box[1][0], box[0][1], box[1][1]],
                                      fill=tuple(int(value) for value in rng.integers(0, 256, 3)))
        buffer = io.BytesIO()
        if number % 2 == 0:
            (image.convert("RGBA") if number % 4 == 0 else image).save(buffer, format="PNG")
            images.append(("png", "image/png", buffer.getvalue()))
        else:
            image.save(buffer, format="JPEG", quality=int(rng.integers(60, 95)))
            images.append(("jpg", "image/jpeg", buffer.getvalue()))
    return images


def choose_next_page(rng: random.Random, current: str | None, pages: tuple[str, ...]) -> str:
    """A page other than ``current`` (a user clicks somewhere new), uniformly among ``pages``."""
    if not pages:
        raise ValueError("pages must not be empty")
    others = [name for name in pages if name != current] or list(pages)
    return rng.choice(others)


class Session:
    """One simulated user: one browser context, one tab, a seeded random walk over the pages."""

    def __init__(self, number: int, context, base_url: str, settings: argparse.Namespace,
                 uploads: list[tuple[str, str, bytes]], result: LoadResult) -> None:
        self.number = number
        self.context = context
        self.base_url = base_url
        self.settings = settings
        self.uploads = uploads
        self.result = result
        self.random = random.Random(settings.seed * 1000 + number)
        self.page = None
        self.current: str | None = None
        self.uploaded = 0

    async def run(self, deadline: float) -> None:
        """Visit pages (and classify uploads) until ``deadline``; never raises for a failed action."""
        self.page = await self.context.new_page()
        while time.monotonic() < deadline:
            name = choose_next_page(self.random, self.current, self.settings.pages)
            ok = await self.record(f"page:{name}", self.visit(name))
            if ok and name == "classify" and self.random.random() < self.settings.upload_share:
                await self.record("classify", self.classify())
            # Think time: people read what they opened before clicking on.
            await asyncio.sleep(self.random.uniform(0, 2 * self.settings.think_seconds))

    async def record(self, kind: str, action) -> bool:
        """Run ``action``, time it and store the outcome; True when it succeeded."""
        from playwright.async_api import Error as PlaywrightError

        start = time.perf_counter()
        try:
            error = await action
        except PlaywrightError as failure:  # timeouts included
            first_line = str(failure).strip().splitlines()[0] if str(failure).strip() else type(failure).__name__
            error = f"{type(failure).__name__}: {first_line[:200]}"
        seconds = time.perf_counter() - start
        if error is not None:
            error = f"session {self.number}, {kind}: {error}"
            self.current = None  # start over from a fresh page load next time
        self.result.outcomes.append(Outcome(kind, seconds, error))
        if self.settings.verbose:
            print(f"    session {self.number:>2} {kind:<20} {seconds:6.2f} s {error or 'ok'}", flush=True)
        return error is None

    async def visit(self, name: str) -> str | None:
        """Open page ``name`` the way a user would; None when it rendered cleanly, else what went wrong."""
        link_title, title, content = PAGE_CHECKS[name]
        timeout_ms = self.settings.timeout * 1000
        if self.current is None:
            await self.page.goto(f"{self.base_url}/{name}", wait_until="domcontentloaded", timeout=timeout_ms)
        else:
            link = self.page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=link_title, exact=True)
            await link.click(timeout=timeout_ms)
        error = await self.wait_rendered({"title": title, "content": content, "upload": ""})
        self.current = name if error is None else None
        return error

    async def classify(self) -> str | None:
        """Upload one generated image on the Classify page and wait for the model's answer."""
        extension, mime_type, data = self.uploads[(self.number + self.uploaded) % len(self.uploads)]
        self.uploaded += 1
        file_name = f"photo-{self.number}-{self.uploaded}.{extension}"
        uploader = self.page.locator('[data-testid="stFileUploaderDropzoneInput"]')
        await uploader.set_input_files({"name": file_name, "mimeType": mime_type, "buffer": data},
                                       timeout=self.settings.timeout * 1000)
        _, title, content = PAGE_CHECKS["classify"]
        return await self.wait_rendered({"title": title, "content": content, "upload": file_name})

    async def wait_rendered(self, argument: dict) -> str | None:
        """Wait until the script finished and the expected content is shown, then say what a user sees wrong."""
        await self.page.wait_for_function(DONE_SCRIPT, arg={**argument, "full": False},
                                          timeout=self.settings.timeout * 1000, polling=200)
        return problems_on_page(await self.page.evaluate(PAGE_STATE_SCRIPT, {**argument, "full": True}))


async def warm_up(browser, base_url: str, settings: argparse.Namespace, uploads: list, result: LoadResult) -> None:
    """Visit every page once and classify one upload, untimed, so sessions meet a warm server.

    The first visit after start imports TensorFlow and fills the caches; that cold
    start is bench/dashboard_speed.py's subject, not this test's. Failures here count as errors.
    """
    context = await browser.new_context(viewport=VIEWPORT)
    warm_settings = argparse.Namespace(**{**vars(settings), "timeout": max(settings.timeout, 300.0)})
    session = Session(-1, context, base_url, warm_settings, uploads, LoadResult())
    session.page = await context.new_page()
    start = time.monotonic()
    for name in settings.pages:
        if await session.record(f"page:{name}", session.visit(name)) and name == "classify":
            await session.record("classify", session.classify())
    await context.close()
    result.warm_up_seconds = time.monotonic() - start
    for outcome in session.result.errors:
        result.outcomes.append(Outcome("warm-up", outcome.seconds, outcome.error))


async def drive_sessions(base_url: str, settings: argparse.Namespace, server_process_id: int,
                         result: LoadResult) -> None:
    """Open the browser and the sessions, run them until the time is up, sample server memory meanwhile."""
    from dashboard_server import CHROMIUM, resident_megabytes
    from playwright.async_api import async_playwright

    uploads = make_upload_images(8, seed=settings.seed)
    result.memory_mb["start"] = resident_megabytes(server_process_id)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGUMENTS)
        if settings.warm_up:
            await warm_up(browser, base_url, settings, uploads, result)
        result.memory_mb["before"] = resident_megabytes(server_process_id)
        peak = result.memory_mb["before"]
        contexts = [await browser.new_context(viewport=VIEWPORT)
                    for _ in range(settings.sessions)]
        sessions = [Session(number, context, base_url, settings, uploads, result)
                    for number, context in enumerate(contexts)]
        # CPU used during the sessions, split into the server and this harness (browser, driver):
        # on a small machine the browsers compete with the server, and this shows by how much.
        server_meter, harness_meter = CpuMeter(), CpuMeter()

        def sample_cpu() -> tuple[float, float]:
            server_ids = process_tree(server_process_id)
            return server_meter.sample(server_ids), harness_meter.sample(process_tree(os.getpid()) - server_ids)

        server_cpu, harness_cpu = sample_cpu()
        start = time.monotonic()
        deadline = start + settings.seconds

        async def started_later(session: Session) -> None:
            # Users arrive over the ramp-up rather than in the same millisecond.
            await asyncio.sleep(settings.ramp_seconds * session.number / max(1, settings.sessions))
            await session.run(deadline)

        tasks = [asyncio.create_task(started_later(session)) for session in sessions]
        # Each session stops starting actions at the deadline; its last action is bounded by two waits.
        hard_stop = deadline + 2 * settings.timeout + 30
        while not all(task.done() for task in tasks) and time.monotonic() < hard_stop:
            peak = max(peak, resident_megabytes(server_process_id))
            sample_cpu()
            await asyncio.sleep(1.0)
        for task in tasks:
            if not task.done():
                task.cancel()
                result.outcomes.append(Outcome("stuck", 0.0, "a session did not stop by itself and was cancelled"))
        for outcome in await asyncio.gather(*tasks, return_exceptions=True):
            if isinstance(outcome, Exception):
                result.outcomes.append(Outcome("crash", 0.0, f"a session crashed: {outcome!r}"))
        result.wall_seconds = time.monotonic() - start
        server_cpu_end, harness_cpu_end = sample_cpu()
        result.server_cpu_seconds = server_cpu_end - server_cpu
        result.harness_cpu_seconds = harness_cpu_end - harness_cpu
        peak = max(peak, resident_megabytes(server_process_id))
        await browser.close()
    await asyncio.sleep(2.0)  # let the server drop the closed sessions before measuring again
    result.memory_mb["peak"] = peak
    result.memory_mb["after"] = resident_megabytes(server_process_id)


class CpuMeter:
    """CPU time (user + system) used by a changing set of processes, sampled now and then.

    A process that exits keeps the last time it was seen with, so closing a
    browser tab does not make its work vanish from the total.
    """

    def __init__(self) -> None:
        self.last_seen: dict[int, float] = {}

    def sample(self, process_ids: set[int]) -> float:
        """Record the CPU seconds of ``process_ids`` and return the total over every process seen so far."""
        import psutil

        for process_id in process_ids:
            try:
                times = psutil.Process(process_id).cpu_times()
                self.last_seen[process_id] = times.user + times.system
            except psutil.Error:
                pass  # it exited; its last sample stands
        return sum(self.last_seen.values())


def process_tree(root_id: int) -> set[int]:
    """``root_id`` and all its descendants that are alive now."""
    import psutil

    try:
        root = psutil.Process(root_id)
        return {root_id, *(child.pid for child in root.children(recursive=True))}
    except psutil.Error:
        return set()


def print_report(result: LoadResult, settings: argparse.Namespace, run_count: int) -> None:
    """The table of requests, errors, latency and memory, then each error in one line."""
    from common import row

    page_views = sum(o.kind.startswith("page:") and o.error is None for o in result.outcomes)
    classifications = sum(o.kind == "classify" and o.error is None for o in result.outcomes)
    row("action", "done", "errors", "p50 s", "p95 s", "max s")
    for kind, done, errors, median, p95, slowest in latency_rows(result.outcomes):
        row(kind, str(done), str(errors), f"{median:.2f}", f"{p95:.2f}", f"{slowest:.2f}")
    done = page_views + classifications
    print(f"  requests done: {done} ({page_views} page views, {classifications} classifications) by "
          f"{settings.sessions} sessions in {result.wall_seconds:.0f} s = {done / max(result.wall_seconds, 1e-9):.1f}/s, "
          f"{run_count} runs in the artifacts folder")
    memory = result.memory_mb
    if settings.warm_up:
        print(f"  warm-up (every page once and one classification, untimed): {result.warm_up_seconds:.0f} s")
    print(f"  server resident memory (process and children): at start {memory['start']:.0f} MB, "
          f"before sessions {memory['before']:.0f} MB, "
          f"peak {memory['peak']:.0f} MB, after {memory['after']:.0f} MB")
    print(f"  CPU used during the sessions: server {result.server_cpu_seconds:.0f} s, browser and harness "
          f"{result.harness_cpu_seconds:.0f} s, in {result.wall_seconds:.0f} s on {os.cpu_count()} cores "
          f"(load average now {os.getloadavg()[0]:.1f})")
    print(f"  errors: {result.error_count}" + (" (must be 0)" if result.error_count else ""))
    for outcome in result.errors[:30]:
        print(f"    - {outcome.error} (after {outcome.seconds:.1f} s)")
    for line in result.server_tracebacks[:10]:
        print(f"    - server log: {line}")


def parse_arguments(argv=None) -> argparse.Namespace:
    """The command line; bad values are refused with a message."""
    parser = argparse.ArgumentParser(description="Many concurrent browser sessions against the real dashboard.")
    parser.add_argument("--sessions", type=int, default=20, help="concurrent browser sessions (default 20)")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long sessions keep starting actions (default 60)")
    parser.add_argument("--artifacts-dir", help="runs folder to serve; the 12 bench runs are written into it "
                        "first if it has none (default: a temporary folder of the 12 bench runs)")
    parser.add_argument("--pages", nargs="+", default=list(DEFAULT_PAGES), choices=list(PAGE_CHECKS))
    parser.add_argument("--upload-share", type=float, default=0.7,
                        help="share of Classify visits that upload an image and wait for the answer (default 0.7)")
    parser.add_argument("--think-seconds", type=float, default=0.5, help="mean pause between actions (default 0.5)")
    parser.add_argument("--ramp-seconds", type=float, default=10.0, help="sessions start spread over this time (default 10)")
    parser.add_argument("--timeout", type=float, default=300.0,
                        help="longest wait for one page or answer before it counts as an error (default 300 s: a busy 2-core machine renders slowly)")
    parser.add_argument("--no-warm-up", dest="warm_up", action="store_false",
                        help="let the sessions meet a cold server (default: visit every page once first, untimed)")
    parser.add_argument("--verbose", action="store_true", help="print every action as it finishes")
    parser.add_argument("--seed", type=int, default=0)
    arguments = parser.parse_args(argv)
    if arguments.sessions < 1 or arguments.seconds <= 0 or arguments.timeout <= 0:
        parser.error("--sessions, --seconds and --timeout must be positive")
    if not 0 <= arguments.upload_share <= 1:
        parser.error("--upload-share must be between 0 and 1")
    if arguments.think_seconds < 0 or arguments.ramp_seconds < 0:
        parser.error("--think-seconds and --ramp-seconds must not be negative")
    arguments.pages = tuple(arguments.pages)
    return arguments


def prepare_artifacts(folder: Path) -> int:
    """Make sure ``folder`` holds runs (writing the 12 bench runs if it has none); return how many it holds."""
    from dashboard_server import make_bench_artifacts

    runs = folder / "runs"
    if not runs.is_dir() or not any(runs.iterdir()):
        print(f"  writing the 12 bench runs into {folder} ...", flush=True)
        make_bench_artifacts(folder)
    return sum(1 for path in runs.iterdir() if path.is_dir())


def main(argv=None) -> int:
    """Run the load test; 0 when there was no error, 1 otherwise."""
    import tempfile

    settings = parse_arguments(argv)
    bench_folder = str(Path(__file__).resolve().parent)
    if bench_folder not in sys.path:
        sys.path.insert(0, bench_folder)  # run as `python bench/load.py` or imported as bench.load
    from common import header
    from dashboard_server import running_dashboard

    from dashboard.launch import server_tracebacks

    header(f"many users: {settings.sessions} browser sessions x {settings.seconds:.0f} s, headless Chromium")
    result = LoadResult()
    with tempfile.TemporaryDirectory(prefix="bench-load-") as temporary:
        folder = Path(settings.artifacts_dir or temporary).resolve()
        folder.mkdir(parents=True, exist_ok=True)
        run_count = prepare_artifacts(folder)
        with running_dashboard(folder) as (base_url, process):
            asyncio.run(drive_sessions(base_url, settings, process.pid, result))
            result.server_tracebacks = server_tracebacks(process.server_log)
    print_report(result, settings, run_count)
    return 1 if result.error_count else 0


if __name__ == "__main__":
    sys.exit(main())
