"""Is A vs B a controlled comparison? The settings two runs (or groups) differ in, before any verdict.

A test of "B beats A" says which is better *here*; it says *why* only when A and
B differ in one setting at an equal data budget, on the same test images, from
the same starting weights. This module lists what differs and says so first.

Usage::

    from analysis.controlled import comparison_check
    check = comparison_check([record_a], [record_b1, record_b2])   # run records (run.json), a side each
    check.table       # DataFrame: setting, A, B (differing settings only)
    check.warning     # "Not a controlled comparison: ..." or None

Never compared: seed, run id, paths, suite, group, timings and results.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import pandas as pd


def _config(record: Mapping) -> Mapping:
    return record.get("config") or {}


def _data(record: Mapping) -> Mapping:
    return record.get("data") or {}


def _augmentation(record: Mapping) -> str | None:
    config = _config(record)
    if "augment" not in config:
        return None
    return config.get("augmentation", "standard") if config["augment"] else "off"


def _tta(record: Mapping) -> str | None:
    config = _config(record)
    if "tta_flip" not in config and "tta_translate" not in config:
        return None
    kinds = [name for key, name in (("tta_flip", "flip"), ("tta_translate", "translate")) if config.get(key)]
    return " + ".join(kinds) or "off"


# (setting, how to read it from run.json, whether a difference is a budget/data/weights difference
# that on its own makes the comparison uncontrolled). The order is the order of the table.
SETTINGS: tuple[tuple[str, Callable[[Mapping], object], bool], ...] = (
    ("model", lambda record: record.get("model"), False),
    ("blocks", lambda record: _config(record).get("blocks"), False),
    ("optimizer", lambda record: record.get("optimizer"), False),
    ("learning rate", lambda record: record.get("learning_rate"), False),
    ("batch size", lambda record: _config(record).get("batch_size"), False),
    ("schedule", lambda record: _config(record).get("lr_schedule"), False),
    ("weight decay", lambda record: _config(record).get("weight_decay"), False),
    ("lookahead", lambda record: _config(record).get("lookahead"), False),
    ("label smoothing", lambda record: _config(record).get("label_smoothing"), False),
    ("augmentation", _augmentation, False),
    ("test-time augmentation", _tta, False),
    ("weights", lambda record: record.get("weights"), True),
    ("training images", lambda record: _data(record).get("train_images", _config(record).get("train_limit")), True),
    ("validation size", lambda record: _data(record).get("validation_images", _config(record).get("validation_size")), True),
    ("planned epochs", lambda record: _config(record).get("epochs"), True),
    ("time budget (s)", lambda record: _config(record).get("time_budget_seconds"), True),
    ("data set", lambda record: (_data(record).get("sha256") or "")[:12] or None, True),
    ("test images evaluated", lambda record: _data(record).get("test_images", record.get("test_limit")), True),
)
# Shown when they differ, but an outcome of training rather than a setting (early stopping ends runs at
# different epochs even within one config), so never counted as a difference.
OUTCOMES: tuple[tuple[str, Callable[[Mapping], object]], ...] = (
    ("epochs run", lambda record: record.get("epochs_run")),
)


def format_value(value) -> str:
    """A setting's value as the table shows it: thousands separators, 'none' for missing."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.0f}" if value.is_integer() and abs(value) >= 1000 else f"{value:g}"
    return str(value)


def side_value(records: Sequence[Mapping], read: Callable[[Mapping], object]) -> str:
    """One side's value: the members' common value, or 'varies: x, y' when replicates disagree."""
    values = []
    for record in records:
        text = format_value(read(record))
        if text not in values:
            values.append(text)
    return values[0] if len(values) == 1 else "varies: " + ", ".join(values)


@dataclass(frozen=True)
class SettingDifference:
    """One setting A and B differ in, with each side's value as shown."""

    setting: str
    value_a: str
    value_b: str
    budget: bool  # a data budget, test subset or weights difference

    def phrase(self) -> str:
        """``training images (5,000 vs 10,000)``."""
        return f"{self.setting} ({self.value_a} vs {self.value_b})"


@dataclass(frozen=True)
class ControlledCheck:
    """What differs between A and B, and the warning to show before any verdict (None when controlled)."""

    differences: tuple[SettingDifference, ...]
    table: pd.DataFrame
    warning: str | None
    summary: str


def _and_list(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def comparison_check(records_a: Sequence[Mapping], records_b: Sequence[Mapping],
                     name_a: str = "A", name_b: str = "B") -> ControlledCheck:
    """Compare the settings of two sides (each a run record or a group's records).

    The warning comes when the sides differ in more than one setting, or in a
    data budget, test subset or weights setting, and names every differing
    setting with both values.
    """
    records_a, records_b = _as_side(records_a, name_a), _as_side(records_b, name_b)
    differences, rows = [], []
    for setting, read, budget in SETTINGS:
        value_a, value_b = side_value(records_a, read), side_value(records_b, read)
        if value_a != value_b:
            differences.append(SettingDifference(setting, value_a, value_b, budget))
            rows.append({"setting": setting, name_a: value_a, name_b: value_b})
    for setting, read in OUTCOMES:
        value_a, value_b = side_value(records_a, read), side_value(records_b, read)
        if value_a != value_b:
            rows.append({"setting": f"{setting} (an outcome, not counted)", name_a: value_a, name_b: value_b})
    table = pd.DataFrame(rows, columns=["setting", name_a, name_b])
    phrases = [difference.phrase() for difference in differences]
    if not differences:
        return ControlledCheck((), table, None, f"{name_a} and {name_b} share every recorded setting but the seed.")
    uncontrolled = len(differences) > 1 or any(difference.budget for difference in differences)
    warning = None
    if uncontrolled:
        warning = (f"Not a controlled comparison: these runs differ in {_and_list(phrases)}, "
                   "so the test says which is better here, not why.")
    summary = (warning or f"A controlled comparison: {name_a} and {name_b} differ only in {phrases[0]}, "
               "at the same data budget, on the same test images, from the same weights.")
    return ControlledCheck(tuple(differences), table, warning, summary)


def _as_side(records, name: str) -> list[Mapping]:
    if isinstance(records, Mapping):
        records = [records]
    records = list(records)
    if not records:
        raise ValueError(f"Side {name} has no runs: pick a run or a group for it.")
    return records


def group_member_warning(records: Sequence[Mapping], group: str) -> str | None:
    """A warning when a group's members differ in anything but their seed (None when they are true replicates)."""
    records = _as_side(records, group)
    varied = [f"{setting} ({side_value(records, read)[len('varies: '):]})"
              for setting, read, _ in SETTINGS if side_value(records, read).startswith("varies: ")]
    if not varied:
        return None
    return (f"Group {group} is not a set of replicates: its runs differ in {_and_list(varied)}, not only in "
            "their seed, so its spread is not seed-to-seed variation.")
