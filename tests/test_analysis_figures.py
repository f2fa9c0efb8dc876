"""Figures built from tiny data: traces, markers, labels and colours."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.curves import CurveEvents
from analysis.figures import class_counts_figure, confusion_figure, curves_figure, run_colors, top_k_figure


def history() -> pd.DataFrame:
    return pd.DataFrame({
        "epoch": [0, 1, 2], "accuracy": [0.3, 0.5, 0.6], "val_accuracy": [0.25, 0.45, 0.4],
        "loss": [2.0, 1.5, 1.2], "val_loss": [2.1, 1.6, 1.7], "elapsed_seconds": [60.0, 120.0, 180.0],
    })


def test_run_colors_are_stable_whatever_the_order():
    assert run_colors(["b", "a"]) == run_colors(["a", "b"])
    assert run_colors(["a", "b"])["a"] != run_colors(["a", "b"])["b"]


def test_curves_figure_has_train_and_validation_per_run_in_the_run_colour():
    colors = {"r1": "#112233", "r2": "#445566"}
    figure = curves_figure({"r1": history(), "r2": history()}, "accuracy", colors=colors)
    lines = [trace for trace in figure.data if trace.mode.startswith("lines")]
    assert [trace.name for trace in lines] == ["r1 · train", "r1 · validation", "r2 · train", "r2 · validation"]
    assert lines[0].line.color == "#112233" and lines[1].line.dash == "dash"
    np.testing.assert_array_equal(lines[0].x, [1, 2, 3])  # epochs shown 1-based
    assert figure.layout.xaxis.title.text == "Epoch"


def test_curves_figure_marks_best_epoch_lr_drop_and_early_stop_on_validation():
    events = {"r1": CurveEvents(best_epoch=1, lr_drop_epochs=(2,), early_stop_epoch=2)}
    figure = curves_figure({"r1": history()}, "accuracy", events=events)
    markers = {trace.name: trace for trace in figure.data if trace.mode == "markers"}
    assert markers["r1 · best epoch"].marker.symbol == "star"
    assert list(markers["r1 · best epoch"].y) == [0.45]
    assert list(markers["r1 · learning-rate drop"].x) == [3]
    assert markers["r1 · early stop"].marker.symbol == "x"


def test_curves_figure_smoothing_keeps_raw_line_faint_and_time_axis_in_minutes():
    figure = curves_figure({"r1": history()}, "loss", smoothing=0.5, x_axis="time", log_y=True)
    raw = [trace for trace in figure.data if trace.name.endswith("(raw)")]
    assert len(raw) == 2 and raw[0].line.color.startswith("rgba(")
    np.testing.assert_allclose(raw[0].x, [1.0, 2.0, 3.0])
    assert figure.layout.yaxis.type == "log"
    assert "minutes" in figure.layout.xaxis.title.text


def test_curves_figure_rejects_unknown_metric_and_axis():
    with pytest.raises(ValueError):
        curves_figure({"r1": history()}, "f1")
    with pytest.raises(ValueError):
        curves_figure({"r1": history()}, "loss", x_axis="steps")


def test_confusion_figure_labels_cells_and_axes_with_class_names():
    figure = confusion_figure(np.array([[3, 1], [0, 4]]), ["cat", "dog"], percentages=False)
    heatmap = figure.data[0]
    assert list(heatmap.x) == ["cat", "dog"] and list(heatmap.y) == ["cat", "dog"]
    assert heatmap.text[0][1] == "1"
    assert figure.layout.yaxis.title.text == "True class"
    shares = confusion_figure(np.array([[75.0, 25.0], [0.0, 100.0]]), ["cat", "dog"], percentages=True)
    assert shares.data[0].text[0][0] == "75.0%"


def test_top_k_figure_puts_most_likely_class_on_top():
    figure = top_k_figure([("cat", 0.7), ("dog", 0.2), ("frog", 0.05)])
    assert list(figure.data[0].y) == ["frog", "dog", "cat"]  # plotly draws the last bar on top
    assert figure.data[0].text[-1] == "70.0%"


def test_class_counts_figure_has_one_bar_group_per_split():
    counts = pd.DataFrame({"class": ["cat", "dog"], "train": [10, 12], "test": [3, 4]})
    figure = class_counts_figure(counts)
    assert [trace.name for trace in figure.data] == ["train", "test"]


def test_confusion_figure_has_a_clickable_marker_on_every_cell_and_fixed_ranges():
    figure = confusion_figure(np.array([[3, 1], [0, 4]]), ["cat", "dog"], percentages=False)
    markers = figure.data[1]
    assert list(zip(markers.x, markers.y)) == [("cat", "cat"), ("dog", "cat"), ("cat", "dog"), ("dog", "dog")]
    assert list(figure.layout.yaxis.range) == [1.5, -0.5]  # first class on top
    assert len(confusion_figure(np.eye(2), ["cat", "dog"], percentages=False, clickable=False).data) == 1
