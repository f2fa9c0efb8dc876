"""The dashboard with many replicates: the leaderboard reads only what it shows, listings re-read only what changed.

File reads are counted with a real audit hook on Python's ``open`` event, not by
patching: whatever opens a file (pathlib, NumPy, pandas, Keras) raises it. The
folders are ``bench/dashboard_server.make_many_runs`` copies of two tiny fixture runs.
"""

import os
import sys
from pathlib import Path

import pytest

from dashboard.run_listing import VERIFY_FILES_UP_TO, RunListing
from dashboard.state import MODEL_CACHE_ENTRIES, Context, SharedRuns, warmup_order
from runstore import folder_signature
from tests.app_pages import all_text, run_page
from tests.factories import make_run, synthetic_test_set, write_cifar_test_folder

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))  # bench scripts import their neighbours
from dashboard_server import finished_runs, make_many_runs  # noqa: E402

# Audit hooks cannot be removed, so one hook records into this list only while a test holds it.
_OPENED: list[str] | None = None


def _record_opens(event: str, arguments: tuple) -> None:
    if event == "open" and _OPENED is not None and isinstance(arguments[0], (str, os.PathLike)):
        _OPENED.append(os.fspath(arguments[0]))


sys.addaudithook(_record_opens)


class opened_files:
    """``with opened_files() as opened:`` collects the path of every file opened in the block (any thread)."""

    def __enter__(self) -> list[str]:
        global _OPENED
        _OPENED = []
        return _OPENED

    def __exit__(self, *exc_info) -> None:
        global _OPENED
        _OPENED = None


def named(opened: list[str], name: str) -> list[str]:
    """The paths in ``opened`` whose file name is ``name``."""
    return [path for path in opened if Path(path).name == name]


@pytest.fixture(scope="module")
def templates(tmp_path_factory):
    """Two finished tiny runs to copy, and a CIFAR test folder matching their predictions."""
    root = tmp_path_factory.mktemp("many-templates")
    make_run(root / "source", "tiny-a", seed=0, epochs=3)
    make_run(root / "source", "tiny-b", model="fast_cnn", seed=1, epochs=4)
    return finished_runs(root / "source"), write_cifar_test_folder(root / "cifar", *synthetic_test_set())


@pytest.fixture
def many_runs(templates, tmp_path, monkeypatch):
    """A fresh folder of 60 runs (6 groups of 10), above the size whose files the listing validates."""
    sources, cifar = templates
    make_many_runs(tmp_path, sources, groups=6, seeds=10)
    monkeypatch.setenv("ARTIFACTS_DIR", str(tmp_path))
    monkeypatch.setenv("CIFAR10_DIR", str(cifar))
    monkeypatch.setenv("DASHBOARD_WARMUP", "0")  # Classify's model warm-up is its own feature, measured apart
    assert 60 > VERIFY_FILES_UP_TO
    return tmp_path


def test_the_overview_of_many_runs_opens_no_predictions_models_or_histories(many_runs):
    with opened_files() as opened:
        app = run_page()
    assert not app.exception
    assert app.title[0].value == "Overview"
    table = app.dataframe[0].value
    assert len(table) == 6 and set(table["runs"]) == {10}  # one row per group, all 60 runs counted
    assert len(named(opened, "run.json")) >= 60  # the hook saw the listing read every run's record
    for name in ("predictions.npz", "model.keras", "history.csv"):
        assert named(opened, name) == [], f"the Overview opened {name}"


def test_damage_a_page_finds_is_listed_on_the_overview_from_then_on(many_runs):
    victim = "simple_cnn-cfg01-s4"
    (many_runs / "runs" / victim / "predictions.npz").write_bytes(b"cut off mid-wr")
    overview = run_page(leaderboard_individual=True)
    statuses = dict(zip(overview.dataframe[0].value["run"], overview.dataframe[0].value["status"]))
    assert statuses[victim] == "complete"  # the listing did not open the file, so it cannot know yet
    confusion = run_page("confusion", run=victim)
    assert "predictions.npz" in all_text(confusion) and "cannot be read" in all_text(confusion)
    overview = run_page(leaderboard_individual=True)
    statuses = dict(zip(overview.dataframe[0].value["run"], overview.dataframe[0].value["status"]))
    assert statuses[victim] == "broken"
    assert f"**{victim}** is broken" in all_text(overview) and "predictions.npz" in all_text(overview)
    assert victim not in overview.sidebar.selectbox(key="run").options  # no page offers it any more


def test_curves_draw_at_most_twelve_groups_of_many_chosen(templates, tmp_path, monkeypatch):
    sources, cifar = templates
    make_many_runs(tmp_path, sources, groups=15, seeds=4)  # 60 runs: the listing reads no history
    monkeypatch.setenv("ARTIFACTS_DIR", str(tmp_path))
    monkeypatch.setenv("CIFAR10_DIR", str(cifar))
    monkeypatch.setenv("DASHBOARD_WARMUP", "0")
    every_run = [path.name for path in sorted((tmp_path / "runs").iterdir())]
    with opened_files() as opened:
        app = run_page("curves", runs=every_run)
    assert not app.exception
    assert "Drawing the first 12 of the 15 groups chosen (48 of 60 runs)" in all_text(app)
    assert len(named(opened, "history.csv")) == 48  # the drawn runs' only
    assert len(app.get("plotly_chart")) == 2


def test_a_listing_rereads_only_the_runs_whose_files_changed(templates, tmp_path):
    make_many_runs(tmp_path, templates[0], groups=2, seeds=3)
    make_run(tmp_path, "live", status="running", epochs=1)
    listing = RunListing()
    with opened_files() as opened:
        first = listing.runs(tmp_path, folder_signature(tmp_path))
    assert len(first) == 7 and len(named(opened, "run.json")) == 7
    assert len(named(opened, "predictions.npz")) == 6  # a small folder: every file is validated once
    with opened_files() as opened:
        again = listing.runs(tmp_path, folder_signature(tmp_path))
    assert [info.run_id for info in again] == [info.run_id for info in first] and opened == []
    history = tmp_path / "runs" / "live" / "history.csv"
    stamp = history.stat().st_mtime + 5
    os.utime(history, (stamp, stamp))
    with opened_files() as opened:
        listing.runs(tmp_path, folder_signature(tmp_path))
    assert [Path(path).parent.name for path in named(opened, "run.json")] == ["live"]


def test_a_small_folder_names_damaged_predictions_at_once(templates, tmp_path):
    make_many_runs(tmp_path, templates[0], groups=1, seeds=3)
    victim = sorted((tmp_path / "runs").iterdir())[1]
    (victim / "predictions.npz").write_bytes(b"garbage")
    runs = {info.run_id: info for info in RunListing().runs(tmp_path, folder_signature(tmp_path))}
    assert runs[victim.name].status == "broken"
    assert any("predictions.npz" in problem for problem in runs[victim.name].problems)
    assert sum(info.status == "complete" for info in runs.values()) == 2


def test_classify_warms_up_no_more_models_than_its_cache_holds_focus_first(many_runs):
    shared = SharedRuns().get(many_runs)
    focus = shared.selectable[-1]
    ctx = Context(shared.runs, shared.by_id, shared.selectable, [], focus, shared.colors)
    order = warmup_order(ctx)
    assert len(ctx.complete) == 60
    assert len(order) == MODEL_CACHE_ENTRIES == 16 and order[0] == focus
    assert len(set(order)) == 16 and set(order) <= set(ctx.complete)
