"""Several models' answers for one image: a table and the majority."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis.validation import check_probabilities


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
