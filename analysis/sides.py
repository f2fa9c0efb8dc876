"""The two sides of a comparison: each a single run or a replicate group, as the Compare page and report pick them.

A side's key is a run id, or ``group:<name>`` for a group (run ids cannot hold
a colon, so the two never clash and a link names either).

Usage::

    from analysis.sides import comparison_sides, default_pair
    sides = comparison_sides(records)          # {run_id: run.json record} of the finished runs
    key_a, key_b = default_pair(sides)          # the first two sides sharing no run
    sides[key_b].run_ids                       # the runs behind side B
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from runstore.groups import group_runs

GROUP_PREFIX = "group:"


@dataclass(frozen=True)
class Side:
    """One side of a comparison: its key, its name in sentences, its runs and its picker label."""

    key: str
    name: str
    run_ids: tuple[str, ...]
    label: str

    @property
    def is_group(self) -> bool:
        """Whether this side is a group (of any size) rather than one run picked on its own."""
        return self.key.startswith(GROUP_PREFIX)


def _accuracy(records: list[Mapping]) -> str:
    values = [record.get("test_accuracy") for record in records if record.get("test_accuracy") is not None]
    return f"{np.mean(values):.1%}" if values else "no test accuracy"


def comparison_sides(records: Mapping[str, Mapping]) -> dict[str, Side]:
    """Every side a user may pick: groups with two or more finished runs first (best mean first), then every run.

    ``records`` maps run id to run.json record, finished runs only, in the
    order runs should be listed (best first, say).
    """
    groups, runs = [], []
    for name, members in group_runs(records.values()).items():
        if len(members) < 2:
            continue
        accuracies = [member.get("test_accuracy") or 0.0 for member in members]
        label = f"group {name} · n={len(members)} · mean {_accuracy(members)}"
        groups.append((-float(np.mean(accuracies)),
                       Side(GROUP_PREFIX + name, name, tuple(member["run_id"] for member in members), label)))
    groups.sort(key=lambda pair: pair[0])
    for run_id, record in records.items():
        detail = _accuracy([record])
        runs.append(Side(run_id, run_id, (run_id,), f"{run_id} · {record.get('model', '?')} · {detail}"))
    return {side.key: side for side in [side for _, side in groups] + runs}


def default_pair(sides: Mapping[str, Side]) -> tuple[str, str]:
    """Keys of the default A (baseline) and B (challenger): the first two sides in order that share no run."""
    ordered = list(sides.values())
    for position, side_b in enumerate(ordered):
        for side_a in ordered[position + 1:]:
            if not overlap(side_a, side_b):
                return side_a.key, side_b.key
    raise ValueError("Comparing needs two finished runs.")


def overlap(side_a: Side, side_b: Side) -> list[str]:
    """Run ids on both sides (a run and its own group, say): such a pair cannot be compared."""
    return sorted(set(side_a.run_ids) & set(side_b.run_ids))
