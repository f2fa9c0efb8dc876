"""bench/honest_answers.py on fixture runs: every run's calibration and false alarms, the photos' answers, the vote."""

import pytest

from tests.factories import make_run, synthetic_images


def test_the_bench_reports_every_run_and_every_photo(tmp_path, capsys):
    pytest.importorskip("skimage.data")
    from bench.honest_answers import PHOTOS, main

    make_run(tmp_path, "calibrated", group="g", validation_set=synthetic_images(300, seed=7))
    make_run(tmp_path, "raw", seed=3, group="h")
    status = main(["--artifacts-dir", str(tmp_path)])
    output = capsys.readouterr().out
    lines = {line.split()[0]: line for line in output.splitlines() if line.split() and line.split()[0] in ("calibrated", "raw")}
    assert " raw " in lines["raw"] and " raw " not in lines["calibrated"]  # a temperature only where fitted
    assert all(f"{photo}:" in lines["calibrated"] for photo in PHOTOS)
    assert "Consensus (Classify's weighted vote):" in output and "chelsea (cat):" in output
    # The raw run's threshold is set on its own test images, so it cannot exceed 5% there.
    assert "Test-set false alarms above 5% among runs above chance:" in output
    assert status == (0 if "above chance: none" in output else 1)


def test_the_bench_says_what_to_do_without_runs(tmp_path, capsys):
    from bench.honest_answers import main

    assert main(["--artifacts-dir", str(tmp_path)]) == 2
    assert "No finished run" in capsys.readouterr().out
