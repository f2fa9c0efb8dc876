"""Dashboard speed in a real browser: each page's first-visit and warm render times, with 12 runs or hundreds.

Starts ``streamlit run dashboard/app.py`` on a fresh bench artifacts folder,
drives Debian's Chromium through Playwright and, for every page, times until
Streamlit reports the script finished and no placeholder is left:

* first visit: the first load of the page after the server started (cold caches);
* switch: warm, in-app navigation the way a user moves between pages (click the
  page in the sidebar; the browser session stays open), median of ``--repeats``;
* reload: warm full page load (new browser session, Streamlit's frontend loads
  again), median of ``--repeats``;
* RSS: the server's resident memory (process and children) after the page, and its
  peak over the whole walk (sampled every 0.2 s).

Targets (issues 5 and 11): first visit ≤ 5 s, warm switch ≤ 1.5 s, server RSS ≤ 2 GB.

    CIFAR10_DIR=... python bench/dashboard_speed.py [--repeats 3]            # 12 fixture runs
    CIFAR10_DIR=... python bench/dashboard_speed.py --runs 500               # 50 replicate groups of 10
    CIFAR10_DIR=... python bench/dashboard_speed.py --runs 500 --source-artifacts artifacts
    CIFAR10_DIR=... python bench/dashboard_speed.py --artifacts-dir artifacts --screenshots test-output/demo-screenshots

``--runs N`` builds N runs in groups of ``--group-size`` (10): copies of the
finished runs of ``--source-artifacts`` when it has any (real runs), else of the
12 bench runs, each copy with its own run id, group, seed and a jittered test
accuracy (``dashboard_server.make_many_runs``). It then checks that the
leaderboard reads only what it shows: every copy's predictions.npz and
model.keras is overwritten with garbage of the same size, and a fresh Overview
must report no run broken (a listing that opened any of them would).
``--baseline`` first walks the folder the copies came from, on the same machine in
the same minutes, and prints each figure's ratio. With ``--artifacts-dir`` it times
an existing folder instead; ``--screenshots`` saves each page.

    CIFAR10_DIR=... python bench/dashboard_speed.py --runs 500 --baseline --repeats 2
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import common  # noqa: F401  (first: puts the repo on the path)
from common import header, ratio_text, row
from dashboard_server import (
    CHROMIUM, NAV_TITLES, PeakResidentMemory, finished_runs, make_bench_artifacts, make_many_runs, render_seconds,
    resident_megabytes, running_dashboard, switch_seconds,
)

from dashboard.run_listing import VERIFY_FILES_UP_TO

ALL_PAGES = tuple(NAV_TITLES)
FIRST_VISIT_TARGET_S = 5.0
SWITCH_TARGET_S = 1.5
RSS_TARGET_MB = 2000.0


def build_folder(folder: Path, runs: int, group_size: int, source: Path | None) -> tuple[Path, str, Path]:
    """Write ``runs`` replicate copies into ``folder``/artifacts; return it, where the copies came from, and that folder."""
    if runs % group_size:
        raise SystemExit(f"--runs {runs} is not a whole number of groups of {group_size}; pick a multiple.")
    templates = finished_runs(source) if source else []
    origin = f"{len(templates)} finished runs of {source}"
    if not templates:
        if source:
            print(f"  note: {source} has no finished run; copying the 12 bench fixture runs instead")
        source = make_bench_artifacts(folder / "templates")
        templates = finished_runs(source)
        origin = "the 12 bench fixture runs (tiny model, predictions on the real test set)"
    make_many_runs(folder / "artifacts", templates, groups=runs // group_size, seeds=group_size)
    return folder / "artifacts", origin, Path(source).resolve()


def garble_predictions_and_models(artifacts_dir: Path) -> int:
    """Overwrite every run's predictions.npz and model.keras with zeros of the same size; return how many runs."""
    count = 0
    for run in sorted((artifacts_dir / "runs").iterdir()):
        for name in ("predictions.npz", "model.keras"):
            path = run / name
            if path.is_file():
                path.write_bytes(bytes(path.stat().st_size))  # same size: the listing's size check still passes
        count += 1
    return count


def leaderboard_reads_check(page, base_url: str, artifacts_dir: Path) -> int:
    """Garble every copy's predictions and model, open a fresh Overview; return how many runs it reports broken."""
    runs = garble_predictions_and_models(artifacts_dir)
    time.sleep(2.5)  # past the server's re-check interval for a folder this size (dashboard.state.SharedRuns)
    render_seconds(page, f"{base_url}/overview")
    text = page.locator("[data-testid=stMain]").inner_text()
    broken = text.count(" is broken")
    if runs <= VERIFY_FILES_UP_TO:
        print(f"  note: up to {VERIFY_FILES_UP_TO} runs the listing validates every run's files on purpose "
              "(dashboard.run_listing), so this check only means something above that")
    print(f"  leaderboard reads only what it shows: after all {runs} runs' predictions.npz and model.keras were "
          f"overwritten with zeros of the same size, a fresh Overview reports {broken} run(s) broken "
          f"({'met: it opened none of them' if broken == 0 else 'NOT met: it opened them'})")
    return broken


def walk(playwright, artifacts_dir: Path, pages: list[str], repeats: int, screenshots: Path | None = None,
         reads_check: bool = False) -> dict:
    """Serve ``artifacts_dir``, time every page in Chromium and sample the server's memory; print a row per page.

    Returns ``{page: figures}`` plus ``"_summary"``: slowest times, peak RSS, and with
    ``reads_check`` how many runs a fresh Overview reported broken after garbling.
    """
    figures: dict = {}
    with running_dashboard(artifacts_dir) as (base_url, process), PeakResidentMemory(process.pid) as memory:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        print(f"  server RSS after start: {resident_megabytes(process.pid):.0f} MB", flush=True)
        row("page", "first visit s", "warm switch s", "reload s", "RSS MB", "errors shown")
        for name in pages:
            first, errors = render_seconds(page, f"{base_url}/{name}")
            reload_times, switch_times = [], []
            for _ in range(repeats):
                seconds, more_errors = render_seconds(page, f"{base_url}/{name}")
                reload_times.append(seconds)
                errors = max(errors, more_errors)
                # In-app navigation, as a user moves between pages: from another page, click this one.
                render_seconds(page, f"{base_url}/{'data' if name == 'overview' else 'overview'}")
                seconds, more_errors = switch_seconds(page, name)
                switch_times.append(seconds)
                errors = max(errors, more_errors)
            rss = resident_megabytes(process.pid)
            figures[name] = {"first_seconds": first, "reload_seconds": statistics.median(reload_times),
                             "switch_seconds": statistics.median(switch_times), "rss_mb": rss, "exceptions": errors}
            if screenshots:
                page.screenshot(path=str(screenshots / f"{name}.png"), full_page=True)
            row(name, f"{first:.2f}", f"{figures[name]['switch_seconds']:.2f}",
                f"{figures[name]['reload_seconds']:.2f}", f"{rss:.0f}", str(errors))
        peak = memory.peak_mb
        broken = leaderboard_reads_check(browser.new_page(), base_url, artifacts_dir) if reads_check else None
        browser.close()
    slowest = {key: max(item[key] for item in figures.values()) for key in ("first_seconds", "reload_seconds", "switch_seconds")}
    print(f"  slowest first visit {slowest['first_seconds']:.2f} s (target ≤ {FIRST_VISIT_TARGET_S:g} s: "
          f"{'met' if slowest['first_seconds'] <= FIRST_VISIT_TARGET_S else 'NOT met'}); slowest warm page switch "
          f"{slowest['switch_seconds']:.2f} s (target ≤ {SWITCH_TARGET_S:g} s: "
          f"{'met' if slowest['switch_seconds'] <= SWITCH_TARGET_S else 'NOT met'}); slowest warm full reload "
          f"{slowest['reload_seconds']:.2f} s", flush=True)
    print(f"  server RSS peak {peak:.0f} MB over the walk (target ≤ {RSS_TARGET_MB / 1000:g} GB: "
          f"{'met' if peak <= RSS_TARGET_MB else 'NOT met'})", flush=True)
    figures["_summary"] = {**slowest, "peak_rss_mb": peak, "broken_after_garbling": broken}
    return figures


def print_ratios(many: dict, few: dict, many_label: str, few_label: str) -> None:
    """Per page, the many-run figure over the baseline's, both measured in this invocation."""
    print(f"\n  side by side: {many_label} / {few_label} (same machine, same minutes)", flush=True)
    row("page", "first visit", "warm switch", "RSS")
    for name in [name for name in many if not name.startswith("_") and name in few]:
        row(name, ratio_text(many[name]["first_seconds"], few[name]["first_seconds"]),
            ratio_text(many[name]["switch_seconds"], few[name]["switch_seconds"]),
            ratio_text(many[name]["rss_mb"], few[name]["rss_mb"]))
    row("peak RSS", "", "", ratio_text(many["_summary"]["peak_rss_mb"], few["_summary"]["peak_rss_mb"]))


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description="Per-page render times and server memory of the dashboard in headless Chromium.")
    parser.add_argument("--repeats", type=int, default=3, help="warm visits per page; the median is printed (default 3)")
    parser.add_argument("--pages", nargs="+", default=list(ALL_PAGES), choices=ALL_PAGES)
    parser.add_argument("--runs", type=int, help="build this many runs (replicate copies) instead of the 12 bench runs")
    parser.add_argument("--group-size", type=int, default=10, help="runs per replicate group with --runs (default 10)")
    parser.add_argument("--source-artifacts", type=Path, help="with --runs: copy this folder's finished runs")
    parser.add_argument("--baseline", action="store_true",
                        help="with --runs: first walk the folder the copies came from, then print ratios")
    parser.add_argument("--artifacts-dir", type=Path, help="time this artifacts folder instead of generated runs")
    parser.add_argument("--screenshots", type=Path, help="save a full-page screenshot of every page here")
    arguments = parser.parse_args(argv)
    if arguments.runs and arguments.artifacts_dir:
        parser.error("--runs builds its own folder; leave out --artifacts-dir")
    if arguments.baseline and not arguments.runs:
        parser.error("--baseline compares --runs N with the runs they copy; give --runs")

    from playwright.sync_api import sync_playwright

    folder_name = (arguments.artifacts_dir or (f"{arguments.runs} runs in groups of {arguments.group_size}"
                                               if arguments.runs else "12 generated runs"))
    header(f"dashboard render times and memory ({folder_name}, headless Chromium)")
    if arguments.screenshots:
        arguments.screenshots.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bench-dashboard-") as scratch_name, sync_playwright() as playwright:
        scratch = Path(scratch_name)
        baseline = None
        if arguments.artifacts_dir:
            artifacts_dir = arguments.artifacts_dir.resolve()
        elif arguments.runs:
            started = time.perf_counter()
            artifacts_dir, origin, source_dir = build_folder(scratch, arguments.runs, arguments.group_size,
                                                             arguments.source_artifacts)
            print(f"  built {arguments.runs} runs ({arguments.runs // arguments.group_size} groups of "
                  f"{arguments.group_size}) from {origin} in {time.perf_counter() - started:.0f} s", flush=True)
            if arguments.baseline:
                print(f"\n  baseline: {origin}", flush=True)
                baseline = walk(playwright, source_dir, arguments.pages, arguments.repeats)
                print(f"\n  {arguments.runs} runs", flush=True)
        else:
            artifacts_dir = make_bench_artifacts(scratch / "artifacts")
        figures = walk(playwright, artifacts_dir, arguments.pages, arguments.repeats, arguments.screenshots,
                       reads_check=bool(arguments.runs))
    if baseline:
        print_ratios(figures, baseline, f"{arguments.runs} runs", "the runs they copy")
        figures["_baseline"] = baseline
    figures["_summary"]["cpu_count"] = os.cpu_count()
    return figures


if __name__ == "__main__":
    main()
