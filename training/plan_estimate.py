"""How long a suite's runs will take on this machine, from the speed probes (``training.speed_probe``).

Each run's estimate is arithmetic on the probe's figures, following what a run does:

* once: build and compile, the first steps' tracing, the first validation and
  test prediction's tracing, and the final ``model.keras`` save;
* a transfer model trained on cached features first fills the cache: the frozen
  base's forward pass over its training (and mirrored) and validation images,
  unless an earlier run of the suite with the same frozen ImageNet base and
  split filled it already;
* training: images seen (epochs x images per epoch) / steady-state images/s;
* every evaluation point: the validation pass plus the epoch backup and checkpoint;
* a time budget caps training and validation together at the budget;
* last, the test predictions, times the test-time augmentation views.

The suite's total adds the start of TensorFlow (measured in the probe's child
process) and is set against the suite's stated time (``stated_minutes``).
Estimates assume one run after another on this machine and the load it had
while probing; early stopping can only make a run shorter.

Usage::

    from training.plan_estimate import estimate_suite, summary_lines
    estimates = estimate_suite(suite, figures)      # figures: training.speed_probe.probe_figures(...)
    print("\\n".join(summary_lines(suite, estimates)))
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from training.speed_probe import ProbeKey, describe_machine, machine

CIFAR10_TRAIN_IMAGES = 50_000
CIFAR10_TEST_IMAGES = 10_000
FEATURE_CACHE_WEIGHTS = "imagenet"  # a frozen ImageNet base gives the same features in every run; a random one does not


@dataclass(frozen=True)
class RunEstimate:
    """What one run will do and about how long it takes here."""

    run_id: str
    train_images: int        # distinct training images the run draws from
    images_seen: int         # training images it will see (for a time budget: about, at the probed speed)
    passes: float            # images_seen / train_images
    evaluations: int         # validation passes, one per (short) epoch
    seconds: float | None    # None when the model could not be probed
    budget_limited: bool = False  # the time budget, not the epochs, ends training
    may_stop_early: bool = False  # early stopping could end it before its last epoch


def train_images_of(config) -> int:
    """The training images a run draws from: CIFAR-10's 50,000 less its validation set, or its train_limit."""
    available = CIFAR10_TRAIN_IMAGES - config.validation_size
    return available if config.train_limit is None else min(config.train_limit, available)


def test_views(config) -> int:
    """Predictions per test image: 1, 2 with flip TTA, times 3 with translation TTA (two shifts)."""
    return (2 if config.tta_flip else 1) * (3 if config.tta_translate else 1)


def estimate_run(config, figures: dict | None, features_cached: bool = False) -> RunEstimate:
    """``config``'s images, passes, evaluations and estimated seconds from its probe's ``figures``."""
    train_images = train_images_of(config)
    if config.epoch_images is None:
        epoch_images = train_images
    else:
        epoch_images = math.ceil(config.epoch_images / config.batch_size) * config.batch_size
    evaluations = config.epochs
    images_seen = evaluations * epoch_images
    may_stop_early = config.early_stopping_patience < config.epochs
    if figures is None:
        return RunEstimate(config.run_id, train_images, images_seen, images_seen / train_images, evaluations, None,
                           budget_limited=False, may_stop_early=may_stop_early)
    test_images = CIFAR10_TEST_IMAGES if config.test_limit is None else min(config.test_limit, CIFAR10_TEST_IMAGES)
    epoch_seconds = epoch_images / figures["train_images_per_second"]
    evaluation_seconds = config.validation_size / figures["eval_images_per_second"] + figures["epoch_write_seconds"]
    loop_seconds = evaluations * (epoch_seconds + evaluation_seconds)
    budget_limited = bool(config.time_budget_seconds) and loop_seconds > config.time_budget_seconds
    if budget_limited:
        loop_seconds = config.time_budget_seconds
        evaluations = max(1, math.ceil(loop_seconds / (epoch_seconds + evaluation_seconds)))
        images_seen = int(loop_seconds / (epoch_seconds + evaluation_seconds) * epoch_images)
    fixed = (figures["build_seconds"] + figures["first_steps_seconds"] + figures["eval_first_seconds"]
             + figures["predict_first_seconds"] + figures["save_seconds"])
    views = test_views(config)
    fill = 0.0
    if ProbeKey.of(config).head_only and figures.get("base_images_per_second"):
        base_images = train_images * (2 if config.augment else 1) + config.validation_size
        test_base_images = test_images * (2 if config.tta_flip else 1)
        fill = (0 if features_cached else base_images + test_base_images) / figures["base_images_per_second"]
        views = 2 if config.tta_flip else 1
    test_seconds = test_images * views / figures["predict_images_per_second"]
    seconds = fixed + fill + loop_seconds + test_seconds
    return RunEstimate(config.run_id, train_images, images_seen, images_seen / train_images, evaluations, seconds,
                       budget_limited, may_stop_early and not budget_limited)


def estimate_suite(suite, figures: dict[ProbeKey, dict]) -> dict[str, RunEstimate]:
    """Every run's estimate by run id; a feature cache an earlier run filled is reused, as it is when training."""
    filled: set[tuple] = set()
    estimates = {}
    for config in suite.runs:
        key = ProbeKey.of(config)
        cached = False
        if key.head_only and config.weights == FEATURE_CACHE_WEIGHTS:
            split = (config.model, config.validation_size, config.split_seed, config.train_limit, config.test_limit, config.augment)
            cached = split in filled
            filled.add(split)
        estimates[config.run_id] = estimate_run(config, figures.get(key), cached)
    return estimates


def format_duration(seconds: float) -> str:
    """``45 s``, ``12 min``, ``1 h 05 min``, ``3.2 days``."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    minutes = seconds / 60
    if minutes < 60:
        return f"{minutes:.0f} min"
    if minutes < 48 * 60:
        return f"{int(minutes // 60)} h {int(round(minutes % 60)):02d} min"
    return f"{minutes / 1440:.1f} days"


def probe_note(figures: dict, cache_file) -> str:
    """Where the probes are kept, when they were measured and at what load, and how to measure again."""
    when = sorted(entry["measured_at"] for entry in figures.values() if entry.get("measured_at"))
    loads = sorted(entry["load_average"] for entry in figures.values() if isinstance(entry.get("load_average"), (int, float)))
    measured = f", measured {when[0]}" + (f" to {when[-1]}" if when[-1] != when[0] else "") if when else ""
    load = f" at load average {loads[0]:g}" + (f" to {loads[-1]:g}" if loads[-1] != loads[0] else "") if loads else ""
    return f"Speed probes: {cache_file}{measured}{load}; delete that file to measure again (on an idle machine the estimate is truer)."


def summary_lines(suite, estimates: dict[str, RunEstimate], start_seconds: float = 0.0, about: dict | None = None) -> list[str]:
    """The total against the suite's stated time, in sentences; plainly over when it is over."""
    known = [estimate.seconds for estimate in estimates.values() if estimate.seconds is not None]
    unknown = [run_id for run_id, estimate in estimates.items() if estimate.seconds is None]
    if not known:
        return ["No time estimate: no model of this plan could be probed on this machine."]
    total = start_seconds + sum(known)
    about = about or machine()
    where = describe_machine(about)
    lines = [f"Estimated time here: {format_duration(total)} for {len(known)} run(s), one after another "
             f"({where}; from a short measured probe of each model, at this machine's load while probing)."]
    if unknown:
        lines.append(f"Not in the estimate (their model could not be probed): {', '.join(unknown)}.")
    if any(estimate.may_stop_early for estimate in estimates.values()):
        lines.append("Early stopping can end some runs sooner: for them the estimate is the most they take.")
    stated = getattr(suite, "stated_minutes", None)
    if getattr(suite, "meant_for", "cpu") == "gpu" and not about["gpus"]:
        lines.append(f"This suite is meant for a GPU; this machine has none, and here it would take about {format_duration(total)}.")
    if stated:
        if total > stated * 60:
            over = total - stated * 60
            lines.append(f"OVER its stated time: about {format_duration(total)} against the stated {stated:g} min "
                         f"({format_duration(over)} over, {total / (stated * 60):.1f}x).")
        else:
            lines.append(f"Within its stated {stated:g} min ({total / (stated * 60):.0%} of it).")
    return lines
