"""Plotly figures and table styles for comparing runs; no Streamlit, no file access.

Usage::

    from analysis.comparison_figures import confusion_difference_figure, reliability_figure
    figure = confusion_difference_figure(matrix_a, matrix_b, CLASS_NAMES, "run A", "run B")

Every function returns a ``plotly.graph_objects.Figure`` (or a pandas Styler),
so the Compare page, the Failures page and the HTML report share the charts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from analysis.figures import FONT, PALETTE, run_colors
from analysis.pareto import COST_COLUMNS

RIGHT_COLOR = "#2ca02c"
WRONG_COLOR = "#d62728"
# Diverging scale: red = worse for B, white = no change, blue = better for B.
DIVERGING_SCALE = [[0.0, "#b2182b"], [0.25, "#ef8a62"], [0.5, "#f7f7f7"], [0.75, "#67a9cf"], [1.0, "#2166ac"]]


def _row_percentages(matrix: np.ndarray) -> np.ndarray:
    totals = matrix.sum(axis=1, keepdims=True)
    return np.divide(100.0 * matrix, totals, out=np.zeros(matrix.shape, dtype=float), where=totals > 0)


def confusion_difference(matrix_a, matrix_b, percentages: bool = True) -> np.ndarray:
    """B − A of two confusion matrices, as row-percentage points (default) or image counts."""
    matrix_a = np.asarray(matrix_a, dtype=float)
    matrix_b = np.asarray(matrix_b, dtype=float)
    if matrix_a.shape != matrix_b.shape or matrix_a.ndim != 2 or matrix_a.shape[0] != matrix_a.shape[1]:
        raise ValueError(f"confusion matrices must be square and of equal shape, got {matrix_a.shape} and {matrix_b.shape}")
    if percentages:
        return _row_percentages(matrix_b) - _row_percentages(matrix_a)
    return matrix_b - matrix_a


def confusion_difference_figure(
    matrix_a, matrix_b, class_names: Sequence[str], name_a: str, name_b: str, percentages: bool = True
) -> go.Figure:
    """Diverging heatmap of the confusion matrix of B minus that of A.

    Each cell shows the signed change B − A. The colour says whether the change
    is good for B: blue where B gets more images of a class right (diagonal) or
    makes a mistake less often (off-diagonal), red where B does worse.
    """
    difference = confusion_difference(matrix_a, matrix_b, percentages)
    if difference.shape[0] != len(class_names):
        raise ValueError(f"{len(class_names)} class names given for a {difference.shape[0]}-class matrix")
    # More right answers is good; more of a given mistake is bad.
    goodness = np.where(np.eye(difference.shape[0], dtype=bool), difference, -difference)
    limit = float(np.abs(goodness).max()) or 1.0
    unit = " pts" if percentages else ""
    text = [[f"{value:+.1f}" if percentages else f"{int(value):+d}" for value in row] for row in difference]
    figure = go.Figure(go.Heatmap(
        z=goodness, x=list(class_names), y=list(class_names), text=text, texttemplate="%{text}",
        customdata=difference, zmin=-limit, zmax=limit, colorscale=DIVERGING_SCALE,
        colorbar=dict(title=f"better for<br>{name_b} →", tickvals=[-limit, 0, limit], ticktext=["worse", "same", "better"]),
        hovertemplate=(
            "true %{y}, predicted %{x}<br>" + f"{name_b} − {name_a}: " + "%{text}" + unit + "<extra></extra>"
        ),
    ))
    measure = "% of each true class" if percentages else "image counts"
    figure.update_layout(
        title=dict(text=f"Confusion difference {name_b} − {name_a} ({measure}); blue = {name_b} better"),
        xaxis_title="Predicted class", yaxis_title="True class", font=FONT, height=560,
        margin=dict(l=90, r=20, t=60, b=80),
    )
    figure.update_yaxes(autorange="reversed")
    return figure


def reliability_figure(
    bins_by_run: Mapping[str, pd.DataFrame], ece_by_run: Mapping[str, float], colors: Mapping[str, str] | None = None
) -> go.Figure:
    """Reliability diagram: accuracy against mean confidence per bin, one line per run, ECE in the legend."""
    colors = colors or run_colors(list(bins_by_run))
    figure = go.Figure()
    figure.add_trace(go.Scatter(
        x=[0, 1], y=[0, 1], mode="lines", line=dict(color="#888", dash="dot"), name="perfect calibration",
        hoverinfo="skip",
    ))
    for index, (run_id, bins) in enumerate(bins_by_run.items()):
        filled = bins[bins["count"] > 0]
        color = colors.get(run_id, PALETTE[index % len(PALETTE)])
        figure.add_trace(go.Scatter(
            x=filled["mean_confidence"], y=filled["accuracy"], mode="lines+markers",
            marker=dict(size=np.clip(4 + 2 * np.sqrt(filled["count"] / max(filled["count"].max(), 1)) * 6, 5, 16)),
            line=dict(color=color, width=2),
            name=f"{run_id} (ECE {ece_by_run.get(run_id, float('nan')):.3f})",
            customdata=filled["count"],
            hovertemplate=f"{run_id}<br>confidence %{{x:.2f}}<br>accuracy %{{y:.2f}}<br>%{{customdata}} images<extra></extra>",
        ))
    figure.update_layout(
        title=dict(text="Reliability: below the dotted line = over-confident"),
        xaxis=dict(title="Mean confidence in bin", range=[0, 1.02], tickformat=".0%"),
        yaxis=dict(title="Accuracy in bin", range=[0, 1.02], tickformat=".0%"),
        legend=dict(orientation="h", yanchor="top", y=-0.2, xanchor="left", x=0),
        font=FONT, height=480, margin=dict(l=60, r=20, t=60, b=40),
    )
    return figure


def confidence_histogram_figure(histogram: pd.DataFrame, run_id: str) -> go.Figure:
    """Stacked bars of right (green) and wrong (red) answers per confidence bin for one run."""
    centers = (histogram["lower"] + histogram["upper"]) / 2
    width = float((histogram["upper"] - histogram["lower"]).iloc[0]) if len(histogram) else 0.05
    figure = go.Figure()
    for column, color, label in (("correct", RIGHT_COLOR, "right"), ("wrong", WRONG_COLOR, "wrong")):
        figure.add_trace(go.Bar(
            x=centers, y=histogram[column], width=width * 0.95, marker_color=color, name=label,
            hovertemplate=f"{label}: %{{y}} images<br>confidence %{{x:.2f}}<extra></extra>",
        ))
    figure.update_layout(
        barmode="stack", title=dict(text=f"{run_id}: confidence of right and wrong answers"),
        xaxis=dict(title="Confidence (top-class probability)", range=[0, 1], tickformat=".0%"),
        yaxis_title="Images", font=FONT, height=340, margin=dict(l=60, r=20, t=50, b=40),
        legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1),
    )
    return figure


def pareto_figure(marked: pd.DataFrame, cost_column: str, colors: Mapping[str, str] | None = None) -> go.Figure:
    """Test accuracy against a cost, one labelled point per run, the Pareto front joined by a line.

    ``marked`` comes from ``analysis.pareto.mark_front`` (columns ``run_id``,
    ``test_accuracy``, ``cost_column`` and ``on_front``). Runs without that cost are left out.
    """
    if cost_column not in COST_COLUMNS:
        raise ValueError(f"Unknown cost column {cost_column!r}; valid: {', '.join(COST_COLUMNS)}")
    shown = marked.dropna(subset=[cost_column, "test_accuracy"])
    colors = colors or run_colors(list(marked["run_id"]))
    figure = go.Figure()
    front = shown[shown["on_front"]].sort_values(cost_column)
    if len(front):
        figure.add_trace(go.Scatter(
            x=front[cost_column], y=front["test_accuracy"], mode="lines", line=dict(color="#444", dash="dash", shape="hv"),
            name="Pareto front", hoverinfo="skip",
        ))
    for _, row in shown.iterrows():
        figure.add_trace(go.Scatter(
            x=[row[cost_column]], y=[row["test_accuracy"]], mode="markers+text", text=[row["run_id"]],
            textposition="top center",
            marker=dict(size=16 if row["on_front"] else 11, color=colors.get(row["run_id"], PALETTE[0]),
                        symbol="star" if row["on_front"] else "circle", line=dict(color="black", width=1)),
            name=row["run_id"] + (" (on front)" if row["on_front"] else ""),
            hovertemplate=f"{row['run_id']}<br>{COST_COLUMNS[cost_column]}: %{{x:,.4g}}<br>test accuracy %{{y:.2%}}<extra></extra>",
        ))
    figure.update_layout(
        title=dict(text=f"Test accuracy vs {COST_COLUMNS[cost_column].lower()} (stars = Pareto front)"),
        xaxis_title=COST_COLUMNS[cost_column] + " — lower is better", yaxis=dict(title="Test accuracy", tickformat=".0%"),
        font=FONT, height=480, showlegend=False, margin=dict(l=60, r=20, t=60, b=50),
    )
    if cost_column == "params_total" and len(shown) and shown[cost_column].max() / max(shown[cost_column].min(), 1) > 50:
        figure.update_xaxes(type="log")
    return figure


def delta_color(value) -> str:
    """CSS for a B − A delta cell: green when B is better, red when worse, stronger for bigger gaps."""
    if value is None or not np.isfinite(value) or value == 0:
        return ""
    # A 10-point change (0.10) gets the full colour; smaller ones fade towards white.
    strength = min(abs(float(value)) / 0.10, 1.0)
    alpha = 0.15 + 0.55 * strength
    base = "44,160,44" if value > 0 else "214,39,40"
    return f"background-color: rgba({base},{alpha:.2f})"


def style_per_class(frame: pd.DataFrame):
    """A pandas Styler of ``analysis.stats.per_class_comparison`` output for display.

    Columns become ``precision A``, ``precision B``, ``precision Δ`` and so on;
    values show as percentages and the Δ columns are coloured by ``delta_color``.
    """
    renamed = {}
    for column in frame.columns:
        for suffix, label in (("_a", "A"), ("_b", "B"), ("_delta", "Δ")):
            if column.endswith(suffix):
                renamed[column] = f"{column[: -len(suffix)]} {label}"
    shown = frame.rename(columns=renamed)
    delta_columns = [label for column, label in renamed.items() if column.endswith("_delta")]
    value_columns = [label for column, label in renamed.items() if not column.endswith("_delta")]
    formats = {column: "{:.1%}" for column in value_columns}
    formats.update({column: "{:+.1%}" for column in delta_columns})
    return shown.style.format(formats).map(delta_color, subset=delta_columns)
