"""Several models' answers for one image: a table, the majority, and a consensus of groups above chance."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.stats import exact_interval
from analysis.validation import check_probabilities
from runstore.groups import group_runs


def answers_table(probs_by_run: dict[str, np.ndarray], class_names: Sequence[str]) -> pd.DataFrame:
    """One row per run: its answer, the answer's probability and the runner-up."""
    rows = []
    for run_id, row in probs_by_run.items():
        row = check_probabilities(np.asarray(row).reshape(1, -1), f"the answer of run {run_id}",
                                  num_classes=len(class_names))[0]
        first, second = np.argsort(-row, kind="stable")[:2]
        rows.append({"run": run_id, "answer": class_names[first], "probability": float(row[first]),
                     "runner-up": f"{class_names[second]} ({row[second]:.0%})"})
    return pd.DataFrame(rows, columns=["run", "answer", "probability", "runner-up"])


def majority(answers: Sequence[str]) -> tuple[str, int]:
    """The most common answer and how many gave it; a tie goes to the answer listed first."""
    if not answers:
        raise ValueError("majority needs at least one answer")
    return Counter(answers).most_common(1)[0]


CHANCE = 0.1  # ten classes


def _test_images(record: Mapping) -> int:
    data = record.get("data") or {}
    return int(data.get("test_images") or record.get("test_limit") or 10_000)


def chance_check(records: Sequence[Mapping]) -> str | None:
    """Why a group cannot vote (None when its test accuracy is clearly above chance).

    The members' right answers are pooled into one exact (Clopper-Pearson)
    interval; a group whose interval reaches 10% is at chance. Pooling treats
    seeds as more test images, which is generous, and fine for this filter: it
    only keeps out models not shown to have learned anything.
    """
    accuracies = [(record.get("test_accuracy"), _test_images(record)) for record in records]
    if any(accuracy is None for accuracy, _ in accuracies):
        return "no test accuracy yet"
    right = int(round(sum(accuracy * count for accuracy, count in accuracies)))
    total = sum(count for _, count in accuracies)
    interval = exact_interval(right, total)
    if interval.lower <= CHANCE:
        return (f"at chance: test accuracy {interval.estimate:.1%} (95% interval {interval.lower:.1%} to "
                f"{interval.upper:.1%}) includes 10%")
    return None


def at_chance(record: Mapping) -> bool:
    """Whether a finished run's test accuracy is not clearly above chance (``chance_check``); False without one yet."""
    return record.get("test_accuracy") is not None and chance_check([record]) is not None


@dataclass(frozen=True)
class Consensus:
    """One vote per group (its members' mean probabilities), from groups clearly above chance only."""

    answer: str | None
    agreeing: int
    votes: pd.DataFrame  # group, runs, answer, probability: the groups that voted
    left_out: dict[str, str]  # group -> why it did not vote
    sentence: str


def consensus(probs_by_run: Mapping[str, np.ndarray], records: Mapping[str, Mapping],
              class_names: Sequence[str]) -> Consensus:
    """The answer most groups give for one image, with how many models and groups it used and which were left out.

    ``probs_by_run`` maps run id to that run's probabilities for the image;
    ``records`` maps run id to its run.json record (for its group and test accuracy).
    """
    missing = [run_id for run_id in probs_by_run if run_id not in records]
    if missing:
        raise ValueError(f"No run record for {', '.join(missing)}: every answering run needs its record.")
    rows = {run_id: check_probabilities(np.asarray(row).reshape(1, -1), f"the answer of run {run_id}",
                                        num_classes=len(class_names))[0]
            for run_id, row in probs_by_run.items()}
    groups = group_runs(records[run_id] for run_id in rows)
    votes, left_out, models = [], {}, 0
    for group, members in groups.items():
        reason = chance_check(members)
        if reason:
            left_out[group] = reason
            continue
        mean = np.mean([rows[member["run_id"]] for member in members], axis=0)
        best = int(np.argmax(mean))
        models += len(members)
        votes.append({"group": group, "runs": len(members), "answer": class_names[best], "probability": float(mean[best])})
    table = pd.DataFrame(votes, columns=["group", "runs", "answer", "probability"])
    left_text = ""
    if left_out:
        left_text = f"; {len(left_out)} left out ({'; '.join(f'{group}: {why}' for group, why in left_out.items())})"
    if table.empty:
        return Consensus(None, 0, table, left_out,
                         f"No consensus: no model is clearly above chance{left_text}.")
    answer, agreeing = majority(table["answer"].tolist())
    sentence = (f"{answer}: {agreeing} of {len(table)} group{'s' if len(table) != 1 else ''} agree "
                f"({models} model{'s' if models != 1 else ''} voted, one vote per group{left_text}).")
    return Consensus(answer, agreeing, table, left_out, sentence)
