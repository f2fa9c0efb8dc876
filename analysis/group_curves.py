"""A group's training curve: the members' mean and a band on the exact epochs they share, no interpolation.

Every point averages the members that finished that epoch, and says how many
(``runs``): where a member stopped early, the later points average fewer runs
instead of inventing values for it. The x-axis is the epoch (1-based), or the
training images seen so far (``images_seen`` in the history when present,
else epochs finished x training images).

Usage::

    from analysis.group_curves import group_curve, group_curves_figure
    curve = group_curve([history_s0, history_s1, history_s2], "val_accuracy")
    figure = group_curves_figure({"simple_cnn-b3": curve}, "val_accuracy", band="sd",
                                 members={"simple_cnn-b3": {"s0": history_s0, ...}})
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from analysis.figures import FONT, PALETTE, _faint

BANDS = ("minmax", "sd")
X_AXES = ("epoch", "images seen")
IMAGES_SEEN_COLUMN = "images_seen"


def images_seen(history: pd.DataFrame, training_images: int | None) -> np.ndarray:
    """Training images seen by the end of each history row: the ``images_seen`` column, else (epoch + 1) x images."""
    if IMAGES_SEEN_COLUMN in history.columns:
        return history[IMAGES_SEEN_COLUMN].to_numpy(dtype=np.float64)
    if not training_images:
        raise ValueError("This run's history has no images_seen column and its number of training images is "
                         "unknown: plot it by epoch instead.")
    return (history["epoch"].to_numpy(dtype=np.float64) + 1) * training_images


def group_curve(histories: Sequence[pd.DataFrame], column: str, x_axis: str = "epoch",
                training_images: Sequence[int | None] | None = None) -> pd.DataFrame:
    """Per epoch: ``x``, ``runs`` (members with a value there), ``mean``, ``sd`` (n - 1; NaN for one run), ``min``, ``max``.

    ``training_images`` gives each member's training-set size for the images-seen
    axis. Epochs are matched exactly; a member with no value at an epoch is
    left out of that point only.
    """
    if x_axis not in X_AXES:
        raise ValueError(f"x_axis must be one of {', '.join(X_AXES)}, got {x_axis!r}")
    if not histories:
        raise ValueError("A group curve needs at least one run's history.")
    sizes = list(training_images) if training_images is not None else [None] * len(histories)
    if len(sizes) != len(histories):
        raise ValueError(f"{len(sizes)} training-set sizes given for {len(histories)} histories")
    long = []
    for member, (history, size) in enumerate(zip(histories, sizes)):
        if column not in history.columns:
            raise ValueError(f"A member's history has no {column!r} column; columns: {', '.join(history.columns)}")
        part = pd.DataFrame({"epoch": history["epoch"].to_numpy(), "value": history[column].to_numpy(dtype=np.float64)})
        part["x"] = part["epoch"] + 1 if x_axis == "epoch" else images_seen(history, size)
        part["member"] = member
        long.append(part)
    values = pd.concat(long, ignore_index=True).dropna(subset=["value"])
    grouped = values.groupby("epoch", sort=True)
    curve = pd.DataFrame({
        # Members may disagree on images seen at an epoch (different training-set sizes); the median keeps
        # the point at a real member's value when they agree and in the middle when they do not.
        "x": grouped["x"].median(),
        "runs": grouped["value"].count(),
        "mean": grouped["value"].mean(),
        "sd": grouped["value"].std(ddof=1),
        "min": grouped["value"].min(),
        "max": grouped["value"].max(),
    }).reset_index()
    return curve


def band_limits(curve: pd.DataFrame, band: str) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper edge of the band: min-max, or mean +- 1 sd (the mean itself where sd is undefined)."""
    if band == "minmax":
        return curve["min"].to_numpy(), curve["max"].to_numpy()
    if band == "sd":
        spread = curve["sd"].fillna(0.0).to_numpy()
        return curve["mean"].to_numpy() - spread, curve["mean"].to_numpy() + spread
    raise ValueError(f"band must be one of {', '.join(BANDS)}, got {band!r}")


def group_curves_figure(
    curves: Mapping[str, pd.DataFrame],
    column: str,
    *,
    band: str = "minmax",
    x_axis: str = "epoch",
    members: Mapping[str, Mapping[str, pd.DataFrame]] | None = None,
    member_x: Mapping[str, Mapping[str, np.ndarray]] | None = None,
    colors: Mapping[str, str] | None = None,
) -> go.Figure:
    """Each group's mean line over its shaded band; hover says how many runs each point averages.

    ``members`` (group -> run id -> history) adds each member's own line, faint;
    ``member_x`` gives their x values on the images-seen axis (epoch + 1 otherwise).
    """
    figure = go.Figure()
    for index, (group, curve) in enumerate(curves.items()):
        color = (colors or {}).get(group, PALETTE[index % len(PALETTE)])
        lower, upper = band_limits(curve, band)
        x = curve["x"].to_numpy()
        figure.add_trace(go.Scatter(
            # mode "lines": plotly's default for short traces adds markers, which would dot the band's corners.
            x=np.concatenate([x, x[::-1]]), y=np.concatenate([upper, lower[::-1]]), fill="toself", mode="lines",
            fillcolor=_faint(color, 0.2), line=dict(width=0), hoverinfo="skip", legendgroup=group,
            name=f"{group} · {'min–max' if band == 'minmax' else '±1 sd'}", showlegend=False,
        ))
        figure.add_trace(go.Scatter(
            x=x, y=curve["mean"], mode="lines+markers", line=dict(color=color, width=2), marker=dict(size=5),
            name=f"{group} (mean of {int(curve['runs'].max())})", legendgroup=group, customdata=curve["runs"],
            hovertemplate=f"{group}<br>%{{x}}<br>mean %{{y:.4f}} of %{{customdata}} run(s)<extra></extra>",
        ))
        for run_id, history in ((members or {}).get(group) or {}).items():
            run_x = (member_x or {}).get(group, {}).get(run_id)
            figure.add_trace(go.Scatter(
                x=history["epoch"].to_numpy() + 1 if run_x is None else run_x, y=history[column],
                mode="lines", line=dict(color=_faint(color, 0.55), width=1), legendgroup=group,
                name=f"{group} · {run_id}", showlegend=False,
                hovertemplate=f"{run_id}<br>%{{x}}<br>%{{y:.4f}}<extra></extra>",
            ))
    figure.update_layout(
        title=dict(text=f"{column.replace('_', ' ')}: group mean and "
                        f"{'min–max' if band == 'minmax' else '±1 sd'} band (exact epochs, no interpolation)"),
        xaxis_title="Epoch" if x_axis == "epoch" else "Training images seen",
        yaxis_title=column.replace("_", " "), hovermode="closest", font=FONT, height=460,
        legend=dict(orientation="h", yanchor="top", y=-0.18, xanchor="left", x=0),
        margin=dict(l=60, r=20, t=60, b=40),
    )
    if "accuracy" in column:
        figure.update_yaxes(tickformat=".0%")
    return figure


def training_images(record: Mapping) -> int | None:
    """A run's training-set size from run.json (``data.train_images``, ``data.counts.train``, ``config.train_limit``)."""
    data = record.get("data") or {}
    for value in (data.get("train_images"), (data.get("counts") or {}).get("train"),
                  (record.get("config") or {}).get("train_limit")):
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
            return int(value)
    return None


def averaging_note(curves: Mapping[str, pd.DataFrame]) -> str | None:
    """Which points average fewer runs than their group has (members stopped early), in words; None if none do.

    ``Where members stopped early, points average fewer runs: simple_cnn-b3 epochs 5–6 average 2 of 3 runs.``
    """
    parts = []
    for group, curve in curves.items():
        most = int(curve["runs"].max())
        for runs, points in curve[curve["runs"] < most].groupby("runs", sort=False):
            epochs = points["epoch"].to_numpy() + 1
            span = f"epoch {epochs[0]}" if len(epochs) == 1 else f"epochs {epochs.min()}–{epochs.max()}"
            parts.append(f"{group} {span} average{'s' if len(epochs) == 1 else ''} {int(runs)} of {most} runs")
    if not parts:
        return None
    return "Where members stopped early, points average fewer runs: " + "; ".join(parts) + "."
