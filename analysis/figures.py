"""Plotly figures built from plain data; no Streamlit, no file access.

Every function returns a ``plotly.graph_objects.Figure`` so the dashboard, the
HTML report and the tests can use the same charts.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from analysis.curves import CurveEvents, smooth

# Plotly's qualitative "D3" palette extended: distinct, colour-blind-friendlier hues.
PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f",
    "#393b79", "#ad494a",
)
METRIC_TITLES = {"accuracy": "Accuracy", "loss": "Loss"}
FONT = dict(family="Source Sans Pro, sans-serif", size=14)


def run_colors(run_ids: Sequence[str]) -> dict[str, str]:
    """A colour per run, fixed by the sorted order of all run ids.

    Passing every run id (not only the selected ones) keeps a run's colour the
    same on every page and whatever else is selected.
    """
    return {run_id: PALETTE[index % len(PALETTE)] for index, run_id in enumerate(sorted(set(run_ids)))}


def _faint(color: str, alpha: float = 0.25) -> str:
    """``color`` (#rrggbb) as an rgba string with transparency ``alpha``."""
    red, green, blue = (int(color[index:index + 2], 16) for index in (1, 3, 5))
    return f"rgba({red},{green},{blue},{alpha})"


def _x_values(history: pd.DataFrame, x_axis: str) -> np.ndarray:
    if x_axis == "epoch":
        # Shown 1-based: "epoch 1" is the first epoch a user saw in the log.
        return history["epoch"].to_numpy() + 1
    if x_axis == "time":
        if "elapsed_seconds" not in history.columns:
            raise ValueError("history has no elapsed_seconds column; plot by epoch instead")
        return history["elapsed_seconds"].to_numpy(dtype=np.float64) / 60.0
    raise ValueError(f"x_axis must be 'epoch' or 'time', got {x_axis!r}")


def curves_figure(
    histories: dict[str, pd.DataFrame],
    metric: str,
    *,
    events: dict[str, CurveEvents] | None = None,
    colors: dict[str, str] | None = None,
    smoothing: float = 0.0,
    x_axis: str = "epoch",
    log_y: bool = False,
) -> go.Figure:
    """Train (solid) and validation (dashed) ``metric`` of every run on shared axes.

    With ``smoothing`` > 0 the raw line stays, faint, under the smoothed one.
    Markers on the validation curve: star = best epoch, down-triangle = learning
    rate drop, X = early stopping fired.
    """
    if metric not in METRIC_TITLES:
        raise ValueError(f"metric must be one of {', '.join(METRIC_TITLES)}, got {metric!r}")
    events = events or {}
    colors = colors or run_colors(list(histories))
    figure = go.Figure()
    for run_id, history in histories.items():
        if history.empty:
            continue
        color = colors.get(run_id, PALETTE[0])
        x = _x_values(history, x_axis)
        for column, dash, split in ((metric, "solid", "train"), (f"val_{metric}", "dash", "validation")):
            if column not in history.columns:
                continue
            raw = history[column].to_numpy(dtype=np.float64)
            shown = smooth(raw, smoothing) if smoothing > 0 else raw
            if smoothing > 0:
                figure.add_trace(go.Scatter(
                    x=x, y=raw, mode="lines", line=dict(color=_faint(color), width=1, dash=dash),
                    legendgroup=run_id, showlegend=False, hoverinfo="skip", name=f"{run_id} {split} (raw)",
                ))
            figure.add_trace(go.Scatter(
                x=x, y=shown, mode="lines+markers" if len(x) <= 30 else "lines",
                marker=dict(size=4), line=dict(color=color, width=2, dash=dash),
                name=f"{run_id} · {split}", legendgroup=run_id,
                hovertemplate=f"{run_id} {split}<br>%{{x}}<br>{METRIC_TITLES[metric].lower()} %{{y:.4f}}<extra></extra>",
            ))
        _add_event_markers(figure, history, x, run_id, color, metric, events.get(run_id), smoothing)
    x_title = "Epoch" if x_axis == "epoch" else "Wall time since start (minutes)"
    figure.update_layout(
        title=dict(text=f"{METRIC_TITLES[metric]} — train (solid) and validation (dashed)"),
        xaxis_title=x_title,
        yaxis_title=METRIC_TITLES[metric] + (" (log scale)" if log_y else ""),
        hovermode="closest",
        legend=dict(orientation="h", yanchor="top", y=-0.18, xanchor="left", x=0),
        margin=dict(l=60, r=20, t=60, b=40),
        font=FONT,
        height=460,
    )
    if log_y:
        figure.update_yaxes(type="log")
    if metric == "accuracy" and not log_y:
        figure.update_yaxes(tickformat=".0%")
    if x_axis == "epoch":
        figure.update_xaxes(dtick=1 if max((len(h) for h in histories.values()), default=0) <= 20 else None)
    return figure


def _add_event_markers(figure, history, x, run_id, color, metric, run_events, smoothing) -> None:
    """Markers for the best epoch, learning-rate drops and early stopping on the validation curve."""
    if run_events is None:
        return
    column = f"val_{metric}" if f"val_{metric}" in history.columns else metric
    values = history[column].to_numpy(dtype=np.float64)
    values = smooth(values, smoothing) if smoothing > 0 else values
    epochs = history["epoch"].to_numpy()
    kinds = (
        ("best epoch", "star", 16, [run_events.best_epoch] if run_events.best_epoch is not None else []),
        ("learning-rate drop", "triangle-down", 12, list(run_events.lr_drop_epochs)),
        ("early stop", "x", 13, [run_events.early_stop_epoch] if run_events.early_stop_epoch is not None else []),
    )
    for label, symbol, size, wanted in kinds:
        positions = [int(np.flatnonzero(epochs == epoch)[0]) for epoch in wanted if np.any(epochs == epoch)]
        if not positions:
            continue
        figure.add_trace(go.Scatter(
            x=x[positions], y=values[positions], mode="markers",
            marker=dict(symbol=symbol, size=size, color=color, line=dict(color="black", width=1)),
            name=f"{run_id} · {label}", legendgroup=run_id, showlegend=False,
            hovertemplate=f"{run_id}: {label} (epoch %{{customdata}})<br>%{{y:.4f}}<extra></extra>",
            customdata=epochs[positions] + 1,
        ))


def confusion_figure(
    matrix: np.ndarray, class_names: Sequence[str], *, percentages: bool, title: str = "", clickable: bool = True,
) -> go.Figure:
    """A heatmap of ``matrix`` (true class down, predicted class across) with every cell labelled.

    ``percentages`` says whether ``matrix`` holds row percentages (True) or counts.
    ``clickable`` lays an invisible marker on every cell: Streamlit's chart
    selection ignores clicks on heatmaps, but reports clicked markers with
    their ``x`` (predicted) and ``y`` (true) class names.
    """
    matrix = np.asarray(matrix)
    if matrix.shape != (len(class_names), len(class_names)):
        raise ValueError(f"matrix shape {matrix.shape} does not fit {len(class_names)} class names")
    text = [[f"{value:.1f}%" if percentages else f"{int(value)}" for value in row] for row in matrix]
    figure = go.Figure(go.Heatmap(
        z=matrix, x=list(class_names), y=list(class_names), text=text, texttemplate="%{text}",
        colorscale="Blues", colorbar=dict(title="% of row" if percentages else "images"),
        hovertemplate="true %{y}<br>predicted %{x}<br>%{text}<extra></extra>",
        hoverinfo="skip" if clickable else None,
    ))
    if clickable:
        size = len(class_names)
        figure.add_trace(go.Scatter(
            x=[name for _ in range(size) for name in class_names],
            y=[name for name in class_names for _ in range(size)],
            text=[cell for row in text for cell in row],
            mode="markers", marker=dict(symbol="square", size=36, color="rgba(0,0,0,0)"),
            showlegend=False, name="cells",
            hovertemplate="true %{y}<br>predicted %{x}<br>%{text}<br>click to see these images<extra></extra>",
            # Keep every cell looking the same after a click (no dimming of the others).
            selected=dict(marker=dict(opacity=1)), unselected=dict(marker=dict(opacity=1)),
        ))
    figure.update_layout(
        title=dict(text=title or ("Confusion matrix (% of each true class)" if percentages else "Confusion matrix (image counts)")),
        xaxis_title="Predicted class", yaxis_title="True class", font=FONT, height=560,
        margin=dict(l=90, r=20, t=60, b=80),
    )
    # Fixed ranges: the click markers would otherwise pad the axes. Row 0
    # (airplane) at the top, as confusion matrices are read.
    cells = len(class_names)
    figure.update_xaxes(range=[-0.5, cells - 0.5], showgrid=False, zeroline=False)
    figure.update_yaxes(range=[cells - 0.5, -0.5], showgrid=False, zeroline=False)
    return figure


def top_k_figure(top: Sequence[tuple[str, float]], title: str = "", color: str = PALETTE[0]) -> go.Figure:
    """Horizontal bars of the top classes and their probabilities, most likely on top."""
    labels = [label for label, _ in top][::-1]
    values = [float(value) for _, value in top][::-1]
    figure = go.Figure(go.Bar(
        x=values, y=labels, orientation="h", marker_color=color,
        text=[f"{value:.1%}" for value in values], textposition="auto",
        hovertemplate="%{y}: %{x:.1%}<extra></extra>",
    ))
    figure.update_layout(
        title=dict(text=title), xaxis=dict(range=[0, 1], tickformat=".0%", title="Probability"),
        height=60 + 40 * len(labels), margin=dict(l=90, r=20, t=40 if title else 10, b=40), font=FONT,
    )
    return figure


def class_counts_figure(counts: pd.DataFrame) -> go.Figure:
    """Grouped bars of images per class for each split; ``counts`` has a ``class`` column and one per split."""
    if "class" not in counts.columns:
        raise ValueError("counts needs a 'class' column")
    figure = go.Figure()
    for index, split in enumerate(column for column in counts.columns if column != "class"):
        figure.add_trace(go.Bar(x=counts["class"], y=counts[split], name=split, marker_color=PALETTE[index]))
    figure.update_layout(
        barmode="group", title=dict(text="Images per class in each split"), xaxis_title="Class",
        yaxis_title="Images", font=FONT, height=400, margin=dict(l=60, r=20, t=60, b=40),
    )
    return figure
