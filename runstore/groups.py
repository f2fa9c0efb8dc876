"""Replicate groups: runs of one config that differ only in their seed.

A run's group is the ``group`` field of its ``run.json``; a run without one
(older runs, single runs) is a group of one named by its run id. Nothing here
imports TensorFlow or Streamlit.

Usage::

    from runstore.groups import group_of, group_runs
    groups = group_runs(records)            # {"simple_cnn-b3": [record, record, record], "old-run": [record]}
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping


def group_of(record: Mapping) -> str:
    """The group a run record belongs to: its ``group``, else its ``run_id`` (a group of one)."""
    group = record.get("group")
    if group:
        return str(group)
    run_id = record.get("run_id")
    if not run_id:
        raise ValueError("A run record without 'group' needs a 'run_id' to name its group of one.")
    return str(run_id)


def group_runs(records: Iterable[Mapping]) -> dict[str, list]:
    """Records by group, groups in order of their first member and members in the order given."""
    groups: dict[str, list] = {}
    for record in records:
        groups.setdefault(group_of(record), []).append(record)
    return groups
