"""How a comparison's answer moves with the training budget, from validation curves (never the test set).

For two groups of replicate runs, the validation accuracy of every member is
put on the same images-seen points, and at each point the difference of the
groups' means (B − A) gets a 95% Welch t interval across seeds. The rule
(docs/statistics.md, with the simulation that checks it):

- **a lead**: the first point from which one group's interval excludes zero at
  every later point up to the end, over at least the last two evaluations
  (one point alone is not "staying ahead"). Reading the points from the end
  backwards and stopping at the first that fails is a fixed-sequence test, so
  the whole claim keeps the 5% error of one interval;
- **a crossover**: only once a lead to the end is established, an earlier lead
  of the other group, where its Bonferroni-corrected interval (over the points
  before the lead) excludes zero: "A leads until about X images; the order
  changed at Y images and held from there";
- otherwise **no consistent order at any budget up to N images**.

Points: the images-seen values every member shares ("common points"); when
fewer than three are shared (groups evaluated at different points), each curve
is interpolated linearly onto the evaluation points of the member with the
fewest, within the range all curves cover ("interpolated"). A curve that ends
early (early stopping, a run still training) ends the comparison there. A
group of one run has no seed variation: no interval, no lead named.

Usage::

    from analysis.trajectory import pair_trajectory, run_curve, difference_figure
    curves_a = [run_curve(history, record) for history, record in members_a]   # (images seen, val accuracy)
    result = pair_trajectory("b1", curves_a, "b3", curves_b)
    result.sentence          # "b3 leads from about 20,000 images to the end ..."
    difference_figure(result)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from scipy import stats as scipy_stats

from analysis.figures import FONT, _faint
from analysis.group_curves import images_seen, training_images
from runstore.errors import BrokenRun
from runstore.reader import RunInfo

COLUMN = "val_accuracy"
CONFIDENCE = 0.95
MIN_POINTS = 3        # fewer shared points than this cannot show a trajectory
MIN_LEAD_POINTS = 2   # a lead must hold at the last two evaluations or more
STUDY_COMMAND = "python -m training suite study"
KIND_LEAD, KIND_CROSSOVER, KIND_NONE, KIND_SINGLE, KIND_TOO_FEW = (
    "lead", "crossover", "no consistent order", "single seed", "too few points")
ALIGN_COMMON, ALIGN_INTERPOLATED = "common points", "interpolated"

Curve = tuple[np.ndarray, np.ndarray]  # images seen, validation accuracy (fractions)


def check_curve(curve: Curve, name: str = "a curve") -> Curve:
    """A member's curve as float arrays, increasing in images seen; ValueError naming what is wrong."""
    try:
        x, y = (np.asarray(part, dtype=np.float64).ravel() for part in curve)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a pair (images seen, validation accuracy) of number arrays") from None
    if x.shape != y.shape:
        raise ValueError(f"{name} has {x.size} images-seen values for {y.size} accuracies")
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    if x.size == 0:
        raise ValueError(f"{name} has no evaluation with both images seen and a validation accuracy")
    if np.any(np.diff(x) <= 0):
        raise ValueError(f"{name}: images seen must increase from one evaluation to the next")
    if np.any((y < 0) | (y > 1)):
        raise ValueError(f"{name}: validation accuracy must be a fraction between 0 and 1")
    return x, y


def run_curve(history: pd.DataFrame, record: Mapping) -> Curve:
    """A run's validation curve from its history (``runstore.read_history``) and run.json record."""
    if COLUMN not in history.columns:
        raise ValueError(f"This run's history has no {COLUMN} column, so it has no validation curve.")
    return check_curve((images_seen(history, training_images(record)), history[COLUMN].to_numpy(dtype=np.float64)),
                       f"run {record.get('run_id', '?')}")


def curve_reader(read_history: Callable[[RunInfo], pd.DataFrame | None]) -> Callable[[RunInfo], Curve | None]:
    """``info -> curve or None`` for ``analysis.findings``: ``read_history`` is the caller's reader of a run's history.

    A run without a readable history or a validation curve gives None (its
    finding then says nothing about the budget), never an error.
    """
    def curve(info: RunInfo) -> Curve | None:
        try:
            history = read_history(info)
            if history is None or history.empty or info.record is None:
                return None
            return run_curve(history, info.record)
        except (BrokenRun, ValueError):
            return None
    return curve


@dataclass(frozen=True)
class Alignment:
    """Every member's validation accuracy on the same images-seen points: (runs, points) per group."""

    points: np.ndarray
    values_a: np.ndarray
    values_b: np.ndarray
    method: str            # ALIGN_COMMON or ALIGN_INTERPOLATED
    longest: float         # the furthest any member's curve reached (beyond points[-1] when curves differ)


def align_curves(curves_a: Sequence[Curve], curves_b: Sequence[Curve]) -> Alignment:
    """Put both groups' curves on shared points: exact common points, else interpolation (module docstring)."""
    if not curves_a or not curves_b:
        raise ValueError("Each group needs at least one run's validation curve.")
    checked = [check_curve(curve, f"curve {index + 1}") for index, curve in enumerate([*curves_a, *curves_b])]
    longest = max(float(x[-1]) for x, _ in checked)
    common = set(np.round(checked[0][0]).tolist())
    for x, _ in checked[1:]:
        common &= set(np.round(x).tolist())
    if len(common) >= MIN_POINTS:
        points = np.array(sorted(common))
        values = [y[np.isin(np.round(x), points)] for x, y in checked]
        method = ALIGN_COMMON
    else:
        low, high = max(x[0] for x, _ in checked), min(x[-1] for x, _ in checked)
        inside = [x[(x >= low) & (x <= high)] for x, _ in checked]
        points = min(inside, key=len)
        values = [np.interp(points, x, y) for x, y in checked]
        method = ALIGN_INTERPOLATED
    split = len(curves_a)
    empty = np.empty((0, 0))
    return Alignment(points, np.array(values[:split]) if len(points) else empty,
                     np.array(values[split:]) if len(points) else empty, method, longest)


def point_intervals(alignment: Alignment, confidence: float = CONFIDENCE) -> pd.DataFrame:
    """Per point: ``images_seen``, ``mean_a``, ``mean_b``, ``difference`` (B − A), its t interval ``lower``/``upper``.

    Welch's interval across seeds; NaN ends when a group has a single run.
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1 (e.g. 0.95), got {confidence}")
    a, b = alignment.values_a, alignment.values_b
    difference = b.mean(axis=0) - a.mean(axis=0)
    lower = upper = np.full(difference.shape, np.nan)
    if len(a) > 1 and len(b) > 1:
        lower, upper = _welch_ends(a, b, difference, confidence)
    return pd.DataFrame({"images_seen": alignment.points, "mean_a": a.mean(axis=0), "mean_b": b.mean(axis=0),
                         "difference": difference, "lower": lower, "upper": upper})


def _welch_ends(a: np.ndarray, b: np.ndarray, difference: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """Welch t interval ends of B − A over the last axis' points; (..., runs, points) arrays allowed."""
    var_a = a.var(axis=-2, ddof=1) / a.shape[-2]
    var_b = b.var(axis=-2, ddof=1) / b.shape[-2]
    total = var_a + var_b
    with np.errstate(divide="ignore", invalid="ignore"):
        df = total ** 2 / (var_a ** 2 / (a.shape[-2] - 1) + var_b ** 2 / (b.shape[-2] - 1))
    # Identical seeds (no spread) leave df undefined; the interval is then the point itself.
    df = np.where(np.isfinite(df), df, a.shape[-2] + b.shape[-2] - 2)
    half = scipy_stats.t.ppf(1 - (1 - confidence) / 2, df) * np.sqrt(total)
    return difference - half, difference + half


def lead_signs(difference: np.ndarray, lower: np.ndarray, upper: np.ndarray,
               corrected: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[int, int, int, int]:
    """The rule of the module docstring on per-point arrays (last axis points).

    Returns ``(sign, start, earlier_sign, earlier_end)``: the leader at the end
    (+1 B, −1 A, 0 none), the index its lead starts at, and the other group's
    earlier lead (its sign and last index; 0 and −1 when none). ``corrected``
    holds the Bonferroni-corrected ends, needed only for the earlier lead.
    """
    sign = np.where(lower > 0, 1, np.where(upper < 0, -1, 0))
    last = int(sign[-1])
    start = len(sign)
    while start > 0 and last and sign[start - 1] == last:
        start -= 1
    if not last or len(sign) - start < MIN_LEAD_POINTS:
        return 0, len(sign), 0, -1
    if corrected is None or start == 0:
        return last, start, 0, -1
    low, high = corrected
    opposite = (high[:start] < 0) if last > 0 else (low[:start] > 0)
    earlier = np.flatnonzero(opposite)
    return (last, start, -last, int(earlier[-1])) if earlier.size else (last, start, 0, -1)


@dataclass(frozen=True)
class PairTrajectory:
    """How the order of two groups moved along their validation curves, and the clause that says so."""

    name_a: str
    name_b: str
    runs_a: int
    runs_b: int
    points: pd.DataFrame   # point_intervals(), plus corrected ends ``lower_corrected``/``upper_corrected``
    method: str
    kind: str
    leader: str | None = None
    lead_from: float | None = None
    earlier_leader: str | None = None
    earlier_until: float | None = None
    changed_at: float | None = None
    still_training: int = 0
    longest: float = 0.0

    @property
    def end(self) -> float:
        """Images seen at the last shared point (the comparison's end)."""
        return float(self.points["images_seen"].iloc[-1]) if len(self.points) else 0.0

    @property
    def sentence(self) -> str:
        """The clause for this pair (``trajectory_clause``)."""
        return trajectory_clause(self)


def pair_trajectory(name_a: str, curves_a: Sequence[Curve], name_b: str, curves_b: Sequence[Curve],
                    still_training: int = 0, confidence: float = CONFIDENCE) -> PairTrajectory:
    """Where the order of groups A and B changed along their validation curves (module docstring)."""
    alignment = align_curves(curves_a, curves_b)
    runs_a, runs_b = len(curves_a), len(curves_b)
    base = dict(name_a=name_a, name_b=name_b, runs_a=runs_a, runs_b=runs_b, method=alignment.method,
                still_training=still_training, longest=alignment.longest)
    if len(alignment.points) < MIN_POINTS:
        frame = pd.DataFrame(columns=["images_seen", "mean_a", "mean_b", "difference", "lower", "upper"])
        return PairTrajectory(points=frame, kind=KIND_TOO_FEW, **base)
    points = point_intervals(alignment, confidence)
    if runs_a < 2 or runs_b < 2:
        return PairTrajectory(points=points, kind=KIND_SINGLE, **base)
    difference = points["difference"].to_numpy()
    lower, upper = points["lower"].to_numpy(), points["upper"].to_numpy()
    earlier_points = max(1, len(points) - 1)
    corrected = _welch_ends(alignment.values_a, alignment.values_b, difference, 1 - (1 - confidence) / earlier_points)
    points = points.assign(lower_corrected=corrected[0], upper_corrected=corrected[1])
    sign, start, earlier_sign, earlier_end = lead_signs(difference, lower, upper, corrected)
    if not sign:
        return PairTrajectory(points=points, kind=KIND_NONE, **base)
    x = points["images_seen"].to_numpy()
    leader, other = (name_b, name_a) if sign > 0 else (name_a, name_b)
    if not earlier_sign:
        return PairTrajectory(points=points, kind=KIND_LEAD, leader=leader, lead_from=float(x[start]), **base)
    # The order changed at the first point after the other's lead from which the means keep the leader's order.
    changed = start
    while changed - 1 > earlier_end and np.sign(difference[changed - 1]) == sign:
        changed -= 1
    return PairTrajectory(points=points, kind=KIND_CROSSOVER, leader=leader, lead_from=float(x[start]),
                          earlier_leader=other, earlier_until=float(x[earlier_end]), changed_at=float(x[changed]),
                          **base)


def _signed(value: float) -> str:
    """``+6.1`` or ``−2.4`` (a true minus sign): a fraction as signed points."""
    return f"{value * 100:+.1f}".replace("-", "−")


def _images(value: float) -> str:
    return f"{value:,.0f} images"


def _seeds(trajectory: PairTrajectory) -> str:
    if trajectory.runs_a == trajectory.runs_b:
        return f"{trajectory.runs_a} seed{'s' if trajectory.runs_a != 1 else ''} each"
    return f"{trajectory.runs_b} seeds of {trajectory.name_b}, {trajectory.runs_a} of {trajectory.name_a}"


def _end_text(trajectory: PairTrajectory) -> str:
    """``+6.1 points (95% interval 4.0 to 8.2; 3 seeds each)``: the leader's margin at the last shared point."""
    last = trajectory.points.iloc[-1]
    sign = -1 if trajectory.leader == trajectory.name_a else 1
    estimate, low, high = sign * last["difference"], *sorted((sign * last["lower"], sign * last["upper"]))
    return (f"{_signed(estimate)} points on validation (95% interval {_signed(low)} to {_signed(high)}; "
            f"{_seeds(trajectory)})")


def _range_text(trajectory: PairTrajectory) -> str:
    """What the comparison covers: ``2,000 images seen``, and why it stops there when a curve went further."""
    text = f"{_images(trajectory.end)} seen"
    notes = []
    if trajectory.longest > trajectory.end * 1.001:
        notes.append(f"where the shortest curve ends; the longest reached {_images(trajectory.longest)}")
    if trajectory.method == ALIGN_INTERPOLATED:
        notes.append("curves interpolated onto shared points, as the groups were evaluated at different points")
    if trajectory.still_training:
        notes.append(f"so far: {trajectory.still_training} run{'s' if trajectory.still_training != 1 else ''} "
                     "still training")
    return text + (f" ({'; '.join(notes)})" if notes else "")


def trajectory_clause(trajectory: PairTrajectory) -> str:
    """The pair's budget trajectory in words (no final full stop): lead, crossover, no order, single seed."""
    t = trajectory
    if t.kind == KIND_TOO_FEW:
        return (f"{t.name_a} and {t.name_b} share fewer than {MIN_POINTS} evaluation points, so how their order "
                "moved with budget cannot be said")
    if t.kind == KIND_SINGLE:
        last = t.points.iloc[-1]
        above = int((t.points["difference"] > 0).sum())
        return (f"{t.name_a} against {t.name_b} up to {_range_text(t)}: a single run on a side, so seed variation is "
                f"unknown and no lead is named; on validation {t.name_b} was above {t.name_a} at {above} of "
                f"{len(t.points)} evaluations and at the end by {_signed(last['difference'])} points")
    if t.kind == KIND_NONE:
        last = t.points.iloc[-1]
        return (f"{t.name_a} against {t.name_b}: no consistent order at any budget up to {_range_text(t)}; at the "
                f"end {t.name_b} − {t.name_a} = {_signed(last['difference'])} points on validation (95% "
                f"interval {_signed(last['lower'])} to {_signed(last['upper'])}; {_seeds(t)})")
    first = float(t.points["images_seen"].iloc[0])
    lead = (f"{t.leader} leads at every evaluation from {_images(first)} to the end" if t.lead_from == first
            else f"{t.leader} leads from about {_images(t.lead_from)} to the end")
    if t.kind == KIND_CROSSOVER:
        lead = (f"{t.earlier_leader} leads until about {_images(t.earlier_until)}; the order changed at about "
                f"{_images(t.changed_at)} and held from there: " + lead)
    return f"{lead} ({_range_text(t)}): {_end_text(t)}"


def _within_seed_slope(curves: Sequence[np.ndarray], share: float) -> tuple[float, float, int]:
    """Least-squares slope per evaluation over the last ``share`` of each curve, one intercept per seed.

    Returns the slope, its standard error and the degrees of freedom.
    """
    points = max(MIN_POINTS, int(np.ceil(min(len(y) for y in curves) * share)))
    x = np.arange(points) - (points - 1) / 2
    tails = np.array([y[-points:] - y[-points:].mean() for y in curves])
    slope = float((tails * x).sum() / (len(curves) * (x * x).sum()))
    df = len(curves) * (points - 1) - 1
    residual = np.sqrt(((tails - slope * x) ** 2).sum() / df) if df > 0 else np.inf
    return slope, float(residual / np.sqrt(len(curves) * (x * x).sum())), df


def _rising(curves: Sequence[Curve], confidence: float = CONFIDENCE) -> float | None:
    """The group's slope (fraction per evaluation) when its curves were clearly still rising at the end, else None."""
    values = [check_curve(curve)[1] for curve in curves]
    if min(len(y) for y in values) < 2 * MIN_POINTS:
        return None
    slope, error, df = _within_seed_slope(values, 2 / 3)
    late, _, _ = _within_seed_slope(values, 1 / 2)
    lower = slope - scipy_stats.t.ppf(1 - (1 - confidence) / 2, df) * error
    # Rising over the last two thirds, and not flattened out over the last half.
    return slope if lower > 0 and late > 0 else None


def still_rising(curves_by_group: Mapping[str, Sequence[Curve]]) -> dict[str, float]:
    """Groups whose validation accuracy was clearly still rising at the end, with their slope (fraction an evaluation).

    "Clearly": the least-squares slope over the last two thirds of the curves,
    one intercept per seed, has a 95% t interval above zero, and the slope over
    the last half is above zero too (a curve that rose and then flattened is not
    rising). Six evaluations at least.
    """
    rising = {}
    for group, curves in curves_by_group.items():
        slope = _rising(curves)
        if slope is not None:
            rising[group] = slope
    return rising


def _unsettled(trajectory: PairTrajectory, rising: Mapping[str, float]) -> bool:
    """Whether more training could plausibly reorder this pair: no lead named, or the trailing group rising faster."""
    if trajectory.kind not in (KIND_LEAD, KIND_CROSSOVER):
        return True
    trailer = trajectory.name_a if trajectory.leader == trajectory.name_b else trajectory.name_b
    return rising.get(trailer, 0.0) > rising.get(trajectory.leader, 0.0)


def budget_sentence(trajectories: Sequence[PairTrajectory], rising: Mapping[str, float],
                    suite: str | None = None) -> str:
    """A question's one sentence: every pair's clause, then what still-rising curves mean for the answer.

    ``rising`` is ``still_rising`` of the question's groups. When a group was
    still rising and some pair is unsettled (no lead, or the group behind was
    gaining faster), the budget is called too small to settle the question and
    the study suite is named (unless this is the study suite).
    """
    if not trajectories:
        raise ValueError("A budget sentence needs at least one pair of groups.")
    text = "On validation along the way: " + "; ".join(trajectory_clause(t) for t in trajectories) + "."
    if not rising or any(t.still_training for t in trajectories):
        return text  # a run still training has not reached its budget: too early to call the budget small
    growth = ", ".join(f"{group} +{slope * 100:.1f} points" for group, slope in rising.items())
    growth = (f"validation accuracy was still rising at the end ({growth} an evaluation over the last two thirds "
              "of training, 95% interval above zero)")
    if any(_unsettled(trajectory, rising) for trajectory in trajectories):
        text += f" This budget is too small to settle the question: {growth}, so the order may change with more training"
        return text + (f"; run `{STUDY_COMMAND}`." if suite != "study" else ".")
    return text + f" The lead held while {growth}; more training could still move the margin."


def difference_figure(trajectory: PairTrajectory, confidence: float = CONFIDENCE) -> go.Figure:
    """B − A validation accuracy against images seen, with its 95% band across seeds and zero marked."""
    t = trajectory
    figure = go.Figure()
    points = t.points
    x = points["images_seen"].to_numpy(dtype=np.float64)
    color = "#1f77b4"
    if len(points) and points["lower"].notna().all():
        figure.add_trace(go.Scatter(
            x=np.concatenate([x, x[::-1]]), y=np.concatenate([points["upper"], points["lower"][::-1]]) * 100,
            fill="toself", mode="lines", line=dict(width=0), fillcolor=_faint(color, 0.25), hoverinfo="skip",
            name=f"{round(confidence * 100)}% interval across seeds"))
    figure.add_trace(go.Scatter(
        x=x, y=points["difference"].to_numpy(dtype=np.float64) * 100, mode="lines+markers",
        line=dict(color=color, width=2), name=f"{t.name_b} − {t.name_a}",
        hovertemplate="%{x:,.0f} images seen<br>%{y:+.1f} points<extra></extra>"))
    figure.add_hline(y=0, line=dict(color="#555", width=1, dash="dash"), annotation_text="no difference",
                     annotation_position="bottom right")
    if t.lead_from is not None:
        figure.add_vline(x=t.lead_from, line=dict(color="#2ca02c", width=1, dash="dot"),
                         annotation_text=f"{t.leader} leads from here", annotation_position="top left")
    band = "" if t.runs_a > 1 and t.runs_b > 1 else " (a single run on a side: no band)"
    figure.update_layout(
        title=dict(text=f"Validation accuracy of {t.name_b} minus {t.name_a} against images seen{band}"),
        xaxis=dict(title=f"Training images seen ({t.method})", tickformat=","), yaxis_title="B − A (points)",
        font=FONT, height=400,
        hovermode="x unified", legend=dict(orientation="h", yanchor="top", y=-0.2, xanchor="left", x=0),
        margin=dict(l=60, r=20, t=60, b=40))
    return figure
