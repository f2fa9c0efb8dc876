"""Replicate groups in the stakeholder report: the groups table, group comparisons and the interval wording."""

from __future__ import annotations

import html

import numpy as np
import pytest

from analysis.controlled import comparison_check
from analysis.findings import difference_sentence, shared_budget_text, spread_sentence
from analysis.replicates import compare_groups
from analysis.report import (ReportRun, build_report_html, default_group_comparisons, group_findings, group_pairs,
                             groups_frame, interval_wording)
from runstore.images_seen import read_images_seen
from tests.analysis_fixtures import read_report_runs, write_run_folder

GROUPS = {"wide": (0.80, [11, 12, 13]), "narrow": (0.55, [21, 22, 23])}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two groups of three seeds (differing in learning rate) and one single run."""
    artifacts = tmp_path_factory.mktemp("report-groups")
    for group, (accuracy, seeds) in GROUPS.items():
        for seed in seeds:
            write_run_folder(artifacts, f"{group}-s{seed}", accuracy=accuracy, seed=seed, group=group,
                             learning_rate=0.01 if group == "wide" else 0.001)
    write_run_folder(artifacts, "solo", accuracy=0.6, seed=5)
    return read_report_runs(artifacts)


def _accuracy(run: ReportRun) -> float:
    return float(np.mean(run.predicted == run.y_true))


def test_groups_frame_gives_n_and_the_spread_of_each_group(runs):
    frame = groups_frame(runs).set_index("group")
    assert list(frame.index) == ["wide", "solo", "narrow"]  # best mean first
    wide = [_accuracy(run) for run in runs if run.run_id.startswith("wide")]
    assert frame.loc["wide", "runs"] == 3 and frame.loc["solo", "runs"] == 1
    assert frame.loc["wide", "test accuracy mean"] == pytest.approx(np.mean(wide))
    assert frame.loc["wide", "test accuracy sd"] == pytest.approx(np.std(wide, ddof=1))
    assert frame.loc["wide", "test accuracy min"] == pytest.approx(min(wide))
    assert np.isnan(frame.loc["solo", "test accuracy sd"])


def test_group_findings_say_what_differed_then_the_verdict_with_n(runs):
    assert default_group_comparisons(runs) == [("solo", "wide"), ("narrow", "wide")]
    options, defaults = group_pairs([run.record for run in runs])
    assert options == [("solo", "wide"), ("narrow", "wide"), ("narrow", "solo")] and defaults == default_group_comparisons(runs)
    assert group_pairs([run.record for run in runs if run.run_id in ("solo", "wide-s11")]) == ([], [])
    finding = group_findings(runs, [("narrow", "wide")])[0]
    members = {name: [run for run in runs if run.run_id.startswith(name)] for name in GROUPS}
    result = compare_groups("narrow", {run.run_id: (run.y_true, run.probs) for run in members["narrow"]},
                            "wide", {run.run_id: (run.y_true, run.probs) for run in members["wide"]})
    # The report states the budget in the same words as the findings and Compare.
    infos = [run.info for run in members["narrow"] + members["wide"]]
    assert finding.sentence == difference_sentence(result, shared_budget_text(infos, read_images_seen(infos)))
    assert finding.spread == spread_sentence(result)
    assert "3 seeds each" in finding.sentence and "wide beats narrow" in finding.sentence
    assert finding.check == comparison_check([run.record for run in members["narrow"]],
                                             [run.record for run in members["wide"]], "narrow", "wide").summary
    assert "differ only in learning rate" in finding.check and finding.controlled
    with pytest.raises(ValueError, match="No chosen run belongs to group nope"):
        group_findings(runs, [("nope", "wide")])


def test_report_has_the_groups_section_and_names_its_interval(runs):
    report = html.unescape(build_report_html(runs, group_comparisons=[("narrow", "wide")]))
    assert "<h2>Replicate groups</h2>" in report
    finding = group_findings(runs, [("narrow", "wide")])[0]
    section = report[report.index("<h2>Replicate groups</h2>"):report.index("<h2>Is the difference real?</h2>")]
    assert finding.sentence in section and finding.spread in section
    assert section.index(finding.check) < section.index(finding.sentence)
    assert "95% bootstrap interval" not in report
    assert interval_wording(120) in report and "exact (Clopper–Pearson)" in interval_wording(120)
    assert "bootstrap" in interval_wording(10_000)


def test_report_of_single_runs_says_seed_variation_is_unknown(runs):
    singles = [run for run in runs if run.run_id in ("solo", "wide-s11")]
    report = build_report_html(singles)
    assert "seed-to-seed variation is unknown" in report
