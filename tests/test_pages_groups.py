"""Replicate groups on the dashboard under AppTest: the grouped leaderboard, group curves with a band, group Compare."""

from __future__ import annotations

import base64

import numpy as np
import pandas as pd
import plotly.io
import pytest

from analysis.findings import difference_sentence, shared_budget_text, spread_sentence
from analysis.replicates import compare_groups
from runstore import atomic_write_json, list_runs, read_predictions, read_run_record
from runstore.images_seen import read_images_seen
from tests.app_pages import all_text, point_dashboard_at, run_page
from tests.factories import make_run

SLOW = "adam-lr0.001"
FAST = "adam-lr0.01"
GROUP_RUNS = {SLOW: ["slow-s1", "slow-s2", "slow-s3"], FAST: ["fast-s4", "fast-s5", "fast-s6"]}


def _values(data) -> list:
    """A trace array as numbers: plotly's JSON may hold it base64-encoded ({"dtype", "bdata"})."""
    if isinstance(data, dict) and "bdata" in data:
        return np.frombuffer(base64.b64decode(data["bdata"]), dtype=data["dtype"]).tolist()
    return list(data)


def _texts_in_order(node) -> list[str]:
    """The text of every element under ``node`` in page order (AppTest's kind lists lose the order)."""
    texts = []
    for child in getattr(node, "children", {}).values():
        if hasattr(child, "children"):
            texts.extend(_texts_in_order(child))
        elif isinstance(getattr(child, "value", None), str):
            texts.append(child.value)
    return texts


def _figures(app) -> list:
    return [plotly.io.from_json(chart.proto.spec) for chart in app.get("plotly_chart")]


@pytest.fixture(scope="module")
def group_folder(tmp_path_factory):
    """Two groups of three seeds that differ only in learning rate (one member stopped early), and a single run."""
    artifacts = tmp_path_factory.mktemp("groups")
    for seed, run_id in zip((1, 2, 3), GROUP_RUNS[SLOW]):
        make_run(artifacts, run_id, seed=seed, group=SLOW, epochs=3 if seed == 3 else 5, train_images=2000)
    # slow-s3 was stopped early: planned 5 epochs like its group, ran 3.
    record = read_run_record(artifacts / "runs" / "slow-s3")
    record["config"]["epochs"], record["early_stop_epoch"] = 5, 2
    atomic_write_json(artifacts / "runs" / "slow-s3" / "run.json", record)
    for seed, run_id in zip((4, 5, 6), GROUP_RUNS[FAST]):
        make_run(artifacts, run_id, seed=seed, group=FAST, learning_rate=1e-2, epochs=5, train_images=2000)
    make_run(artifacts, "solo", seed=7, model="vgg16_transfer", epochs=4)
    return artifacts


@pytest.fixture
def groups_env(group_folder, monkeypatch):
    return point_dashboard_at(monkeypatch, group_folder)


def test_leaderboard_shows_one_row_per_group_with_n_and_expands_a_group_to_its_runs(groups_env):
    everything = sorted(run for runs in GROUP_RUNS.values() for run in runs) + ["solo"]
    app = run_page("overview", runs=everything)
    assert not app.exception, app.exception
    table = app.dataframe[0].value
    assert sorted(table["group"]) == sorted([SLOW, FAST, "solo"])
    assert dict(zip(table["group"], table["runs"])) == {SLOW: 3, FAST: 3, "solo": 1}
    accuracies = [read_run_record(groups_env / "runs" / run_id)["test_accuracy"] for run_id in GROUP_RUNS[FAST]]
    row = table.set_index("group").loc[FAST]
    assert row["test accuracy mean"] == pytest.approx(sum(accuracies) / 3)
    assert row["test accuracy min"] == pytest.approx(min(accuracies))
    assert row["test accuracy max"] == pytest.approx(max(accuracies))
    assert table["test accuracy mean"].dtype.kind == "f"
    assert pd.isna(table.set_index("group").loc["solo", "test accuracy sd"])  # one run: no sd
    # Every run is chosen, so every group is ticked and each replicate group lists its runs below.
    members = [frame.value for frame in app.dataframe[1:]]
    assert sorted(sorted(frame["run"]) for frame in members) == [sorted(GROUP_RUNS[FAST]), sorted(GROUP_RUNS[SLOW])]


def test_leaderboard_filters_and_individual_runs(groups_env):
    app = run_page("overview", runs=[])
    app.text_input(key="leaderboard_search").set_value("fast").run()
    assert not app.exception, app.exception
    assert list(app.dataframe[0].value["group"]) == [FAST]
    assert "3 of 7 runs match the filters." in all_text(app)
    app.text_input(key="leaderboard_search").set_value("").run()
    app.multiselect(key="leaderboard_model").set_value(["vgg16_transfer"]).run()
    assert list(app.dataframe[0].value["group"]) == ["solo"]
    app.multiselect(key="leaderboard_model").set_value([]).run()
    app.toggle(key="leaderboard_individual").set_value(True).run()
    assert not app.exception, app.exception
    runs = app.dataframe[0].value
    assert len(runs) == 7 and set(runs["group"]) == {SLOW, FAST, "solo"}


def test_curves_draw_each_group_mean_with_a_band_and_say_how_many_runs_each_point_averages(groups_env):
    app = run_page("curves", runs=GROUP_RUNS[SLOW] + GROUP_RUNS[FAST])
    assert not app.exception, app.exception
    charts = _figures(app)
    grouped = [figure for figure in charts if "group mean" in figure.layout.title.text]
    assert len(grouped) == 2, [figure.layout.title.text for figure in charts]  # accuracy and loss
    figure = grouped[0]
    bands = [trace for trace in figure.data if trace.fill == "toself"]
    means = [trace for trace in figure.data if trace.mode == "lines+markers"]
    assert len(bands) == 2 and {trace.name for trace in means} == {f"{SLOW} (mean of 3)", f"{FAST} (mean of 3)"}
    slow = next(trace for trace in means if trace.name.startswith(SLOW))
    assert list(_values(slow.customdata)) == [3, 3, 3, 2, 2]  # slow-s3 stopped after 3 epochs
    assert f"{SLOW} epochs 4–5 average 2 of 3 runs" in all_text(app)
    app.radio(key="group_band").set_value("sd").run()
    app.toggle(key="group_members").set_value(True).run()
    assert not app.exception, app.exception
    figure = next(figure for figure in _figures(app) if "±1 sd" in figure.layout.title.text)
    assert sum(trace.name.startswith(f"{SLOW} · slow-") for trace in figure.data) == 3
    app.radio(key="group_x_axis").set_value("images seen").run()
    figure = next(figure for figure in _figures(app) if "group mean" in figure.layout.title.text)
    assert figure.layout.xaxis.title.text == "Training images seen"
    assert _values(next(trace for trace in figure.data if trace.mode == "lines+markers").x)[:2] == [2000, 4000]


def test_compare_two_groups_gives_the_interval_with_n_after_the_controlled_check(groups_env):
    app = run_page("compare", compare_a=f"group:{SLOW}", compare_b=f"group:{FAST}")
    assert not app.exception, app.exception
    loaded = {run_id: read_predictions(groups_env / "runs" / run_id) for runs in GROUP_RUNS.values() for run_id in runs}
    expected = compare_groups(SLOW, {run_id: loaded[run_id] for run_id in GROUP_RUNS[SLOW]},
                              FAST, {run_id: loaded[run_id] for run_id in GROUP_RUNS[FAST]})
    infos = {info.run_id: info for info in list_runs(groups_env)}
    text = all_text(app)
    # The budget in the same words as the findings that link here.
    members = [infos[run_id] for runs in GROUP_RUNS.values() for run_id in runs]
    sentence = difference_sentence(expected, shared_budget_text(members, read_images_seen(members)))
    assert sentence in text and "3 seeds each" in sentence
    assert spread_sentence(expected) in text
    # The controlled check comes first: these groups differ in learning rate only.
    assert "differ only in learning rate" in text
    shown = _texts_in_order(app.main)
    check_at = next(index for index, value in enumerate(shown) if "differ only in learning rate" in value)
    assert check_at < shown.index(sentence)
    labels = [metric.label for metric in app.metric]
    assert labels == [f"A · {SLOW} (n=3)", f"B · {FAST} (n=3)", "B − A (means)"]
    assert app.metric[2].value == f"{expected.difference.estimate * 100:+.2f} points"
    assert (f"95% interval {expected.difference.lower * 100:+.2f} to {expected.difference.upper * 100:+.2f} points"
            in text)


def test_compare_a_group_with_a_single_run_says_seed_variation_is_unknown(groups_env):
    app = run_page("compare", compare_a="solo", compare_b=f"group:{FAST}")
    assert not app.exception, app.exception
    text = all_text(app)
    assert "Seed variation is unknown (solo is a single run)" in text
    assert "Not a controlled comparison" in text  # model, learning rate and more differ


def test_classify_every_run_gives_one_vote_per_group(groups_env, tmp_path, monkeypatch):
    from tests.factories import synthetic_test_set, write_cifar_test_folder

    monkeypatch.setenv("CIFAR10_DIR", str(write_cifar_test_folder(tmp_path / "cifar", *synthetic_test_set())))
    app = run_page("classify")
    app.radio(key="classify_source").set_value("Random test image").run()
    app.radio(key="classify_scope").set_value("Every finished run").run()
    assert not app.exception, app.exception
    # Seven runs, but two groups of three replicates and a single run: three votes, one weight each.
    assert "the weighted vote of 3 groups (7 models)" in all_text(app)
    weights = app.dataframe[0].value.set_index("group")
    assert sorted(weights["runs"]) == [1, 3, 3] and weights["weight"].sum() == pytest.approx(1.0)
    votes = app.dataframe[1].value["vote"].tolist()
    assert votes.count(f"in group {SLOW}") == 3 and votes.count("in group solo") == 1


def test_report_page_holds_the_chosen_group_comparison(groups_env):
    app = run_page("report", runs=GROUP_RUNS[SLOW] + GROUP_RUNS[FAST])
    assert not app.exception, app.exception
    pairs = app.multiselect(key="report_group_pairs").value
    assert len(pairs) == 1 and set(pairs[0]) == {SLOW, FAST}  # the worse group as A, the better as B
    app.button(key="build_report").click().run()
    assert not app.exception, app.exception
    report = app.session_state["report_files"]["files"]["html"].decode("utf-8")
    assert "<h2>Replicate groups</h2>" in report and "3 seeds each" in report
