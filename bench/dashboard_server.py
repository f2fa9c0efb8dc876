"""A bench artifacts folder of 12 runs and a real Streamlit server on it, for the dashboard benchmarks.

The runs are schema-valid fixture runs (``tests.factories.make_run``) whose
predictions cover the real 10,000 CIFAR-10 test images, so every gallery and
confusion matrix works at full size; their model is the factories' tiny model.

    from dashboard_server import make_bench_artifacts, running_dashboard   # from a script in bench/
    with running_dashboard(make_bench_artifacts(folder)) as server: ...
"""

from __future__ import annotations

import collections
import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import common  # noqa: F401
from common import DEFAULT_CIFAR10_DIR, REPO_ROOT

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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ServerLog:
    """Reads the server's stderr in a thread: keeps the pipe drained and remembers tracebacks."""

    def __init__(self, stream) -> None:
        self.tail: collections.deque[str] = collections.deque(maxlen=400)
        self.tracebacks: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def wait_for_end(self, timeout: float = 5.0) -> None:
        """Wait until the server closed its stderr (it exited), so ``tail`` is complete."""
        self._thread.join(timeout)

    def _read(self, stream) -> None:
        for raw in iter(stream.readline, b""):
            line = raw.decode(errors="replace").rstrip()
            self.tail.append(line)
            if "Traceback" in line:
                # The line before names the context ("Uncaught app execution"); keep both.
                previous = self.tail[-2] if len(self.tail) > 1 else ""
                self.tracebacks.append(f"{previous} | {line}".strip(" |"))


@contextlib.contextmanager
def running_dashboard(artifacts_dir: str | os.PathLike, start_timeout: float = 120.0):
    """Start ``streamlit run dashboard/app.py`` on ``artifacts_dir``; yield (base URL, process); stop it after."""
    port = free_port()
    environment = dict(os.environ, ARTIFACTS_DIR=str(artifacts_dir), CIFAR10_DIR=cifar10_dir())
    command = [sys.executable, "-m", "streamlit", "run", str(REPO_ROOT / "dashboard" / "app.py"),
               "--server.port", str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false"]
    process = subprocess.Popen(command, cwd=REPO_ROOT, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    # Drain stderr from the start: an unread pipe fills at ~64 KB (TensorFlow is
    # chatty) and would then freeze the server mid-benchmark.
    process.server_log = ServerLog(process.stderr)
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + start_timeout
        while True:
            if process.poll() is not None:
                process.server_log.wait_for_end()
                raise RuntimeError("streamlit exited at start: " + "\n".join(process.server_log.tail)[-2000:])
            try:
                with urllib.request.urlopen(f"{base_url}/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"streamlit did not answer on {base_url} within {start_timeout:.0f} s")
            time.sleep(0.25)
        yield base_url, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def render_seconds(page, url: str, timeout_ms: float = 60_000) -> tuple[float, int]:
    """Load ``url`` in ``page`` and wait until the script has run and the app settled; return (seconds, exceptions shown)."""
    start = time.perf_counter()
    page.goto(url, wait_until="domcontentloaded", timeout=timeout_ms)
    # Streamlit marks its root with the script state: "notRunning" once the page's script has finished.
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


def write_upload_image(folder: str | os.PathLike) -> Path:
    """A PNG of the first CIFAR-10 test image, to upload on the Classify page."""
    from PIL import Image

    from training.data import load_test_set

    images, _ = load_test_set(cifar10_dir())
    path = Path(folder) / "upload.png"
    Image.fromarray(images[0]).save(path)
    return path


def classify_upload(page, base_url: str, image_path: Path, timeout_ms: float = 120_000) -> float | None:
    """Open the Classify page, upload ``image_path`` and wait for the answers; return the seconds taken.

    Returns None when the page shows no file input (the page changed): the caller reports it.
    """
    render_seconds(page, f"{base_url}/classify", timeout_ms)
    if page.locator('input[type="file"]').count() == 0:
        return None
    start = time.perf_counter()
    page.set_input_files('input[type="file"]', str(image_path))
    # The upload triggers a rerun: wait for it to start, then to finish.
    page.wait_for_timeout(300)
    page.wait_for_selector('[data-test-script-state="notRunning"]', state="attached", timeout=timeout_ms)
    return time.perf_counter() - start
