"""Run every benchmark of issue 5 in turn (``make bench``); each prints its own figures and ratios.

    CIFAR10_DIR=... python bench/run_all.py            # full size: ~35 minutes, on an idle machine
    CIFAR10_DIR=... python bench/run_all.py --quick    # smoke-sized, a few minutes: proves the scripts work
    python bench/run_all.py --only inference_latency memory

A failing benchmark does not stop the others; the exit status is non-zero if any failed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
DEFAULT_CIFAR10_DIR = "/work/shared/cifar10/cifar-10-batches-py"

# Script name -> arguments for the smoke-sized (--quick) run. Full runs use each script's defaults.
QUICK_ARGUMENTS = {
    "conv_gradient": ["--repeats", "1"],
    "time_to_accuracy": ["--budget-seconds", "120", "--train-limit", "3000", "--fast-epochs", "2"],
    "pipeline_throughput": ["--images", "2000", "--train-steps", "5"],
    "feature_cache": ["--images", "64"],
    "inference_latency": ["--repeats", "2", "--batch", "32"],
    "dashboard_speed": ["--repeats", "1", "--pages", "overview", "curves", "classify"],
    "memory": ["--sessions", "2", "--pages", "overview", "classify"],
    "first_answer": ["--wait", "15", "--first-visit", "upload"],
    "load": ["--scenarios", "2:0", "--seconds", "5", "--pages", "overview", "classify", "--settle-timeout", "30"],
}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Run every benchmark in bench/.")
    parser.add_argument("--quick", action="store_true", help="smoke-sized runs (figures not meaningful)")
    parser.add_argument("--only", nargs="+", choices=list(QUICK_ARGUMENTS), help="run only these benchmarks")
    arguments = parser.parse_args(argv)

    environment = dict(os.environ)
    if not environment.get("CIFAR10_DIR") and Path(DEFAULT_CIFAR10_DIR).is_dir():
        environment["CIFAR10_DIR"] = DEFAULT_CIFAR10_DIR
    outcomes = {}
    for name in arguments.only or list(QUICK_ARGUMENTS):
        command = [sys.executable, str(BENCH_DIR / f"{name}.py"), *(QUICK_ARGUMENTS[name] if arguments.quick else [])]
        print(f"\n$ {' '.join(command[1:])}", flush=True)
        start = time.perf_counter()
        outcomes[name] = (subprocess.call(command, env=environment), time.perf_counter() - start)
    print("\n== summary ==")
    for name, (code, seconds) in outcomes.items():
        print(f"  {name:<22} {'ok' if code == 0 else f'FAILED (exit {code})':<18} {seconds:6.0f} s")
    return 0 if all(code == 0 for code, _ in outcomes.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
