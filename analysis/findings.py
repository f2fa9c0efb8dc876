"""Findings in plain words: one sentence per comparison, the same on the Compare page, the report and the CLI.

Every sentence follows the lab's rule for stating a result: the estimate, its
95% interval, n seeds on each side, the budget it holds for, and "no detectable
difference at this budget" when the interval covers zero (never "slightly better").

Usage::

    from analysis.findings import budget_text, difference_sentence, spread_sentence
    result = compare_groups(...)                          # analysis.replicates
    print(difference_sentence(result, budget_text(records_a + records_b)))
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from analysis.replicates import GroupDifference


def _points(value: float) -> str:
    return f"{value * 100:.1f}"


def _signed_points(value: float) -> str:
    return f"{value * 100:+.1f}".replace("-", "−")


def _count(values: Sequence) -> str:
    """``5,000`` or ``2,000–5,000`` when the runs differ."""
    numbers = sorted({value for value in values if isinstance(value, (int, float))})
    if not numbers:
        return ""
    low, high = numbers[0], numbers[-1]
    return f"{low:,.0f}" if low == high else f"{low:,.0f}–{high:,.0f}"


def budget_text(records: Sequence[Mapping]) -> str:
    """The budget the runs trained at: ``on 10,000 training images, 4 epochs`` (ranges when they differ)."""
    images = _count([(record.get("data") or {}).get("train_images") for record in records])
    epochs = _count([record.get("epochs_run") for record in records])
    budgets = _count([(record.get("config") or {}).get("time_budget_seconds") for record in records])
    parts = []
    if images:
        parts.append(f"{images} training images")
    if epochs:
        parts.append(f"{epochs} epoch{'' if epochs == '1' else 's'}")
    if budgets:
        parts.append(f"a {budgets} s time budget")
    return "on " + ", ".join(parts) if parts else "at an unrecorded budget"


def seeds_text(result: GroupDifference) -> str:
    """``3 seeds each`` or ``3 seeds of fast_cnn, 2 of simple_cnn``."""
    if result.runs_a == result.runs_b:
        return f"{result.runs_a} seed{'s' if result.runs_a != 1 else ''} each"
    return f"{result.runs_b} seed{'s' if result.runs_b != 1 else ''} of {result.name_b}, {result.runs_a} of {result.name_a}"


def difference_sentence(result: GroupDifference, budget: str) -> str:
    """The verdict in one sentence (two when a side has a single run) with estimate, interval, n and budget."""
    interval = result.difference
    level = f"{round(interval.confidence * 100)}%"
    where = f"{budget}, on {result.images:,} test images"
    if result.detectable:
        better_b = interval.estimate > 0
        winner, loser = (result.name_b, result.name_a) if better_b else (result.name_a, result.name_b)
        sign = 1 if better_b else -1
        low, high = sorted((sign * interval.lower, sign * interval.upper))
        sentence = (f"{winner} beats {loser} by {_points(sign * interval.estimate)} points "
                    f"({level} interval {_points(low)} to {_points(high)}; {seeds_text(result)}) {where}.")
    else:
        sentence = (f"No detectable difference at this budget between {result.name_a} and {result.name_b}: "
                    f"{result.name_b} − {result.name_a} = {_signed_points(interval.estimate)} points "
                    f"({level} interval {_signed_points(interval.lower)} to {_signed_points(interval.upper)}; "
                    f"{seeds_text(result)}) {where}.")
    if not result.seeds_counted:
        singles = [name for name, runs in ((result.name_a, result.runs_a), (result.name_b, result.runs_b)) if runs == 1]
        sentence += (f" Seed variation is unknown ({' and '.join(singles)} "
                     f"{'is a single run' if len(singles) == 1 else 'are single runs'}), so the interval covers "
                     "test-image sampling only; another seed could move either result by more than it shows.")
    return sentence


def spread_sentence(result: GroupDifference) -> str:
    """Per-seed test accuracy of each side: range and standard deviation, or 'a single run'."""
    parts = []
    for name, accuracies, sd in ((result.name_a, result.accuracies_a, result.sd_a),
                                 (result.name_b, result.accuracies_b, result.sd_b)):
        if sd is None:
            parts.append(f"{name} {accuracies[0]:.1%} (a single run)")
        else:
            parts.append(f"{name} {min(accuracies):.1%} to {max(accuracies):.1%} over {len(accuracies)} seeds "
                         f"(sd {_points(sd)} points)")
    return "Per-seed test accuracy: " + "; ".join(parts) + "."
