"""Dashboard speed in a real browser: each page's first-visit and warm render times with 12 runs.

Starts ``streamlit run dashboard/app.py`` on a fresh bench artifacts folder of
12 runs, drives Debian's Chromium through Playwright and, for every page,
times until Streamlit reports the script finished and no placeholder is left:

* first visit: the first load of the page after the server started (cold caches);
* switch: warm, in-app navigation the way a user moves between pages (click the
  page in the sidebar; the browser session stays open), median of ``--repeats``;
* reload: warm full page load (new browser session, Streamlit's frontend loads
  again), median of ``--repeats``.

Targets (issue 5): warm < 1.5 s (a page switch), first visit < 5 s.

    CIFAR10_DIR=... python bench/dashboard_speed.py [--repeats 3]
    CIFAR10_DIR=... python bench/dashboard_speed.py --artifacts-dir artifacts --screenshots test-output/demo-screenshots

With ``--artifacts-dir`` it times an existing folder (the demo runs, say)
instead of building the 12 bench runs; ``--screenshots`` saves each page.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import tempfile
from pathlib import Path

import common  # noqa: F401
from common import header, row
from dashboard_server import CHROMIUM, PAGES, make_bench_artifacts, render_seconds, running_dashboard, switch_seconds


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description="Per-page render times of the dashboard in headless Chromium.")
    parser.add_argument("--repeats", type=int, default=3, help="warm visits per page; the median is printed (default 3)")
    parser.add_argument("--pages", nargs="+", default=list(PAGES), choices=PAGES)
    parser.add_argument("--artifacts-dir", type=Path, help="time this artifacts folder instead of 12 generated runs")
    parser.add_argument("--screenshots", type=Path, help="save a full-page screenshot of every page here")
    arguments = parser.parse_args(argv)

    from playwright.sync_api import sync_playwright

    folder_name = arguments.artifacts_dir or "12 generated runs"
    header(f"dashboard render times ({folder_name}, headless Chromium)")
    figures = {}
    if arguments.screenshots:
        arguments.screenshots.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        if arguments.artifacts_dir:
            artifacts_dir = str(arguments.artifacts_dir.resolve())
        else:
            artifacts_dir = stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-dashboard-"))
            make_bench_artifacts(artifacts_dir)
        with running_dashboard(artifacts_dir) as (base_url, _), sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            row("page", "first visit s", "reload s", "switch s", "errors shown")
            for name in arguments.pages:
                first, errors = render_seconds(page, f"{base_url}/{name}")
                reload_times, switch_times = [], []
                for _ in range(arguments.repeats):
                    seconds, more_errors = render_seconds(page, f"{base_url}/{name}")
                    reload_times.append(seconds)
                    errors = max(errors, more_errors)
                    # In-app navigation, as a user moves between pages: from another page, click this one.
                    render_seconds(page, f"{base_url}/{'data' if name == 'overview' else 'overview'}")
                    seconds, more_errors = switch_seconds(page, name)
                    switch_times.append(seconds)
                    errors = max(errors, more_errors)
                figures[name] = {"first_seconds": first, "reload_seconds": statistics.median(reload_times),
                                 "switch_seconds": statistics.median(switch_times), "exceptions": errors}
                if arguments.screenshots:
                    page.screenshot(path=str(arguments.screenshots / f"{name}.png"), full_page=True)
                row(name, f"{first:.2f}", f"{figures[name]['reload_seconds']:.2f}",
                    f"{figures[name]['switch_seconds']:.2f}", str(errors))
            browser.close()
    slowest = {key: max(item[key] for item in figures.values()) for key in ("first_seconds", "reload_seconds", "switch_seconds")}
    print(f"  slowest first visit {slowest['first_seconds']:.2f} s (target < 5 s); slowest warm page switch "
          f"{slowest['switch_seconds']:.2f} s (target < 1.5 s); slowest warm full reload {slowest['reload_seconds']:.2f} s")
    return figures


if __name__ == "__main__":
    main()
