"""Dashboard memory: resident memory of the Streamlit server with 12 runs and 10 open sessions.

Starts the dashboard on a bench artifacts folder of 12 runs, opens 10 browser
sessions (separate Chromium contexts), walks each through every page, and
uploads an image on the Classify page (so the chosen model is loaded), and
prints the server's resident memory (process and children) before, at the
peak and after all sessions are open. Target (issue 5): under 3 GB.

    CIFAR10_DIR=... python bench/memory.py [--sessions 10]
    CIFAR10_DIR=... python bench/memory.py --artifacts-dir artifacts --every-model   # real trained runs

``--artifacts-dir`` measures an existing folder (the demo runs: real models of
every family) instead of the 12 fixture runs, whose models are all the same tiny
one; ``--every-model`` classifies the upload with every finished run, so every
model is loaded in every session (the worst case for the model cache).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import common  # noqa: F401
from common import header, row
from dashboard_server import (
    CHROMIUM, PAGES, classify_upload, make_bench_artifacts, render_seconds, resident_megabytes, running_dashboard,
    write_upload_image,
)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description="Dashboard resident memory with many sessions.")
    parser.add_argument("--sessions", type=int, default=10, help="browser sessions kept open (default 10)")
    parser.add_argument("--pages", nargs="+", default=list(PAGES), choices=PAGES)
    parser.add_argument("--artifacts-dir", type=Path, help="measure this artifacts folder instead of 12 generated runs")
    parser.add_argument("--every-model", action="store_true", help="classify each upload with every finished run")
    arguments = parser.parse_args(argv)

    from playwright.sync_api import sync_playwright

    header(f"dashboard memory ({arguments.artifacts_dir or '12 generated runs'}, {arguments.sessions} sessions"
           f"{', every model per upload' if arguments.every_model else ''})")
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as scratch:
        if arguments.artifacts_dir:
            artifacts_dir = str(arguments.artifacts_dir.resolve())
        else:
            artifacts_dir = str(make_bench_artifacts(Path(scratch) / "artifacts"))
        upload = write_upload_image(scratch)
        with running_dashboard(artifacts_dir) as (base_url, process), sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
            idle = resident_megabytes(process.pid)
            peak = idle
            sessions = []
            for _ in range(arguments.sessions):
                context = browser.new_context()
                page = context.new_page()
                for name in arguments.pages:
                    render_seconds(page, f"{base_url}/{name}")
                    peak = max(peak, resident_megabytes(process.pid))
                if classify_upload(page, base_url, upload, every_model=arguments.every_model) is None:
                    print("  note: the Classify page shows no file input; no model was loaded by an upload")
                peak = max(peak, resident_megabytes(process.pid))
                sessions.append(context)  # kept open: each is a live Streamlit session
            settled = resident_megabytes(process.pid)
            browser.close()
    figures = {"idle_mb": idle, "peak_mb": peak, "all_sessions_open_mb": settled, "sessions": arguments.sessions}
    row("server resident memory", "after start", "peak", "all open")
    row("MB", f"{idle:.0f}", f"{peak:.0f}", f"{settled:.0f}")
    print(f"  peak {peak / 1000:.2f} GB (target < 3 GB)")
    return figures


if __name__ == "__main__":
    main()
