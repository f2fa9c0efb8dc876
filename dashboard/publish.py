"""Publish chosen runs as a Hugging Face Space (Docker SDK), read-only: ``python -m dashboard publish --out DIR``.

    python -m dashboard publish --out space/                       # every finished run
    python -m dashboard publish --out space/ --runs simple-cnn-a   # chosen runs (or --groups G ..., --suite NAME)
    python -m dashboard publish --out space/ --max-mb 300          # refuse a folder larger than 300 MB

The folder is a complete Space, and equally any container host's build context:

- ``README.md``: the Space's YAML front matter (``sdk: docker``, ``app_port``), then a page for
  visitors: what the models are, the findings (``analysis.findings``' sentences), how it was measured;
- ``Dockerfile``: Python, the pinned CPU-only requirements, read-only on, and the ``CMD`` that serves;
- ``.gitattributes``: models and predictions through Git LFS, as the Hub wants large files;
- ``requirements.txt``: the reading side's pins from this repository's requirements.txt,
  ``tensorflow-cpu`` for ``tensorflow`` (no CUDA wheels in the image);
- the reading side's code (``dashboard/``, ``analysis/``, ``serving/``, ``runstore/``, ``labkeras/``
  whose layers the lab's models name), never ``training/``;
- ``cifar-10-batches-py/test_batch`` when ``--data-dir`` (or ``$CIFAR10_DIR``) has it: the 10,000
  test images (about 30 MB) that Misclassified, Data and Classify's random image show;
- ``artifacts/runs/<run>/``: only the chosen finished runs' run.json, model.keras,
  predictions.npz, validation_predictions.npz, history.csv and model_summary.txt (no backups,
  no TensorBoard logs), and
  ``artifacts/suites/`` records of the suites they belong to (the findings read them).

Nothing is written unless every check passes: unknown runs, groups or suites, a run that has
not finished, an ``--out`` folder that is not empty, or a total above ``--max-mb`` (naming the
biggest runs) are refused with a message. No Streamlit or TensorFlow import here.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from runstore import RunInfo, list_runs, resolve_artifacts_dir
from runstore.groups import group_of
from runstore.cifar import TEST_FILE
from runstore.layout import (HISTORY_FILE, MODEL_FILE, PREDICTIONS_FILE, RUN_FILE, RUNS_DIR, SUMMARY_FILE,
                             VALIDATION_PREDICTIONS_FILE)
from runstore.status import STATUS_COMPLETE
from runstore.suite_record import SUITES_DIR, read_suite_records

REPO_ROOT = Path(__file__).resolve().parents[1]
# The reading side: what the dashboard imports, and labkeras because the lab's models name its layers.
CODE_PACKAGES = ("dashboard", "analysis", "serving", "runstore", "labkeras")
# What a published run keeps: what the pages read to show it (validation predictions calibrate Classify's
# answers, when the run has them). Nothing else leaves the lab: no backups, no TensorBoard logs.
RUN_FILES = (RUN_FILE, MODEL_FILE, PREDICTIONS_FILE, HISTORY_FILE, SUMMARY_FILE, VALIDATION_PREDICTIONS_FILE)
# Pins the reading side needs (tensorflow as its CPU-only wheel); training's extras (ray, tqdm, psutil) stay behind.
READING_REQUIREMENTS = ("tensorflow", "keras", "streamlit", "plotly", "pandas", "numpy", "pillow", "scipy")
CPU_ONLY = {"tensorflow": "tensorflow-cpu"}
APP_PORT = 7860  # the Hub's default app_port for Docker Spaces
PYTHON_IMAGE = "python:3.11-slim"
# A free Space's repository was capped at about 1 GB when this was written, and its disk is
# ephemeral; 1,000 MB leaves the code and requirements room below that. --max-mb changes it.
DEFAULT_MAX_MB = 1000
MEGABYTE = 1024 * 1024
# The command the Space runs, from the folder (the test runs exactly this, on a loopback port).
SERVE_COMMAND = ["python", "-m", "dashboard.serve", "--workers", "1", "--read-only", "--address", "0.0.0.0",
                 "--port", str(APP_PORT), "--artifacts-dir", "artifacts"]
# Environment of the container: read-only twice over, and no __pycache__ written into the folder.
SPACE_ENVIRONMENT = {"LAB_READ_ONLY": "1", "PYTHONDONTWRITEBYTECODE": "1", "ARTIFACTS_DIR": "artifacts",
                     "TF_CPP_MIN_LOG_LEVEL": "2"}


DATA_FOLDER = "cifar-10-batches-py"  # the bundled test images, CIFAR10_DIR in the container


class PublishRefused(ValueError):
    """Publishing refused before anything was written; ``str()`` says why and what to do."""


@dataclass(frozen=True)
class RunSize:
    """One chosen run and the bytes its published files take."""

    run_id: str
    megabytes: float


def choose_runs(runs: list[RunInfo], run_ids: list[str] | None = None, groups: list[str] | None = None,
                suite: str | None = None, suite_names: set[str] | None = None) -> list[RunInfo]:
    """The finished runs to publish: those named, those of the groups or of the suite, else every finished run."""
    by_id = {info.run_id: info for info in runs}
    finished = [info for info in runs if info.status == STATUS_COMPLETE]
    if run_ids:
        unknown = [run_id for run_id in run_ids if run_id not in by_id]
        if unknown:
            raise PublishRefused(f"No run named {', '.join(unknown)} in the artifacts folder. The runs are: "
                                 f"{', '.join(sorted(by_id)) or 'none'}.")
        unfinished = [f"{run_id} ({by_id[run_id].status})" for run_id in run_ids if by_id[run_id].status != STATUS_COMPLETE]
        if unfinished:
            raise PublishRefused(f"Only finished runs can be published; {', '.join(unfinished)} did not finish.")
        return [by_id[run_id] for run_id in dict.fromkeys(run_ids)]
    if groups:
        known = {group_of(info.record or {"run_id": info.run_id}) for info in finished}
        unknown = [group for group in groups if group not in known]
        if unknown:
            raise PublishRefused(f"No finished run in group {', '.join(unknown)}. The groups are: "
                                 f"{', '.join(sorted(known)) or 'none'}.")
        return [info for info in finished if group_of(info.record or {"run_id": info.run_id}) in groups]
    if suite:
        chosen = [info for info in finished if (info.record or {}).get("suite") == suite]
        if not chosen:
            known = sorted({(info.record or {}).get("suite") for info in finished} - {None} | (suite_names or set()))
            raise PublishRefused(f"No finished run of suite {suite!r}. The suites are: {', '.join(known) or 'none'}.")
        return chosen
    if not finished:
        raise PublishRefused("The artifacts folder has no finished run to publish. Train one first "
                             "(python -m training suite demo).")
    return finished


def run_size(info: RunInfo) -> RunSize:
    """The bytes of the files a run publishes."""
    total = sum((info.path / name).stat().st_size for name in RUN_FILES if (info.path / name).is_file())
    return RunSize(info.run_id, total / MEGABYTE)


def code_megabytes() -> float:
    """The reading side's code, as published (no __pycache__)."""
    return sum(path.stat().st_size for package in CODE_PACKAGES for path in (REPO_ROOT / package).rglob("*")
               if path.is_file() and "__pycache__" not in path.parts) / MEGABYTE


def size_report(sizes: list[RunSize], code_mb: float) -> str:
    """The size report: total, code, and every run, biggest first."""
    total = code_mb + sum(size.megabytes for size in sizes)
    lines = [f"Total {total:.1f} MB: code and test images {code_mb:.1f} MB, {len(sizes)} run(s):"]
    lines += [f"  {size.run_id}: {size.megabytes:.2f} MB" for size in sorted(sizes, key=lambda size: -size.megabytes)]
    return "\n".join(lines)


def check_size(sizes: list[RunSize], code_mb: float, max_mb: float) -> float:
    """The total in MB; raises ``PublishRefused`` naming the biggest runs when it is above ``max_mb``."""
    total = code_mb + sum(size.megabytes for size in sizes)
    if total > max_mb:
        biggest = ", ".join(f"{size.run_id} ({size.megabytes:.2f} MB)"
                            for size in sorted(sizes, key=lambda size: -size.megabytes)[:3])
        raise PublishRefused(f"The Space would take {total:.1f} MB, over --max-mb {max_mb:g}. The biggest runs: "
                             f"{biggest}. Leave some out (--runs ...), or raise --max-mb if your Space allows it.")
    return total


def check_out_folder(out: Path) -> None:
    """Refuse an ``--out`` that is a file, or a folder that is not empty (nothing is overwritten)."""
    if out.exists() and not out.is_dir():
        raise PublishRefused(f"--out {out} is a file. Give a new or empty folder.")
    if out.is_dir() and any(out.iterdir()):
        raise PublishRefused(f"--out {out} is not empty. Give a new or empty folder (nothing is overwritten).")


def space_requirements(requirements: Path = REPO_ROOT / "requirements.txt") -> str:
    """The reading side's pins from ``requirements``, CPU-only; raises ``PublishRefused`` when one is missing."""
    pins = {}
    for line in requirements.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            pins[name.strip().lower()] = version.strip()
    missing = [name for name in READING_REQUIREMENTS if name not in pins]
    if missing:
        raise PublishRefused(f"{requirements} pins no {', '.join(missing)}; pin them (name==version) and publish again.")
    lines = ["# The reading side's pins from the lab's requirements.txt (python -m dashboard publish); CPU-only."]
    return "\n".join(lines + [f"{CPU_ONLY.get(name, name)}=={pins[name]}" for name in READING_REQUIREMENTS]) + "\n"


def dockerfile(with_data: bool = False) -> str:
    """The Space's Dockerfile: the user the Hub runs (uid 1000), the requirements, read-only on, the CMD."""
    settings = {**SPACE_ENVIRONMENT, **({"CIFAR10_DIR": DATA_FOLDER} if with_data else {})}
    environment = " \\\n    ".join(f"{name}={value}" for name, value in settings.items())
    command = ", ".join(f'"{part}"' for part in SERVE_COMMAND)
    return f"""# Written by python -m dashboard publish: the lab's dashboard, read-only, over the runs in artifacts/.
FROM {PYTHON_IMAGE}
RUN useradd -m -u 1000 user
USER user
ENV PATH=/home/user/.local/bin:$PATH
WORKDIR /home/user/app
COPY --chown=user requirements.txt requirements.txt
RUN pip install --no-cache-dir --user -r requirements.txt
COPY --chown=user . .
ENV {environment}
EXPOSE {APP_PORT}
CMD [{command}]
"""


GITATTRIBUTES = """*.keras filter=lfs diff=lfs merge=lfs -text
*.npz filter=lfs diff=lfs merge=lfs -text
*.h5 filter=lfs diff=lfs merge=lfs -text
cifar-10-batches-py/* filter=lfs diff=lfs merge=lfs -text
"""


def test_images_file(data_dir: str | Path | None) -> Path | None:
    """The CIFAR-10 ``test_batch`` of ``data_dir`` (else ``$CIFAR10_DIR``), None when neither names one.

    Raises ``PublishRefused`` when a folder is named but has no ``test_batch``.
    """
    folder = data_dir or os.environ.get("CIFAR10_DIR")
    if not folder:
        return None
    path = Path(folder).expanduser() / TEST_FILE
    if not path.is_file():
        raise PublishRefused(f"{folder} has no {TEST_FILE}: give --data-dir a cifar-10-batches-py folder, or leave it "
                             "out (the Space then shows no test images).")
    return path


def copy_code(out: Path) -> None:
    """Copy the reading side's packages into ``out`` (no __pycache__, nothing of training/)."""
    for package in CODE_PACKAGES:
        shutil.copytree(REPO_ROOT / package, out / package, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


def copy_runs(chosen: list[RunInfo], artifacts: Path, out_artifacts: Path) -> list[str]:
    """Copy the chosen runs' published files and their suites' records; return the suites copied."""
    for info in chosen:
        target = out_artifacts / RUNS_DIR / info.path.name
        target.mkdir(parents=True)
        for name in RUN_FILES:
            if (info.path / name).is_file():
                shutil.copy2(info.path / name, target / name)
    suites = sorted({(info.record or {}).get("suite") for info in chosen} - {None})
    for suite in suites:
        record = artifacts / SUITES_DIR / f"{suite}.json"
        if record.is_file():
            (out_artifacts / SUITES_DIR).mkdir(parents=True, exist_ok=True)
            shutil.copy2(record, out_artifacts / SUITES_DIR / record.name)
    return suites


def publish(out: str | Path, artifacts_dir: str | Path | None = None, run_ids: list[str] | None = None,
            groups: list[str] | None = None, suite: str | None = None, max_mb: float = DEFAULT_MAX_MB,
            data_dir: str | Path | None = None) -> str:
    """Write the Space folder ``out``; return the size report. Raises ``PublishRefused`` before writing anything."""
    from dashboard.space_readme import space_readme  # reads the findings: analysis, only once the checks pass

    artifacts = resolve_artifacts_dir(artifacts_dir)
    out = Path(out).expanduser().resolve()
    if sum(bool(choice) for choice in (run_ids, groups, suite)) > 1:
        raise PublishRefused("Choose runs one way: --runs, --groups or --suite.")
    if not (artifacts / RUNS_DIR).is_dir():
        raise PublishRefused(f"{artifacts} has no runs folder. Point --artifacts-dir at the lab's artifacts folder.")
    check_out_folder(out)
    if out.is_relative_to(artifacts):
        raise PublishRefused(f"--out {out} is inside the artifacts folder {artifacts}; choose a folder outside it.")
    records, _ = read_suite_records(artifacts)
    chosen = choose_runs(list_runs(artifacts), run_ids, groups, suite, {record["name"] for record in records})
    sizes = [run_size(info) for info in chosen]
    test_batch = test_images_file(data_dir)
    extra_mb = code_megabytes() + (test_batch.stat().st_size / MEGABYTE if test_batch else 0.0)
    check_size(sizes, extra_mb, max_mb)
    requirements = space_requirements()
    # Built beside --out and renamed into place: a failure halfway leaves no half-made Space.
    out.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        copy_code(building)
        copy_runs(chosen, artifacts, building / "artifacts")
        (building / "requirements.txt").write_text(requirements)
        if test_batch:
            (building / DATA_FOLDER).mkdir()
            shutil.copy2(test_batch, building / DATA_FOLDER / TEST_FILE)
        (building / "Dockerfile").write_text(dockerfile(with_data=test_batch is not None))
        (building / ".gitattributes").write_text(GITATTRIBUTES)
        (building / "README.md").write_text(space_readme(building / "artifacts", APP_PORT), encoding="utf-8")
        building.chmod(0o755)  # mkdtemp's 0700 would keep the container's user out
        if out.is_dir():
            out.rmdir()  # empty, checked above
        building.rename(out)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    return size_report(sizes, extra_mb)


def main(argv: list[str] | None = None, prog: str = "python -m dashboard publish") -> int:
    """The ``publish`` command line; return the exit status."""
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="the Space folder to write (new or empty)")
    parser.add_argument("--artifacts-dir", help="artifacts folder (default: $ARTIFACTS_DIR or ./artifacts)")
    chosen = parser.add_mutually_exclusive_group()
    chosen.add_argument("--runs", nargs="+", metavar="RUN", help="the runs to publish (default: every finished run)")
    chosen.add_argument("--groups", nargs="+", metavar="GROUP", help="publish every finished run of these groups")
    chosen.add_argument("--suite", metavar="NAME", help="publish every finished run of this suite")
    parser.add_argument("--data-dir", help="a cifar-10-batches-py folder whose test images the Space bundles "
                        "(default: $CIFAR10_DIR; none: no test images shown)")
    parser.add_argument("--max-mb", type=float, default=DEFAULT_MAX_MB,
                        help=f"refuse a Space larger than this (default {DEFAULT_MAX_MB} MB, below a free Space's storage)")
    arguments = parser.parse_args(argv)
    try:
        report = publish(arguments.out, arguments.artifacts_dir, arguments.runs, arguments.groups, arguments.suite,
                         arguments.max_mb, arguments.data_dir)
    except PublishRefused as refusal:
        print(f"Not published: {refusal}", file=sys.stderr)
        return 1
    print(f"Wrote the Space to {Path(arguments.out).resolve()}.\n{report}\n"
          "Push it to a Space with the Docker SDK (git lfs install; git push), or build it with docker build.")
    return 0
