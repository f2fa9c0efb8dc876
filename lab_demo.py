"""The one-command demo: serve the dashboard at once and train a suite behind it.

    python -m lab_demo --suite demo --port 8501

Starts ``streamlit run dashboard/app.py`` immediately and ``python -m training
suite <name>`` as a background process, so the dashboard shows the first live
training curve within a minute. Runs already complete are skipped, interrupted
ones resume. Ctrl-C stops both.

It sits at the top level because it drives both sides: ``training`` (as a
subprocess) and ``dashboard``; neither of those packages imports the other.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time

from dashboard.access import READ_ONLY_ENV
from dashboard.launch import DASHBOARD_APP, REPO_ROOT, dashboard_environment, streamlit_command, warm_up_in_background
from runstore.layout import resolve_artifacts_dir

STOP_GRACE_SECONDS = 15


def training_command(suite: str, artifacts_dir: str | None) -> list[str]:
    """The command that trains ``suite`` (skipping complete runs)."""
    command = [sys.executable, "-m", "training", "suite", suite]
    return command + (["--artifacts-dir", artifacts_dir] if artifacts_dir else [])


def _stop(process: subprocess.Popen | None) -> None:
    """Ask ``process`` to stop (SIGINT, so a trainer records where it was), then insist."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=STOP_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()


def main(argv: list[str] | None = None, prog: str = "python -m lab_demo") -> int:
    """Start the dashboard and the suite; return when the dashboard exits or on Ctrl-C (``prog``: for usage lines)."""
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0])
    parser.add_argument("--suite", default="demo", help="suite to train in the background (default: demo)")
    parser.add_argument("--port", type=int, default=8501, help="dashboard port (default 8501)")
    parser.add_argument("--artifacts-dir", help="artifacts folder (default: $ARTIFACTS_DIR or ./artifacts)")
    parser.add_argument("--read-only", action="store_true",
                        help="the dashboard writes nothing (no Add a model); the suite still trains")
    arguments = parser.parse_args(argv)

    # Resolved here, in the caller's folder: both children start above the packages (site-packages when installed).
    environment = {**os.environ, "ARTIFACTS_DIR": str(resolve_artifacts_dir(arguments.artifacts_dir))}
    dashboard = None
    if DASHBOARD_APP.is_file():
        # The server's own environment (its malloc settings); the trainer keeps the plain one.
        served = {**dashboard_environment(), **environment}
        if arguments.read_only:
            served[READ_ONLY_ENV] = "1"  # the dashboard only: the trainer writes its runs as ever
        dashboard = subprocess.Popen(streamlit_command(arguments.port), cwd=REPO_ROOT, env=served)
        # Classify's models load as soon as the server is up, not when the first visitor arrives.
        warm_up_in_background(f"http://127.0.0.1:{arguments.port}", dashboard, os.devnull, served)
        print(f"Dashboard: http://localhost:{arguments.port}  (Ctrl-C stops the dashboard and the training)", flush=True)
    else:
        print(f"{DASHBOARD_APP} does not exist yet; training only.", flush=True)
    trainer = subprocess.Popen(training_command(arguments.suite, arguments.artifacts_dir), cwd=REPO_ROOT, env=environment)
    try:
        while True:
            if trainer is not None and trainer.poll() is not None:
                print(f"Suite {arguments.suite} finished (exit status {trainer.returncode}).", flush=True)
                if dashboard is None:
                    return trainer.returncode
                trainer = None  # keep serving the dashboard
            if dashboard is not None and dashboard.poll() is not None:
                print("The dashboard stopped; stopping the training too.", flush=True)
                return dashboard.returncode or 1
            time.sleep(1)
    except KeyboardInterrupt:
        print("\nStopping. Start the demo again to resume training where it stopped.", flush=True)
        return 130
    finally:
        _stop(trainer)
        _stop(dashboard)


if __name__ == "__main__":
    sys.exit(main())
