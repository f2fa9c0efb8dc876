"""The pure parts of bench/load.py: statistics, error detection, generated uploads, page choice, arguments.

The load run itself needs a server and Chromium and lives in bench/ (see docs/security.md, "Load test").
"""

import io
import math
import random
import subprocess
import sys
import time

import pytest
from PIL import Image

from bench.load import (
    PAGE_CHECKS,
    CpuMeter,
    Outcome,
    choose_next_page,
    latency_rows,
    make_upload_images,
    parse_arguments,
    percentile,
    problems_on_page,
)
from serving.uploads import decode_image


def page_state(**changes) -> dict:
    """A probe result for a cleanly rendered page, with ``changes`` applied."""
    state = {"script": "notRunning", "connection": "CONNECTED", "titled": True, "content": True, "skeletons": 0,
             "uploadShown": True, "answered": False, "exceptions": [], "errors": [], "text": "Leaderboard\nRuns 12"}
    state.update(changes)
    return state


def test_percentile_interpolates_and_handles_no_values():
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert percentile([10.0], 95) == 10.0
    assert math.isnan(percentile([], 50))
    with pytest.raises(ValueError, match="between 0 and 100"):
        percentile([1.0], 101)


def test_latency_rows_count_errors_apart_and_time_only_successes():
    outcomes = [
        Outcome("page:curves", 1.0), Outcome("page:curves", 3.0), Outcome("page:curves", 99.0, error="timeout"),
        Outcome("classify", 2.0), Outcome("page:overview", 5.0),
    ]
    rows = {row[0]: row for row in latency_rows(outcomes)}
    assert list(rows) == ["page:curves", "page:overview", "classify", "all"]
    kind, done, errors, median, p95, slowest = rows["page:curves"]
    assert (done, errors, median, slowest) == (2, 1, 2.0, 3.0)
    assert p95 == pytest.approx(2.9)
    assert rows["all"][1:3] == (4, 1)
    assert rows["all"][5] == 5.0  # the failed 99 s wait is an error, not a latency


def test_a_clean_page_has_no_problem():
    assert problems_on_page(page_state()) is None


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"exceptions": ["ValueError: boom\nmore"]}, "exception shown: ValueError: boom more"),
        ({"errors": ["Run **x** was not used: changed"]}, "error box shown: Run **x** was not used"),
        ({"connection": "DISCONNECTED_FOREVER"}, "lost its connection"),
        ({"text": "Test images are not available here."}, "page says 'are not available'"),
        ({"text": "Traceback (most recent call last)"}, "page says 'Traceback'"),
    ],
)
def test_what_a_user_would_see_go_wrong_is_reported(changes, expected):
    assert expected in problems_on_page(page_state(**changes))


def test_generated_uploads_are_real_images_the_server_accepts():
    uploads = make_upload_images(4, seed=3)
    assert [extension for extension, _, _ in uploads] == ["png", "jpg", "png", "jpg"]
    assert [mime for _, mime, _ in uploads] == ["image/png", "image/jpeg", "image/png", "image/jpeg"]
    for extension, _, data in uploads:
        with Image.open(io.BytesIO(data)) as image:
            assert image.format == {"png": "PNG", "jpg": "JPEG"}[extension]
            assert 48 <= min(image.size) and max(image.size) < 900
        assert decode_image(data).mode == "RGB"
    assert make_upload_images(4, seed=3) == uploads  # seeded: the same files every run
    with pytest.raises(ValueError, match="at least 1"):
        make_upload_images(0, seed=0)


def test_next_page_is_always_another_page_from_the_list():
    rng = random.Random(0)
    pages = ("overview", "curves", "classify")
    visited = [choose_next_page(rng, "curves", pages) for _ in range(50)]
    assert set(visited) == {"overview", "classify"}
    assert choose_next_page(rng, "overview", ("overview",)) == "overview"
    with pytest.raises(ValueError, match="must not be empty"):
        choose_next_page(rng, None, ())


def test_arguments_default_to_the_issue_and_refuse_bad_values(capsys):
    settings = parse_arguments([])
    assert (settings.sessions, settings.seconds, settings.warm_up) == (20, 60.0, True)
    assert set(settings.pages) <= set(PAGE_CHECKS) and "classify" in settings.pages
    for bad in (["--sessions", "0"], ["--upload-share", "1.5"], ["--think-seconds", "-1"]):
        with pytest.raises(SystemExit):
            parse_arguments(bad)
    assert "must" in capsys.readouterr().err


def test_cpu_meter_keeps_the_work_of_a_process_that_exited():
    worker = subprocess.Popen([sys.executable, "-c", "import time\nend = time.process_time() + 0.3\n"
                               "while time.process_time() < end: pass\nimport sys; sys.stdin.read()"],
                              stdin=subprocess.PIPE)
    meter = CpuMeter()
    try:
        deadline = time.monotonic() + 30
        while meter.sample({worker.pid}) < 0.25 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        worker.communicate(b"")
    used = meter.sample({worker.pid})
    assert used >= 0.25
    assert meter.sample({worker.pid, 2**22 + 12345}) == used  # gone and unknown processes change nothing
