"""``python -m dashboard publish``: the Space folder's contents and refusals, then the folder served as the Space would.

The served tests start the folder's own Dockerfile ``CMD`` with its ``ENV``, from the folder, on
a loopback port (no Docker here) and walk every page in Chromium: pages render, Classify answers
with a bundled model, Add a model is absent and refused, and no file under the folder changes.
The fast one runs the command with this repository's .venv; the slow one in a fresh virtual
environment made from the folder's own requirements.txt (it downloads TensorFlow: minutes).

Run alone: ``.venv/bin/pytest tests/test_publish.py``.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from dashboard.publish import CODE_PACKAGES, RUN_FILES, PublishRefused, main, publish
from tests.browser_pages import MAIN, PAGE_TIMEOUT_MS, assert_no_error_shown
from tests.factories import make_demo_artifacts, synthetic_test_set, write_cifar_test_folder
from tests.served_folders import (PAGE_CONTENT, SIDEBAR, assert_classify_answers, command_server, dockerfile_command,
                                  fingerprint, navigation_text, open_page)

FINISHED = ["simple-cnn-a", "vgg16-transfer-b"]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """The demo-like fixture runs (two finished, running, failed, broken), one with a backup and TensorBoard logs."""
    artifacts = make_demo_artifacts(tmp_path_factory.mktemp("lab") / "artifacts")
    run = artifacts / "runs" / "simple-cnn-a"
    (run / "tensorboard").mkdir()
    (run / "tensorboard" / "events.out").write_bytes(b"event")
    (run / "backup").mkdir()
    (run / "backup" / "epoch.h5").write_bytes(b"backup")
    return artifacts


@pytest.fixture(autouse=True)
def no_data_from_the_environment(monkeypatch):
    """Publish bundles $CIFAR10_DIR's test images by default: here only a test that asks for them gets them."""
    monkeypatch.delenv("CIFAR10_DIR", raising=False)


@pytest.fixture(scope="module")
def space(lab, tmp_path_factory):
    """The Space folder of every finished run, with the (synthetic) test images the runs were scored on."""
    root = tmp_path_factory.mktemp("published")
    publish(root / "space", lab, data_dir=write_cifar_test_folder(root / "cifar", *synthetic_test_set()))
    return root / "space"


def test_the_folder_is_a_docker_space_of_the_reading_side_and_the_chosen_runs_only(lab, space):
    top = sorted(path.name for path in space.iterdir())
    assert top == sorted([".gitattributes", "Dockerfile", "README.md", "artifacts", "cifar-10-batches-py",
                          "requirements.txt", *CODE_PACKAGES])
    assert [path.name for path in (space / "cifar-10-batches-py").iterdir()] == ["test_batch"]
    assert not (space / "training").exists()
    assert sorted(path.name for path in (space / "artifacts" / "runs").iterdir()) == FINISHED
    for run in FINISHED:
        source = lab / "runs" / run
        published = sorted(path.name for path in (space / "artifacts" / "runs" / run).iterdir())
        assert published == sorted(name for name in RUN_FILES if (source / name).is_file())
        assert {"run.json", "model.keras", "predictions.npz", "history.csv"} <= set(published)
    assert not list(space.rglob("__pycache__"))
    readme = (space / "README.md").read_text()
    front = readme.split("---")[1]
    assert "sdk: docker" in front and "app_port: 7860" in front
    assert "simple-cnn-a" in readme and "How the numbers were measured" in readme
    assert "*.keras filter=lfs" in (space / ".gitattributes").read_text()
    requirements = (space / "requirements.txt").read_text()
    assert "tensorflow-cpu==" in requirements and "ray" not in requirements and "pytest" not in requirements
    repo_pins = set((Path(__file__).resolve().parents[1] / "requirements.txt").read_text().splitlines())
    pins = [line for line in requirements.splitlines() if "==" in line]
    assert all(line.replace("tensorflow-cpu", "tensorflow") in repo_pins for line in pins)
    command, environment = dockerfile_command(space / "Dockerfile")
    assert "--read-only" in command and environment["LAB_READ_ONLY"] == "1"
    assert environment["CIFAR10_DIR"] == "cifar-10-batches-py"


def test_runs_can_be_chosen_by_id_or_group(lab, tmp_path):
    publish(tmp_path / "one", lab, run_ids=["vgg16-transfer-b"])
    assert [path.name for path in (tmp_path / "one" / "artifacts" / "runs").iterdir()] == ["vgg16-transfer-b"]
    publish(tmp_path / "group", lab, groups=["simple-cnn-a"])
    assert [path.name for path in (tmp_path / "group" / "artifacts" / "runs").iterdir()] == ["simple-cnn-a"]


@pytest.mark.parametrize("choice, words", [
    ({"run_ids": ["no-such-run"]}, "No run named no-such-run"),
    ({"run_ids": ["live-run"]}, "Only finished runs"),
    ({"groups": ["no-such-group"]}, "No finished run in group no-such-group"),
    ({"suite": "no-such-suite"}, "No finished run of suite 'no-such-suite'"),
    ({"max_mb": 0.01}, "The biggest runs: simple-cnn-a"),
])
def test_a_refusal_says_why_and_writes_nothing(lab, tmp_path, choice, words):
    with pytest.raises(PublishRefused, match=words):
        publish(tmp_path / "space", lab, **choice)
    assert list(tmp_path.iterdir()) == []


def test_an_existing_folder_is_never_overwritten_and_the_command_says_so(lab, tmp_path, capsys):
    (tmp_path / "space").mkdir()
    (tmp_path / "space" / "mine.txt").write_text("keep me")
    assert main(["--out", str(tmp_path / "space"), "--artifacts-dir", str(lab)]) == 1
    assert "is not empty" in capsys.readouterr().err
    assert [path.name for path in (tmp_path / "space").iterdir()] == ["mine.txt"]
    assert main(["--out", str(tmp_path / "new"), "--artifacts-dir", str(lab), "--max-mb", "0.01"]) == 1
    assert "over --max-mb" in capsys.readouterr().err


def walk_the_space(space: Path, python: str, page, log_path: Path) -> tuple[float, float]:
    """Serve ``space`` by its Dockerfile's CMD with ``python``, walk every page.

    Returns the seconds from the command's start to its health check answering, and to the Overview drawn.
    """
    command, environment = dockerfile_command(space / "Dockerfile")
    assert command[0] == "python"
    command = [python, *command[1:]]
    command[command.index("--port") + 1] = "{port}"
    command[command.index("--address") + 1] = "127.0.0.1"  # loopback here; the Space listens on every interface
    before = fingerprint(space)
    started = time.monotonic()
    with command_server(command, space, log_path, {**environment, "LAB_LISTEN_ADDRESS": ""}) as base_url:
        healthy = time.monotonic() - started
        for name in PAGE_CONTENT:
            open_page(page, base_url, name)
            if not name:
                overview = time.monotonic() - started
            assert_no_error_shown(page)
            assert "Add a model" not in navigation_text(page)
            assert "Read-only dashboard" in page.locator(SIDEBAR).inner_text()
        page.goto(f"{base_url}/add_model", timeout=PAGE_TIMEOUT_MS)
        page.get_by_text("this dashboard is read-only", exact=False).first.wait_for(timeout=PAGE_TIMEOUT_MS)
        assert page.locator(f"{MAIN} input[type=file]").count() == 0
        assert_classify_answers(page, base_url, "space-classify.png")
    assert fingerprint(space) == before
    return healthy, overview


@pytest.mark.browser
def test_the_space_serves_every_page_read_only_by_its_own_command(space, page, tmp_path):
    healthy, overview = walk_the_space(space, sys.executable, page, tmp_path / "space.log")
    print(f"space: healthy after {healthy:.1f} s, Overview drawn after {overview:.1f} s (the repository's .venv)")


@pytest.mark.browser
@pytest.mark.slow
def test_the_space_runs_in_a_fresh_environment_made_from_its_own_requirements(space, page, tmp_path):
    environment = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(environment)], check=True)
    started = time.monotonic()
    python = str(environment / "bin" / "python")
    installed = subprocess.run([python, "-m", "pip", "install", "--quiet", "-r", str(space / "requirements.txt")],
                               capture_output=True, text=True, timeout=1800)
    assert installed.returncode == 0, installed.stderr[-3000:]
    print(f"pip install -r requirements.txt: {time.monotonic() - started:.0f} s")
    healthy, overview = walk_the_space(space, python, page, tmp_path / "space.log")
    print(f"space: healthy after {healthy:.1f} s, Overview drawn after {overview:.1f} s (a fresh environment)")


def test_the_spaces_readme_states_the_suites_findings_in_the_pages_words(tmp_path):
    from runstore.suite_record import write_suite_record
    from tests.analysis_fixtures import read_suite_findings
    from tests.test_analysis_suite_findings import make_group

    artifacts = tmp_path / "artifacts"
    make_group(artifacts, "b1", 0.35, suite="demo")
    make_group(artifacts, "b3", 0.75, suite="demo")
    make_group(artifacts, "elsewhere", 0.5, seeds=(4,))
    write_suite_record(artifacts, "demo", "The demo suite.", [
        {"title": "Does a third block help?", "factor": "blocks", "groups": ["b1", "b3"]}])
    publish(tmp_path / "space", artifacts, suite="demo")
    published = tmp_path / "space" / "artifacts"
    assert sorted(path.name for path in (published / "runs").iterdir()) == [f"b{blocks}-s{seed}" for blocks in (1, 3)
                                                                            for seed in (1, 2, 3)]
    assert [path.name for path in (published / "suites").iterdir()] == ["demo.json"]
    (suite,), _ = read_suite_findings(published)
    readme = (tmp_path / "space" / "README.md").read_text()
    assert "## Findings" in readme and suite.findings[0].sentence in readme


def test_cifar_lab_publish_is_the_same_command(lab, tmp_path, capsys):
    from cifar_lab import main as cifar_lab

    assert cifar_lab(["publish", "--out", str(tmp_path / "space"), "--artifacts-dir", str(lab), "--runs", "nope"]) == 1
    assert "No run named nope" in capsys.readouterr().err
    assert cifar_lab(["publish", "--out", str(tmp_path / "space"), "--artifacts-dir", str(lab)]) == 0
    assert "Total" in capsys.readouterr().out and (tmp_path / "space" / "Dockerfile").is_file()

