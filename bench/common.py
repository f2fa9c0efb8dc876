"""Helpers shared by the benchmark scripts: repo on the path, machine description, timing, printing.

Benchmarks never assert timings; they print figures and ratios measured side by
side in one run (see docs/performance.md for the recorded numbers).
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
import warnings
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    # The scripts run as `python bench/<name>.py`, so the repo root is not on the path by itself.
    sys.path.insert(0, str(REPO_ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Keras warns that fit ignores shuffle=True for a tf.data input; the pipelines shuffle themselves.
warnings.filterwarnings("ignore", message=".*shuffle=True.*")
DEFAULT_CIFAR10_DIR = "/work/shared/cifar10/cifar-10-batches-py"


def machine_description() -> str:
    """One line: CPU model, core count, load average, Python and date, to print above every result."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    return (f"{cpu}, {os.cpu_count()} cores, load average {load}, Python {platform.python_version()}, "
            f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")


def header(title: str) -> None:
    """Print a benchmark's title and the machine it runs on."""
    print(f"\n== {title} ==", flush=True)
    print(f"machine: {machine_description()}", flush=True)
    if os.getloadavg()[0] > (os.cpu_count() or 1):
        print("note: the machine is busy (load average above the core count); treat timings as provisional", flush=True)


def median_seconds(function, repeats: int) -> float:
    """Median wall time of ``function()`` over ``repeats`` calls, after one untimed warm-up call."""
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    function()
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        timings.append(time.perf_counter() - start)
    return statistics.median(timings)


def row(label: str, *values: str) -> None:
    """Print one aligned result line."""
    print(f"  {label:<44}" + "  ".join(f"{value:>14}" for value in values), flush=True)


def ratio_text(numerator: float, denominator: float) -> str:
    """``numerator / denominator`` as ``12.3x``, or ``n/a`` when it cannot be computed."""
    if not denominator or numerator is None or denominator is None:
        return "n/a"
    return f"{numerator / denominator:.1f}x"


def load_data(data_dir: str | None = None):
    """CIFAR-10 from ``data_dir``, ``$CIFAR10_DIR`` or the lab's shared copy; exit with a clear message if absent."""
    from training.data import DataError, load_cifar10

    if not data_dir and not os.environ.get("CIFAR10_DIR") and Path(DEFAULT_CIFAR10_DIR).is_dir():
        data_dir = DEFAULT_CIFAR10_DIR
    try:
        return load_cifar10(data_dir, allow_download=False)
    except DataError as error:
        raise SystemExit(f"{error}\nThe benchmarks never download: set CIFAR10_DIR or pass --data-dir.") from None


def with_stock_convolutions(model):
    """A copy of ``model`` whose FastGradConv2D layers are plain ``keras.layers.Conv2D`` (same weights)."""
    import keras

    from labkeras.layers import FastGradConv2D

    def clone(layer):
        if isinstance(layer, FastGradConv2D):
            return keras.layers.Conv2D.from_config(layer.get_config())
        return layer.__class__.from_config(layer.get_config())

    copy = keras.models.clone_model(model, clone_function=clone)
    copy.set_weights(model.get_weights())
    return copy
