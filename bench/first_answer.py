"""The first answer on Classify after a server start, with and without the background warm-up.

    python bench/first_answer.py [--artifacts DIR] [--wait 30] [--modes warm,cold] [--first-visit start,upload]

For each mode (warm: the default server; cold: ``DASHBOARD_WARMUP=0``), each
first visit and each scope (one model, every finished run) it starts a fresh
``streamlit run`` server (``dashboard.launch``, which opens the Overview once
over the websocket when the server is up, unless cold). First visit ``start``:
headless Chromium opens the Overview as soon as the server answers (the
presenter opening the app early); ``upload``: no browser page is opened before
the upload, so only the launcher's own session can have warmed the server. At
``--wait`` seconds after the start the browser opens Classify, uploads a photo
and times until the answer is on screen: "<run> answers ..." for one model,
"Consensus:" for all. Target (issue 13): from 30 s after start, within 2 s
with one model and 4 s with every model.

``--artifacts`` should name real trained runs (``make demo`` writes them).
Without it the script builds the 12 bench fixture runs of
``bench/dashboard_server.py``, whose models are the tests' tiny CNN: their load
and trace are far cheaper than the study's VGG16/ResNet50, so the figures then
measure TensorFlow's start-up and the per-model overhead, not real model sizes.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import tempfile
import time
from pathlib import Path

import common  # noqa: F401  (repo root on sys.path)
from common import machine_description
from dashboard_server import CHROMIUM, cifar10_dir, make_bench_artifacts

import numpy as np
from PIL import Image

from dashboard.launch import serve_dashboard

TIMEOUT_MS = 180_000
# What only the answer shows: "<run> answers cat (34%)" (the page's hint above the uploader also says "answers").
ANSWER_TEXT = {"one": re.compile(r"answers \S+ \(\d+%\)"), "all": "Consensus:"}
SCOPE_LABEL = {"one": "One model", "all": "Every finished run"}
FIRST_VISITS = {"start": "Overview at start", "upload": "no page before upload"}


def photo_png() -> bytes:
    """A 640 x 480 photo-sized PNG (seeded noise over a red square), the kind a presenter uploads."""
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, size=(480, 640, 3), dtype=np.uint8)
    pixels[120:360, 200:440] = (200, 30, 30)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def first_answer_seconds(browser, artifacts: Path, scope: str, warm: bool, wait_seconds: float,
                         first_visit: str = "start") -> tuple[float, float]:
    """(seconds from upload to answer, seconds since server start when the upload began) on a fresh server.

    ``first_visit``: "start" opens the Overview as soon as the server answers; "upload" opens no page before Classify.
    """
    environment_before = os.environ.get("DASHBOARD_WARMUP")
    os.environ["DASHBOARD_WARMUP"] = "1" if warm else "0"
    try:
        with tempfile.TemporaryDirectory(prefix="bench-first-answer-") as folder:
            started = time.monotonic()
            with serve_dashboard(artifacts, Path(folder) / "streamlit.log", cifar10_dir=cifar10_dir()) as server:
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                if first_visit == "start":
                    page.goto(server.base_url, timeout=TIMEOUT_MS)
                    page.wait_for_selector("[data-testid=stMain] h1", timeout=TIMEOUT_MS)
                time.sleep(max(0.0, wait_seconds - (time.monotonic() - started)))
                page.goto(f"{server.base_url}/classify", timeout=TIMEOUT_MS)
                page.wait_for_selector("[data-testid=stFileUploader]", timeout=TIMEOUT_MS)
                if scope == "all":
                    page.get_by_text(SCOPE_LABEL["all"], exact=True).click()
                    page.wait_for_selector('[data-test-script-state="notRunning"]', state="attached", timeout=TIMEOUT_MS)
                uploader = page.locator("[data-testid=stFileUploader] input[type=file]")
                upload_at = time.monotonic()
                uploader.set_input_files([{"name": "photo.png", "mimeType": "image/png", "buffer": photo_png()}])
                page.get_by_text(ANSWER_TEXT[scope]).first.wait_for(timeout=TIMEOUT_MS)
                answered = time.monotonic() - upload_at
                page.close()
                return answered, upload_at - started
    finally:
        if environment_before is None:
            os.environ.pop("DASHBOARD_WARMUP", None)
        else:
            os.environ["DASHBOARD_WARMUP"] = environment_before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--artifacts", help="artifacts folder with real trained runs (default: 12 fixture runs)")
    parser.add_argument("--wait", type=float, default=30.0, help="seconds after the server start before the upload (default 30)")
    parser.add_argument("--modes", default="warm,cold", help="warm, cold or both (default warm,cold)")
    parser.add_argument("--first-visit", default="start,upload",
                        help="start (Overview opened at server start), upload (no page before the upload) or both")
    arguments = parser.parse_args()
    from playwright.sync_api import sync_playwright

    visits = arguments.first_visit.split(",")
    unknown = [visit for visit in visits if visit not in FIRST_VISITS]
    if unknown:
        parser.error(f"--first-visit: unknown {', '.join(unknown)}; valid: {', '.join(FIRST_VISITS)}")
    print(machine_description())
    with tempfile.TemporaryDirectory(prefix="bench-first-answer-runs-") as scratch:
        if arguments.artifacts:
            artifacts = Path(arguments.artifacts).resolve()
            kind = ran_on = f"the runs in {artifacts}"
        else:
            artifacts = make_bench_artifacts(Path(scratch) / "artifacts")
            kind = "12 fixture runs with the tests' tiny CNN (no real demo runs given: load and trace costs are far below VGG16/ResNet50's)"
            ran_on = "12 fixture runs with a tiny CNN, not the demo's models; give --artifacts for those"
        complete = sum(1 for path in (artifacts / "runs").glob("*/model.keras"))
        print(f"Runs: {kind}; {complete} with a model. Upload {arguments.wait:.0f} s after the server start.")
        results: dict[tuple[str, str, str], float] = {}
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                 args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
            for visit in visits:
                for mode in arguments.modes.split(","):
                    for scope in ("one", "all"):
                        seconds, at = first_answer_seconds(browser, artifacts, scope, mode == "warm", arguments.wait, visit)
                        results[(visit, mode, scope)] = seconds
                        print(f"  {FIRST_VISITS[visit]:<22} {mode:<4} {SCOPE_LABEL[scope]:<19} first answer {seconds:6.2f} s "
                              f"(upload at {at:4.1f} s after start)", flush=True)
            browser.close()
    targets = {"one": 2.0, "all": 4.0}
    for visit in visits:
        for scope in ("one", "all"):
            warm, cold = results.get((visit, "warm", scope)), results.get((visit, "cold", scope))
            line = f"{FIRST_VISITS[visit]}, {SCOPE_LABEL[scope]}: "
            if warm is not None:
                line += (f"warm {warm:.2f} s (target {targets[scope]:.0f} s, {'met' if warm <= targets[scope] else 'MISSED'} "
                         f"on {ran_on})")
            if warm and cold:
                line += f"; without warm-up {cold:.2f} s; {cold / warm:.1f}x faster"
            elif cold is not None and warm is None:
                line += f"without warm-up {cold:.2f} s"
            print(line)


if __name__ == "__main__":
    main()
