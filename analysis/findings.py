"""Findings in plain words: one sentence per comparison or suite question, the same on every page, the report and the CLI.

Every sentence follows the lab's rule for stating a result: the estimate, its
95% interval, n seeds on each side, the budget it holds for, and "no detectable
difference at this budget" when the interval covers zero (never "slightly better").

Usage::

    from analysis.findings import difference_sentence, shared_budget_text, spread_sentence
    result = compare_groups(...)                          # analysis.replicates
    infos = infos_a + infos_b                             # runstore RunInfo
    print(difference_sentence(result, shared_budget_text(infos, read_images_seen(infos))))

    # A recorded suite's questions (runstore.suite_record), each answered in one Finding.
    # No file is read here: the caller reads the suite records, images seen and predictions.
    runs = list_runs(artifacts_dir)
    records, problems = read_suite_records(artifacts_dir)
    asked = runs_asked_about(records, runs)     # only these runs' histories are worth reading
    suites = suite_findings(records, runs, lambda info: read_predictions(info.path), read_images_seen(asked))
    for finding in suites[0].findings:
        print(finding.title, finding.status, finding.sentence, finding.compare_query())

A question's finding is, in this order: skipped (it needs ImageNet weights that
its runs lack), waiting (a run still training, or a group with no finished run),
at chance (fewer than two groups clearly above 10%: those at chance are named,
never ranked), or the verdict: for two groups the Compare page's sentence, for
three or more the ranking with n per group and the best against each other
group. What else differed comes first when the groups differ in more than the
question's one factor (always, for a "recipe" question).
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from analysis.answers import chance_check
from analysis.controlled import comparison_check
from analysis.loading import align_on_common_test_images
from analysis.replicates import GroupDifference, compare_groups
from analysis.sides import GROUP_PREFIX
from analysis.trajectory import budget_sentence, pair_trajectory, still_rising
from runstore.groups import group_of
from runstore.reader import RunInfo
from runstore.status import STATUS_COMPLETE, STATUS_RUNNING


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


# ---------------------------------------------------------------------------
# A suite's questions answered from its runs: one Finding per question.
# ---------------------------------------------------------------------------

STATUS_ANSWERED = "answered"
STATUS_NO_DIFFERENCE = "no difference"
STATUS_AT_CHANCE = "at chance"
STATUS_SKIPPED = "skipped"
STATUS_WAITING = "waiting"
FINDING_STATUSES = (STATUS_ANSWERED, STATUS_NO_DIFFERENCE, STATUS_AT_CHANCE, STATUS_SKIPPED, STATUS_WAITING)
GPU_SUITE_COMMAND = "python -m training suite seed"
IMAGENET_SKIPPED = ("skipped: ImageNet weights are not available here; download them (see README) and run the "
                    "suite again. Runs trained from random weights are not transfer learning, so none is ranked here.")
ASKED_FOR_IMAGENET = ("imagenet", "imagenet_if_available")


@dataclass(frozen=True)
class Finding:
    """One suite question answered in words a stakeholder could repeat, with where to look closer.

    ``compare`` holds the Compare page's side keys ``(A, B)``: the runner-up and
    the best group (``group:<name>``, or the run id of a group with one finished
    run), or None when there is nothing to compare yet.
    """

    title: str
    status: str
    sentence: str
    groups: tuple[str, ...]
    compare: tuple[str, str] | None = None
    note: str | None = None
    budget: str | None = None  # how the answer moved with budget (analysis.trajectory), beside the verdict
    trajectories: tuple = ()   # analysis.trajectory.PairTrajectory per pair, (compare A, B) first

    def compare_query(self) -> dict[str, str] | None:
        """The Compare page's query parameters for this finding (``compare_a``, ``compare_b``), or None."""
        if self.compare is None:
            return None
        return {"compare_a": self.compare[0], "compare_b": self.compare[1]}


@dataclass(frozen=True)
class SuiteFindings:
    """A recorded suite and the finding of each of its questions, in the suite's order."""

    name: str
    description: str
    findings: tuple[Finding, ...]


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def _host_text(records: Sequence[Mapping]) -> str:
    """``this machine`` when every run was trained here, else the host(s) named."""
    hosts = sorted({str(record["host"]) for record in records if record.get("host")})
    if not hosts:
        return ""
    if hosts == [socket.gethostname()]:
        return "this machine"
    return f"host{'s' if len(hosts) > 1 else ''} {', '.join(hosts)}"


def shared_budget_text(infos: Sequence[RunInfo], images_seen: Mapping[str, float | None]) -> str:
    """The budget runs trained at: ``on 5,000 training images × 3 epochs (12,000 images seen), a 600 s time budget, this machine``.

    Ranges (``2,000–5,000``) when the runs differ; images seen (each run's last
    ``images_seen`` by run id, as ``runstore.images_seen.read_images_seen`` reads
    them; a run missing from it counts as unrecorded) only when they differ from
    the training images × epochs, as with shorter epochs or a time budget that
    cut training short.
    """
    records = [info.record or {} for info in infos]
    configs = [record.get("config") or {} for record in records]
    images = _count([(record.get("data") or {}).get("train_images", config.get("train_limit"))
                     for record, config in zip(records, configs)])
    epochs = _count([record.get("epochs_run") for record in records])
    epoch_images = _count([config.get("epoch_images") for config in configs])
    seen = [images_seen.get(info.run_id) for info in infos]
    full_passes = [(record.get("data") or {}).get("train_images", 0) * (record.get("epochs_run") or 0)
                   for record in records]
    parts = []
    if images and epochs:
        size = f" of {epoch_images} images" if epoch_images else ""
        parts.append(f"{images} training images × {epochs} epoch{'' if epochs == '1' else 's'}{size}")
    elif images or epochs:
        parts.append(f"{images} training images" if images else f"{epochs} epochs")
    if any(value is not None and round(value) != whole for value, whole in zip(seen, full_passes)):
        parts[-1:] = [f"{parts[-1]} ({_count(seen)} images seen)"] if parts else [f"{_count(seen)} images seen"]
    budgets = _count([config.get("time_budget_seconds") for config in configs])
    if budgets:
        parts.append(f"a {budgets} s time budget")
    host = _host_text(records)
    if host:
        parts.append(host)
    return "on " + ", ".join(parts) if parts else "at an unrecorded budget"


def _members(groups: Sequence[str], runs: Sequence) -> dict[str, list]:
    members: dict[str, list] = {group: [] for group in groups}
    for info in runs:
        if info.record is not None and group_of(info.record) in members:
            members[group_of(info.record)].append(info)
    return members


def has_imagenet_weights(record: Mapping) -> bool:
    """Whether a run really started from ImageNet weights (not a fallback to random ones)."""
    # A weights_note is only written when the weights differ from what was asked: a fallback.
    return record.get("weights") == "imagenet" and not record.get("weights_note")


def _imagenet_missing(members: Mapping[str, list], training_now: bool) -> bool:
    """Whether a question that needs ImageNet weights cannot be answered with these runs."""
    records = [info.record for infos in members.values() for info in infos]
    for record in records:
        asked = (record.get("config") or {}).get("weights") in ASKED_FOR_IMAGENET or record.get("weights") == "imagenet"
        if asked and not has_imagenet_weights(record):
            return True
    # No run with ImageNet weights, and none on its way: the suite left the transfer runs out.
    return not any(has_imagenet_weights(record) for record in records) and not training_now


def _waiting_sentence(members: Mapping[str, list], training_now: bool, suite: str | None) -> str | None:
    """``Waiting for 2 of 6 runs (...)`` when a group has a run still training or no finished run, else None."""
    total = sum(len(infos) for infos in members.values())
    unfinished = sum(info.status != STATUS_COMPLETE for infos in members.values() for info in infos)
    training = sum(info.status == STATUS_RUNNING for infos in members.values() for info in infos)
    blocked = [group for group, infos in members.items() if not any(info.status == STATUS_COMPLETE for info in infos)]
    if not training and not blocked:
        return None
    details = []
    for group, infos in members.items():
        if not infos:
            details.append(f"{group} has no run yet")
            continue
        counts: dict[str, int] = {}
        for info in infos:
            if info.status != STATUS_COMPLETE:
                counts[info.status] = counts.get(info.status, 0) + 1
        if counts:
            details.append(f"{group}: " + ", ".join(f"{count} {status}" for status, count in counts.items()))
    lead = f"Waiting for {unfinished} of {_plural(total, 'run')}" if total else "Waiting: no run of this question exists yet"
    sentence = f"{lead} ({'; '.join(details)})."
    if not training_now:
        command = f"python -m training suite {suite}" if suite else "the suite"
        sentence += f" Nothing is training now: run `{command}` to train what is missing (finished runs are kept)."
    return sentence


def _chance_clause(group: str, infos: Sequence, reason: str, images_seen: Mapping[str, float | None]) -> str:
    models = sorted({str(info.record.get("model")) for info in infos})
    detail = reason.removeprefix("at chance: ")
    return (f"{group} ({_plural(len(infos), 'run')}) stayed at chance: its {detail}; {' and '.join(models)} "
            f"needs more than this budget ({shared_budget_text(infos, images_seen).removeprefix('on ')}); "
            f"run `{GPU_SUITE_COMMAND}` on a GPU.")


def side_key(group: str, infos: Sequence) -> str:
    """The Compare page's key for a group's finished runs: ``group:<name>``, or the run id of a group of one."""
    return GROUP_PREFIX + group if len(infos) > 1 else infos[0].run_id


def _pair_clause(result: GroupDifference) -> str:
    """``b1 by 6.2 points (95% interval 4.1 to 8.3)`` or, when undetectable, the signed numbers; B is the best group."""
    interval = result.difference
    level = f"{round(interval.confidence * 100)}%"
    if result.detectable:
        return (f"{result.name_a} by {_points(interval.estimate)} points "
                f"({level} interval {_points(interval.lower)} to {_points(interval.upper)})")
    return (f"{result.name_a} ({_signed_points(interval.estimate)} points, {level} interval "
            f"{_signed_points(interval.lower)} to {_signed_points(interval.upper)})")


def _ranking_sentence(order: Sequence[str], means: Mapping[str, float], sizes: Mapping[str, int],
                      results: Mapping[str, GroupDifference], budget: str, images: int) -> str:
    """Three or more groups: the ranking with n, then the best against each other group."""
    best = order[0]
    ranking = ", ".join(f"{group} {means[group]:.1%} (n={sizes[group]})" for group in order)
    sentence = f"Ranked by mean test accuracy: {ranking}, {budget}, on {images:,} test images."
    beaten = [_pair_clause(results[group]) for group in order[1:] if results[group].detectable]
    tied = [_pair_clause(results[group]) for group in order[1:] if not results[group].detectable]
    clauses = []
    if beaten:
        clauses.append(f"{best} beats " + _and(beaten))
    if tied:
        clauses.append(f"no detectable difference at this budget between {best} and " + _or(tied))
    text = "; ".join(clauses)
    # A group name keeps its case; only the words "no detectable..." open with a capital.
    sentence += " " + (text if beaten else "N" + text[1:]) + "."
    singles = [group for group in order if sizes[group] == 1]
    if singles:
        sentence += (f" Seed variation is unknown for {_and(singles)} (a single run), so the intervals involving "
                     f"{'it' if len(singles) == 1 else 'them'} cover test-image sampling only.")
    return sentence


def _and(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _or(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def _what_else_differed(question: Mapping, pairs: Sequence[tuple[Sequence, Sequence, str, str]]) -> str:
    """The controlled-comparison warning to state before the verdict, when the groups differ in more than the question's factor."""
    factor = question.get("factor")
    # A factor may be settings that vary together by design (each optimizer at its own learning rate).
    factor_settings = {part.replace("_", " ") for part in ([factor] if isinstance(factor, str) else factor or [])}
    for infos_a, infos_b, name_a, name_b in pairs:
        check = comparison_check([info.record for info in infos_a], [info.record for info in infos_b], name_a, name_b)
        beyond_factor = [difference for difference in check.differences if difference.setting not in factor_settings]
        # A factor question varies its setting(s) by design; a recipe question varies several.
        if check.warning and (factor == "recipe" or len(beyond_factor) > (0 if len(factor_settings) > 1 else 1)):
            return check.warning + " "
    return ""


Predictions = Callable[[RunInfo], tuple[np.ndarray, np.ndarray]]
Curves = Callable[[RunInfo], "tuple[np.ndarray, np.ndarray] | None"]  # analysis.trajectory.Curve or None


def _budget_trajectory(pairs: Sequence[tuple[str, str]], members: Mapping[str, Sequence[RunInfo]],
                       curves: Curves | None, suite: str | None) -> tuple[str | None, tuple]:
    """The question's budget sentence and pair trajectories from the members' validation curves (None without curves)."""
    if curves is None:
        return None, ()
    read = {group: [curve for curve in (curves(info) for info in members[group]) if curve is not None]
            for pair in pairs for group in pair}
    if any(not read[group] for pair in pairs for group in pair):
        return None, ()
    training = sum(info.status == STATUS_RUNNING for pair in pairs for group in set(pair) for info in members[group])
    try:
        trajectories = tuple(pair_trajectory(a, read[a], b, read[b], still_training=training) for a, b in pairs)
        return budget_sentence(trajectories, still_rising(read), suite), trajectories
    except ValueError as error:
        return f"How the order moved with budget cannot be said: {error}.", ()


def answer_question(question: Mapping, runs: Sequence[RunInfo], predictions: Predictions,
                    images_seen: Mapping[str, float | None], suite: str | None = None,
                    curves: Curves | None = None) -> Finding:
    """Answer one suite question from ``runs`` (``runstore.list_runs``'s RunInfo list) in one finding.

    ``predictions(info) -> (y_true, probs)`` is the caller's reader (for example
    ``runstore.read_predictions`` of the run folder), called only for the groups
    the question names. ``images_seen`` is each run's last images seen by run id
    (``runstore.images_seen.read_images_seen``). ``suite`` names the suite in the
    "run it again" advice. ``curves(info)`` (optional) gives a run's validation
    curve (``analysis.trajectory.run_curve`` of its history) or None: with it, a
    finding also says how its answer moved with budget (``Finding.budget``).
    """
    groups = tuple(question["groups"])
    title, note = str(question.get("title") or "A question without a title"), question.get("note")
    members = _members(groups, runs)
    training_now = any(info.status == STATUS_RUNNING for info in runs)

    def finding(status: str, sentence: str, compare: tuple[str, str] | None = None) -> Finding:
        return Finding(title, status, sentence, groups, compare, note)

    if question.get("requires") == "imagenet" and _imagenet_missing(members, training_now):
        return finding(STATUS_SKIPPED, IMAGENET_SKIPPED)
    waiting = _waiting_sentence(members, training_now, suite)
    if waiting:
        # So far: the curves of every run with one, finished or still training.
        budget, trajectories = _budget_trajectory([(groups[0], group) for group in groups[1:]], members, curves, suite)
        return Finding(title, STATUS_WAITING, waiting, groups, None, note, budget, trajectories)
    finished = {group: [info for info in members[group] if info.status == STATUS_COMPLETE] for group in groups}
    left_out = [f"{group}: {', '.join(info.run_id for info in members[group] if info.status != STATUS_COMPLETE)}"
                for group in groups if len(finished[group]) < len(members[group])]
    left_out_text = (f" Left out as unfinished: {'; '.join(left_out)}." if left_out else "")
    reasons = {group: chance_check([info.record for info in finished[group]]) for group in groups}
    chance_text = "".join(" " + _chance_clause(group, finished[group], reasons[group], images_seen)
                          for group in groups if reasons[group])
    ranked = [group for group in groups if not reasons[group]]
    if len(ranked) < 2:
        lead = "No group left chance, so nothing is ranked." if not ranked else (
            f"Only {ranked[0]} left chance, so there is nothing to rank it against.")
        return finding(STATUS_AT_CHANCE, lead + chance_text + left_out_text)
    try:
        loaded = {info.run_id: predictions(info) for group in ranked for info in finished[group]}
        y_true, probs_by_run = align_on_common_test_images(loaded)
    except ValueError as error:
        return finding(STATUS_SKIPPED, f"skipped: these runs cannot be compared ({error})")
    accuracy = {run_id: float(np.mean(probs.argmax(axis=1) == y_true)) for run_id, probs in probs_by_run.items()}
    means = {group: sum(accuracy[info.run_id] for info in finished[group]) / len(finished[group]) for group in ranked}
    order = sorted(ranked, key=lambda group: -means[group])
    best = order[0]
    side = {group: {info.run_id: (y_true, probs_by_run[info.run_id]) for info in finished[group]} for group in ranked}
    results = {group: compare_groups(group, side[group], best, side[best]) for group in order[1:]}
    budget = shared_budget_text([info for group in ranked for info in finished[group]], images_seen)
    differed = _what_else_differed(question, [(finished[group], finished[best], group, best) for group in order[1:]])
    if len(order) == 2:
        verdict = difference_sentence(results[order[1]], budget)
    else:
        sizes = {group: len(finished[group]) for group in ranked}
        verdict = _ranking_sentence(order, means, sizes, results, budget, len(y_true))
    status = STATUS_ANSWERED if any(result.detectable for result in results.values()) else STATUS_NO_DIFFERENCE
    compare = (side_key(order[1], finished[order[1]]), side_key(best, finished[best]))
    budget, trajectories = _budget_trajectory([(group, best) for group in order[1:]], finished, curves, suite)
    return Finding(title, status, differed + verdict + chance_text + left_out_text, groups, compare, note,
                   budget, trajectories)


def runs_asked_about(records: Sequence[Mapping], runs: Sequence[RunInfo]) -> list[RunInfo]:
    """The runs in a group some suite question names: the only ones whose images seen a finding states.

    A caller reads images seen (one history file a run) for these alone, so a folder
    of hundreds of runs and no suite record opens no history to draw the Overview.
    """
    named = {group for record in records for question in record["questions"] for group in question["groups"]}
    return [info for info in runs if info.record is not None and group_of(info.record) in named]


def suite_findings(records: Sequence[Mapping], runs: Sequence[RunInfo], predictions: Predictions,
                   images_seen: Mapping[str, float | None], curves: Curves | None = None) -> list[SuiteFindings]:
    """Every suite record's questions answered from ``runs``, in the records' order.

    ``records`` are the suites as ``runstore.suite_record.read_suite_records`` reads
    them (the caller reports the files it could not read); ``predictions`` and
    ``images_seen`` and ``curves`` as for ``answer_question``.
    """
    answered = []
    for record in records:
        findings = tuple(answer_question(question, runs, predictions, images_seen, suite=record["name"], curves=curves)
                         for question in record["questions"])
        answered.append(SuiteFindings(record["name"], str(record.get("description") or ""), findings))
    return answered
