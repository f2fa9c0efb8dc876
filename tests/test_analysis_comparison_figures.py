"""Comparison figures built from tiny data: right traces, right colours, right signs."""

import numpy as np
import pandas as pd
import pytest

from analysis.calibration import confidence_histogram, reliability_bins
from analysis.comparison_figures import (
    confidence_histogram_figure,
    confusion_difference,
    confusion_difference_figure,
    delta_color,
    pareto_figure,
    reliability_figure,
    style_per_class,
)
from analysis.pareto import mark_front
from analysis.stats import per_class_comparison


def test_confusion_difference_in_row_percentage_points():
    matrix_a = np.array([[8, 2], [5, 5]])
    matrix_b = np.array([[9, 1], [5, 5]])
    assert confusion_difference(matrix_a, matrix_b).tolist() == [[10.0, -10.0], [0.0, 0.0]]
    assert confusion_difference(matrix_a, matrix_b, percentages=False).tolist() == [[1, -1], [0, 0]]
    with pytest.raises(ValueError, match="equal shape"):
        confusion_difference(matrix_a, np.eye(3))


def test_confusion_difference_figure_colours_improvements_as_better():
    matrix_a = np.array([[8, 2], [5, 5]])
    matrix_b = np.array([[9, 1], [5, 5]])
    figure = confusion_difference_figure(matrix_a, matrix_b, ["cat", "dog"], "A", "B")
    heatmap = figure.data[0]
    # B recognises more cats (diagonal +10) and calls fewer cats dogs (off-diagonal -10): both good for B.
    assert np.asarray(heatmap.z).tolist() == [[10.0, 10.0], [0.0, 0.0]]
    assert np.asarray(heatmap.text).tolist() == [["+10.0", "-10.0"], ["+0.0", "+0.0"]]
    assert heatmap.zmin == -heatmap.zmax
    assert "B − A" in figure.layout.title.text


def test_reliability_and_histogram_figures():
    confidence = np.array([0.2, 0.4, 0.6, 0.9, 0.95])
    correct = np.array([False, True, False, True, True])
    figure = reliability_figure({"run-a": reliability_bins(confidence, correct, 5)}, {"run-a": 0.123})
    assert [trace.name for trace in figure.data] == ["perfect calibration", "run-a (ECE 0.123)"]
    assert len(figure.data[1].x) == 4  # four non-empty bins of five
    histogram = confidence_histogram_figure(confidence_histogram(confidence, correct, 5), "run-a")
    assert [trace.name for trace in histogram.data] == ["right", "wrong"]
    assert sum(histogram.data[0].y) == 3 and sum(histogram.data[1].y) == 2


def test_pareto_figure_marks_front_and_skips_unmeasured_runs():
    frame = pd.DataFrame({
        "run_id": ["a", "b", "c", "d"],
        "test_accuracy": [0.8, 0.9, 0.7, 0.95],
        "single_ms": [1.0, 3.0, 2.0, np.nan],
    })
    figure = pareto_figure(mark_front(frame, "single_ms"), "single_ms")
    front = figure.data[0]
    assert front.name == "Pareto front" and list(front.x) == [1.0, 3.0]
    assert sorted(trace.name for trace in figure.data[1:]) == ["a (on front)", "b (on front)", "c"]
    with pytest.raises(ValueError, match="Unknown cost column"):
        pareto_figure(frame.assign(on_front=False), "price")


def test_delta_colours_and_styler():
    assert delta_color(0.0) == "" and delta_color(float("nan")) == ""
    assert "44,160,44" in delta_color(0.05) and "214,39,40" in delta_color(-0.05)
    assert delta_color(0.5) == delta_color(0.2)  # saturates at 10 points
    frame = per_class_comparison([0, 1], [0, 0], [0, 1], ["x", "y"])
    styler = style_per_class(frame)
    assert list(styler.data.columns) == ["class", "precision A", "precision B", "precision Δ", "recall A", "recall B",
                                         "recall Δ", "f1 A", "f1 B", "f1 Δ"]
    html = styler.to_html()
    assert "+100.0%" in html and "rgba(44,160,44" in html
