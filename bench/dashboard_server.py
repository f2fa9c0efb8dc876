"""Bench artifacts folders (12 runs, or hundreds of replicate copies) and a real Streamlit server on them.

The 12 runs are schema-valid fixture runs (``tests.factories.make_run``) whose
predictions cover the real 10,000 CIFAR-10 test images, so every gallery and
confusion matrix works at full size; their model is the factories' tiny model.
``make_many_runs`` copies finished runs (real ones, or those 12) into replicate
groups, for the many-runs benchmark.

    from dashboard_server import make_bench_artifacts, make_many_runs, running_dashboard   # from a script in bench/
    with running_dashboard(make_bench_artifacts(folder)) as server: ...
    make_many_runs(folder, templates=list_runs(source), groups=50, seeds=10)   # 500 runs
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

import common  # noqa: F401
from common import DEFAULT_CIFAR10_DIR

from dashboard.launch import serve_dashboard

# Page name -> its link text in the sidebar navigation (dashboard/app.py).
NAV_TITLES = {"overview": "Overview", "curves": "Curves", "confusion": "Confusion", "misclassified": "Misclassified",
              "compare": "Compare", "failures": "Failures", "report": "Report", "classify": "Classify", "data": "Data",
              "add_model": "Add a model"}
PAGES = ("overview", "curves", "confusion", "misclassified", "compare", "failures", "report", "classify", "data")
CHROMIUM = "/usr/bin/chromium"
# (run id, model, optimizer, learning rate, epochs): 12 complete runs across the study's models.
BENCH_RUNS = [
    (f"bench-{model}-{index}", model, optimizer, learning_rate, epochs)
    for index, (model, optimizer, learning_rate, epochs) in enumerate([
        ("simple_cnn", "adam", 1e-3, 30), ("simple_cnn", "rmsprop", 1e-3, 25), ("simple_cnn", "sgd", 1e-2, 20),
        ("vgg16_scratch", "adam", 1e-3, 40), ("vgg16_bn", "adam", 1e-3, 40), ("vgg16_simple", "adam", 1e-3, 30),
        ("vgg16_transfer", "sgd", 1e-2, 20), ("resnet50v2_transfer", "adam", 1e-3, 15), ("fast_cnn", "sgd", 0.2, 5),
        ("simple_cnn", "adam", 3e-4, 30), ("vgg16_bn", "sgd", 5e-2, 35), ("fast_cnn", "sgd", 0.1, 5),
    ])
]


def cifar10_dir() -> str:
    return os.environ.get("CIFAR10_DIR") or DEFAULT_CIFAR10_DIR


def make_bench_artifacts(artifacts_dir: str | os.PathLike) -> Path:
    """Write the 12 bench runs into ``artifacts_dir`` (predictions on the real test set) and return it."""
    from tests.factories import make_run
    from training.data import load_test_set

    test_images, test_labels = load_test_set(cifar10_dir())
    for seed, (run_id, model, optimizer, learning_rate, epochs) in enumerate(BENCH_RUNS, start=1):
        make_run(artifacts_dir, run_id, model=model, optimizer=optimizer, learning_rate=learning_rate, epochs=epochs,
                 seed=seed, test_images=test_images, test_labels=test_labels, started_minutes_ago=120 - seed)
    return Path(artifacts_dir)


# Files a copy leaves out: resume state exists only while a run is unfinished.
SKIPPED_IN_COPIES = ("backup",)
# Seed-to-seed spread of the copies' test accuracy (a fraction): about what a second seed moves a CIFAR-10 CNN.
ACCURACY_JITTER = 0.006


def finished_runs(artifacts_dir: str | os.PathLike) -> list:
    """The complete, undamaged runs of ``artifacts_dir`` (``RunInfo``), in ``list_runs`` order; [] when none."""
    from runstore import list_runs

    return [info for info in list_runs(artifacts_dir) if info.status == "complete"]


def make_many_runs(artifacts_dir: str | os.PathLike, templates: list, groups: int = 50, seeds: int = 10,
                   random_seed: int = 0) -> list[Path]:
    """Copy ``templates`` (complete ``RunInfo``s) into ``groups`` replicate groups of ``seeds`` runs each.

    Group ``g`` copies template ``g % len(templates)`` ``seeds`` times, files and all;
    each copy's run.json gets its own ``run_id`` (``<group>-s<seed>``), the ``group``
    and ``seed`` a replicate records (schema 2), and a test accuracy jittered by
    ``ACCURACY_JITTER`` (seeded by ``random_seed``), so groups have a spread to show.
    Returns the new run folders; every copy is checked against the run.json contract.
    """
    import numpy as np

    from runstore import atomic_write_text, run_dir
    from runstore.layout import RUN_FILE
    from runstore.reader import read_run_record

    if not templates:
        raise ValueError("make_many_runs needs at least one complete run to copy.")
    if groups < 1 or seeds < 1:
        raise ValueError(f"groups and seeds must be at least 1, got {groups} and {seeds}")
    rng = np.random.default_rng(random_seed)
    folders = []
    for number in range(groups):
        template = templates[number % len(templates)]
        source = read_run_record(template.path)  # upgraded to the current schema
        group = f"{source['model']}-cfg{number:02d}"
        for seed in range(seeds):
            record = json.loads(json.dumps(source))
            record.update(run_id=f"{group}-s{seed}", group=group, seed=seed)
            record["config"] = {**record.get("config", {}), "seed": seed}
            accuracy = record["test_accuracy"] + rng.normal(0.0, ACCURACY_JITTER)
            record["test_accuracy"] = float(np.clip(accuracy, 0.0, 1.0))
            folder = run_dir(artifacts_dir, record["run_id"])
            shutil.copytree(template.path, folder, ignore=shutil.ignore_patterns(*SKIPPED_IN_COPIES))
            atomic_write_text(folder / RUN_FILE, json.dumps(record, indent=2) + "\n")
            read_run_record(folder)  # raises BrokenRun if a copy broke the contract
            folders.append(folder)
    return folders


@contextlib.contextmanager
def running_dashboard(artifacts_dir: str | os.PathLike, start_timeout: float = 120.0):
    """Serve the dashboard on ``artifacts_dir`` (``dashboard.launch``); yield (base URL, process); stop it after.

    ``process.server_log`` is the server's log file; ``dashboard.launch.server_tracebacks`` reads it.
    """
    with tempfile.TemporaryDirectory(prefix="bench-streamlit-") as folder:
        log_path = Path(folder) / "streamlit.log"
        with serve_dashboard(artifacts_dir, log_path, cifar10_dir=cifar10_dir(), start_timeout=start_timeout) as server:
            server.process.server_log = log_path
            yield server.base_url, server.process


def render_seconds(page, url: str, timeout_ms: float = 60_000) -> tuple[float, int]:
    """Load ``url`` in ``page`` and wait until the script has run and the app settled; return (seconds, exceptions shown)."""
    start = time.perf_counter()
    page.goto(url, wait_until="domcontentloaded", timeout=timeout_ms)
    # Streamlit marks its root with the script state: "notRunning" once the page's script has finished.
    page.wait_for_selector('[data-test-script-state="notRunning"]', state="attached", timeout=timeout_ms)
    page.wait_for_selector('[data-testid="stSkeleton"]', state="detached", timeout=timeout_ms)
    seconds = time.perf_counter() - start
    return seconds, page.locator('[data-testid="stException"]').count()


def switch_seconds(page, name: str, timeout_ms: float = 60_000) -> tuple[float, int]:
    """Click ``name``'s link in the sidebar (in-app navigation, the session stays open) and time until it settled.

    Finished means: the main title changed to the new page's, the script state is
    ``notRunning`` again and no skeleton is left. The title is checked first, so the
    ``notRunning`` of the page being left cannot end the timing early.
    """
    title_before = page.locator("[data-testid=stMain] h1").first.inner_text(timeout=timeout_ms)
    link = page.locator("[data-testid=stSidebarNav] a", has_text=NAV_TITLES[name]).first
    start = time.perf_counter()
    link.click(timeout=timeout_ms)
    page.wait_for_function(
        "before => { const h = document.querySelector('[data-testid=stMain] h1'); return h && h.innerText !== before; }",
        arg=title_before, timeout=timeout_ms)
    page.wait_for_selector('[data-test-script-state="notRunning"]', state="attached", timeout=timeout_ms)
    page.wait_for_selector('[data-testid="stSkeleton"]', state="detached", timeout=timeout_ms)
    seconds = time.perf_counter() - start
    return seconds, page.locator('[data-testid="stException"]').count()


def resident_megabytes(process_id: int) -> float:
    """Resident memory of a process and its children, in MB."""
    import psutil

    root = psutil.Process(process_id)
    total = 0
    for process in [root, *root.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            total += process.memory_info().rss
    return total / 1e6


class PeakResidentMemory:
    """Context manager sampling ``resident_megabytes(process_id)`` every ``interval`` seconds; ``peak_mb`` is the highest."""

    def __init__(self, process_id: int, interval: float = 0.2) -> None:
        self.process_id, self.interval, self.peak_mb = process_id, interval, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="rss-sampler", daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(Exception):  # the server may be stopping
                self.peak_mb = max(self.peak_mb, resident_megabytes(self.process_id))
            self._stop.wait(self.interval)

    def __enter__(self) -> "PeakResidentMemory":
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def write_upload_image(folder: str | os.PathLike) -> Path:
    """A PNG of the first CIFAR-10 test image, to upload on the Classify page."""
    from PIL import Image

    from training.data import load_test_set

    images, _ = load_test_set(cifar10_dir())
    path = Path(folder) / "upload.png"
    Image.fromarray(images[0]).save(path)
    return path


def classify_upload(page, base_url: str, image_path: Path, timeout_ms: float = 120_000,
                    every_model: bool = False) -> float | None:
    """Open the Classify page, upload ``image_path`` and wait for the answers; return the seconds taken.

    ``every_model`` first switches the page to "Every finished run", so every run's model is loaded.
    Returns None when the page shows no file input (the page changed): the caller reports it.
    """
    render_seconds(page, f"{base_url}/classify", timeout_ms)
    if every_model:
        page.get_by_text("Every finished run").click()
        page.wait_for_timeout(300)
        page.wait_for_selector('[data-test-script-state="notRunning"]', state="attached", timeout=timeout_ms)
    if page.locator('input[type="file"]').count() == 0:
        return None
    start = time.perf_counter()
    page.set_input_files('input[type="file"]', str(image_path))
    # The upload triggers a rerun: wait for it to start, then to finish.
    page.wait_for_timeout(300)
    page.wait_for_selector('[data-test-script-state="notRunning"]', state="attached", timeout=timeout_ms)
    return time.perf_counter() - start
