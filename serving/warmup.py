"""Warm Classify up in the background, so the first answer after a server start is not a 20-second wait.

The first image classified by a fresh server pays for importing TensorFlow and
Keras, loading (and SHA-256 checking) each model and tracing each model's
inference function. ``start_warmup`` does all of that once per process, in a
daemon thread, through the very callables Classify uses (the frame passes the
dashboard's cached model loader), so Classify then finds everything ready. A
model still loading when Classify asks for it is not loaded twice: the cache
makes Classify wait for the warm-up's copy.

No Streamlit import here; the frame (``dashboard/app.py``) starts it after the
first page has been drawn, so that page never waits for TensorFlow.

Usage::

    from serving.warmup import start_warmup
    start_warmup(["run-a", "run-b"], load_model=lambda run_id: cached_model(run_id))
    warmup_report().finished   # True once every model answered a blank image
"""

from __future__ import annotations

import importlib
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

# How the server log says the warm-up is over (bench/load.py waits for it before measuring).
FINISHED_LINE_PREFIX = "Classify warm-up finished"

# A single upload is a batch of one; a few uploads are a batch of several, which
# (reduce_retracing) needs one more, shape-relaxed trace. Warm both.
WARM_BATCH_SIZES = (1, 2)


@dataclass
class WarmupReport:
    """What the warm-up did: per-run seconds, refusals, and when it finished (``time.monotonic``)."""

    run_ids: list[str] = field(default_factory=list)
    seconds_by_run: dict[str, float] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    started_at: float | None = None
    finished_at: float | None = None

    @property
    def finished(self) -> bool:
        """Whether every run was warmed or refused."""
        return self.finished_at is not None

    def summary(self) -> str:
        """One line for the server log: how many models are ready, how many were refused, how long it took."""
        took = (self.finished_at or time.monotonic()) - (self.started_at or time.monotonic())
        return (f"{FINISHED_LINE_PREFIX}: {len(self.seconds_by_run)} of {len(self.run_ids)} models ready, "
                f"{len(self.failed)} refused, in {took:.1f} s")


def warm_models(run_ids: Sequence[str], load_model: Callable[[str], object], modules: Iterable[str] = (),
                report: WarmupReport | None = None) -> WarmupReport:
    """Import ``modules``, then load each run's model and classify a blank image with it, in order.

    Runs synchronously (``start_warmup`` calls it in a thread). A model that cannot be
    loaded is recorded in ``report.failed`` with its reason and skipped: Classify will
    show that reason itself when asked.
    """
    report = report or WarmupReport()
    report.run_ids = list(run_ids)
    report.started_at = time.monotonic()
    try:
        for module in modules:
            importlib.import_module(module)
        from serving.models import model_input_size
        from serving.predict import predict_probs, to_model_input

        blank = np.zeros((32, 32, 3), dtype=np.uint8)
        for run_id in run_ids:
            started = time.monotonic()
            try:
                model = load_model(run_id)
                side = model_input_size(model)
                one = to_model_input(blank, side)  # also traces the 224-pixel resize of 32-pixel inputs
                for size in WARM_BATCH_SIZES:
                    predict_probs(model, np.stack([one] * size))
            except Exception as error:  # any refusal: Classify reports it in its own words
                report.failed[run_id] = f"{type(error).__name__}: {error}"
                continue
            report.seconds_by_run[run_id] = time.monotonic() - started
    finally:
        report.finished_at = time.monotonic()
    return report


_REPORT: WarmupReport | None = None
_LOCK = threading.Lock()


def start_warmup(run_ids: Sequence[str], load_model: Callable[[str], object], modules: Iterable[str] = (),
                 delay_seconds: float = 0.0, then: Callable[[], None] | None = None) -> bool:
    """Start ``warm_models`` in a daemon thread after ``delay_seconds``, once per process; return whether this call started it.

    ``then`` runs in that thread once the warm-up is over (the frame freezes the loaded objects for the collector).

    The delay lets the page that triggered the warm-up reach its browser first: importing
    TensorFlow holds the interpreter for seconds, and the server's event loop that streams
    the page waits meanwhile (500 runs: Overview's first visit 8.1 s with no delay, 4.4 s
    with no warm-up).
    """
    global _REPORT
    with _LOCK:
        if _REPORT is not None:
            return False
        _REPORT = WarmupReport(run_ids=list(run_ids))  # the plan is known at once, the work comes after the delay

        def delayed() -> None:
            time.sleep(delay_seconds)
            warm_models(list(run_ids), load_model, tuple(modules), _REPORT)
            if then is not None:
                then()
            # To the server's output, i.e. its log: an operator sees when Classify is ready.
            print(_REPORT.summary(), flush=True)

        thread = threading.Thread(target=delayed, name="classify-warmup", daemon=True)
        thread.start()
    return True


def warmup_started() -> bool:
    """Whether this process has started its warm-up (cheap: the frame asks on every rerun)."""
    return _REPORT is not None


def warmup_report() -> WarmupReport | None:
    """The warm-up's report so far, or None before it started."""
    return _REPORT
