"""Several models' answers for one image: a table, the majority, and the groups' vote weighted by test accuracy."""

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


# Groups this far below the best group's test accuracy do not vote: a 24% model has not
# earned a say beside a 78% one, however many seeds it has.
VOTE_MARGIN = 0.15
VOTE_RULE = ("Weighted vote: each replicate group's calibrated probabilities (the mean over its runs) count in "
             "proportion to its test accuracy above chance (accuracy − 10%); groups at chance or more than "
             f"{VOTE_MARGIN * 100:.0f} points below the best group's accuracy do not vote.")


def group_accuracy(records: Sequence[Mapping]) -> float:
    """The mean test accuracy of a group's finished runs."""
    return float(np.mean([record["test_accuracy"] for record in records]))


@dataclass(frozen=True)
class Consensus:
    """The groups' weighted vote (``VOTE_RULE``) for one image, with each group's weight and who was left out."""

    answer: str | None
    probability: float | None  # the weighted mean probability of the answer
    agreeing: int              # voting groups whose own answer is the consensus answer
    votes: pd.DataFrame        # group, runs, test accuracy, weight, answer, probability: the groups that voted
    left_out: dict[str, str]   # group -> why it did not vote
    sentence: str


def consensus(probs_by_run: Mapping[str, np.ndarray], records: Mapping[str, Mapping],
              class_names: Sequence[str]) -> Consensus:
    """The groups' weighted answer for one image (``VOTE_RULE``), with each group's weight and which were left out.

    ``probs_by_run`` maps run id to that run's (calibrated, where the run allows)
    probabilities for the image; ``records`` maps run id to its run.json record (for
    its group and test accuracy).
    """
    missing = [run_id for run_id in probs_by_run if run_id not in records]
    if missing:
        raise ValueError(f"No run record for {', '.join(missing)}: every answering run needs its record.")
    rows = {run_id: check_probabilities(np.asarray(row).reshape(1, -1), f"the answer of run {run_id}",
                                        num_classes=len(class_names))[0]
            for run_id, row in probs_by_run.items()}
    groups = group_runs(records[run_id] for run_id in rows)
    left_out = {group: reason for group, members in groups.items() if (reason := chance_check(members))}
    eligible = {group: members for group, members in groups.items() if group not in left_out}
    accuracies = {group: group_accuracy(members) for group, members in eligible.items()}
    best = max(accuracies.values(), default=None)
    for group, accuracy in accuracies.items():
        if accuracy < best - VOTE_MARGIN:
            left_out[group] = (f"{accuracy:.1%} test accuracy, more than {VOTE_MARGIN * 100:.0f} points below the "
                               f"best group's {best:.1%}")
    voters = {group: members for group, members in eligible.items() if group not in left_out}
    left_text = _left_out_text(left_out, len(left_out) - len(accuracies) + len(voters), best)
    if not voters:
        return Consensus(None, None, 0, pd.DataFrame(columns=VOTE_COLUMNS), left_out,
                         f"No consensus: no model is clearly above chance{left_text}.")
    means = {group: np.mean([rows[member["run_id"]] for member in members], axis=0) for group, members in voters.items()}
    strengths = {group: accuracies[group] - CHANCE for group in voters}
    total = sum(strengths.values())
    combined = sum(means[group] * strengths[group] / total for group in voters)
    winner = int(np.argmax(combined))
    table = pd.DataFrame([{"group": group, "runs": len(members), "test accuracy": accuracies[group],
                           "weight": strengths[group] / total, "answer": class_names[int(np.argmax(means[group]))],
                           "probability": float(means[group].max())} for group, members in voters.items()],
                         columns=VOTE_COLUMNS).sort_values("weight", ascending=False, kind="stable").reset_index(drop=True)
    answer = class_names[winner]
    agreeing = int((table["answer"] == answer).sum())
    models = int(table["runs"].sum())
    sentence = (f"{answer} ({combined[winner]:.0%}): the weighted vote of {len(table)} group{'s' if len(table) != 1 else ''} "
                f"({models} model{'s' if models != 1 else ''}); {agreeing} of {len(table)} answer {answer} on their own"
                f"{left_text}.")
    return Consensus(answer, float(combined[winner]), agreeing, table, left_out, sentence)


VOTE_COLUMNS = ["group", "runs", "test accuracy", "weight", "answer", "probability"]


def _left_out_text(left_out: Mapping[str, str], at_chance_count: int, best: float | None) -> str:
    """"; N left out (...)": each group with its reason when there are a few, else counts by reason."""
    if not left_out:
        return ""
    if len(left_out) <= 3:
        return f"; {len(left_out)} left out ({'; '.join(f'{group}: {why}' for group, why in left_out.items())})"
    reasons = []
    if at_chance_count:
        reasons.append(f"{at_chance_count} at chance")
    if len(left_out) > at_chance_count:
        reasons.append(f"{len(left_out) - at_chance_count} more than {VOTE_MARGIN * 100:.0f} points below the best "
                       f"group's {best:.1%}")
    return f"; {len(left_out)} groups left out ({', '.join(reasons)}: see each model's answer)"
