"""The README.md of a published Space: the Hub's front matter, then a page for visitors (``dashboard.publish``).

What the models are (one row per run), the findings in the same sentences as the
Overview and the report (``analysis.findings``), and how the numbers were measured,
all read from the published folder itself, so the page says what the Space shows.
"""

from __future__ import annotations

from pathlib import Path

from analysis.findings import runs_asked_about, suite_findings
from analysis.trajectory import curve_reader
from runstore import list_runs
from runstore.history import read_history
from runstore.images_seen import read_images_seen
from runstore.predictions import read_predictions
from runstore.status import STATUS_COMPLETE
from runstore.suite_record import read_suite_records

TITLE = "CIFAR-10 model lab"


def front_matter(app_port: int) -> str:
    """The YAML block the Hub reads: a Docker Space answering on ``app_port``."""
    return "\n".join(["---", f"title: {TITLE}", "emoji: 🔬", "colorFrom: blue", "colorTo: green", "sdk: docker",
                      f"app_port: {app_port}", "pinned: false", "short_description: CIFAR-10 models, read-only: "
                      "results, comparisons and a classifier", "---", ""])


def models_table(runs) -> list[str]:
    """One Markdown row per published run: id, model, test accuracy, the images it trained and was tested on."""
    lines = ["| run | model | test accuracy | training images | epochs | test images |",
             "| --- | --- | --- | --- | --- | --- |"]
    for info in runs:
        record = info.record or {}
        data = record.get("data") or {}
        # Runs record their image counts as data.counts (the trainer) or data.train_images/test_images (older runs).
        counts = {"train": data.get("train_images", "?"), "test": data.get("test_images", "?"), **(data.get("counts") or {})}
        accuracy = record.get("test_accuracy")
        shown = f"{accuracy:.1%}" if isinstance(accuracy, (int, float)) else "?"
        lines.append(f"| {info.run_id} | {record.get('model', '?')} | {shown} | {counts.get('train', '?')} | "
                     f"{record.get('epochs_run', '?')} | {counts.get('test', '?')} |")
    return lines


def findings_lines(artifacts: Path, runs) -> list[str]:
    """The suites' findings, one bullet per question (nothing when no suite was published)."""
    records, problems = read_suite_records(artifacts)
    if not records:
        return []
    answered = suite_findings(records, runs, lambda info: read_predictions(info.path),
                              read_images_seen(runs_asked_about(records, runs)),
                              curve_reader(lambda info: read_history(info.path)))
    lines = ["## Findings", ""]
    for suite in answered:
        lines += [f"**{suite.name}** suite" + (f": {suite.description}" if suite.description else ""), ""]
        lines += [f"- **{finding.title}** {finding.sentence}" + (f" {finding.budget}" if finding.budget else "")
                  for finding in suite.findings]
        lines.append("")
    return lines + [f"- {problem}" for problem in problems]


def space_readme(artifacts: Path, app_port: int) -> str:
    """The whole README.md for the published ``artifacts`` folder."""
    runs = [info for info in list_runs(artifacts) if info.status == STATUS_COMPLETE]
    lines = [front_matter(app_port), f"# {TITLE}", "",
             f"A read-only view of {len(runs)} image classifier(s) trained on CIFAR-10 (32×32 photos in 10 classes: "
             "airplane, automobile, bird, cat, deer, dog, frog, horse, ship, truck). Browse their training curves, "
             "confusion matrices and mistakes, compare them, and upload a photo on **Classify** to see what each "
             "model answers (your photo stays in memory and is never stored).", "",
             "## The models", "", *models_table(runs), "", *findings_lines(artifacts, runs),
             "## How the numbers were measured", "",
             "Each run trained on the number of CIFAR-10 training images in its row, for its epochs; a validation "
             "split held out from them chose the best epoch, and the saved model holds that epoch's weights. Test "
             "accuracy is measured once, after training, on CIFAR-10 test images no run saw while training (the "
             "full test set is 10,000). "
             "Differences between runs come with a 95% interval over those test images (and over seeds for "
             "replicate groups); where the interval covers zero the pages say there is no detectable "
             "difference at that budget.", "",
             "This Space was written by `python -m dashboard publish` of the CIFAR-10 model lab: the dashboard's "
             "reading side, these runs' files (model, test predictions, history, run record) and nothing else. It "
             "is read-only: nothing can be added or changed here.", ""]
    return "\n".join(lines)
