"""A few seconds' measurement of how fast one model trains and evaluates on this machine, cached per machine.

A suite plan (``training.plan_estimate``) turns these figures into each run's
estimated time. One probe builds the model through the same code a run uses
(registry builder, data initialiser, ``compile_for_run``, the run's input
pipeline with its augmentation), then on random pixels measures:

* the build (model, initialiser, compile) and the first steps' extra time
  (tracing), which every run pays once;
* steady-state training images/s at the run's batch size, after a warm-up;
* validation images/s (``evaluate``) and test prediction images/s (``predict``
  at the evaluation batch size), and the first call's tracing of each;
* what an evaluation point writes besides the validation pass: the epoch
  backup (weights and optimizer state) and the best-epoch checkpoint;
* the final ``model.keras`` save;
* for a transfer model trained on cached features: the frozen base's forward
  images/s, which fills the feature cache.

Results are kept in ``<artifacts>/cache/speed-probes.json``, keyed by the
machine (CPU model, cores, GPUs, TensorFlow and Keras versions) and the probe
(model, options, batch size, augmentation, head-only). A cache file that
cannot be read, or an entry that lacks a figure, is ignored and measured
again. Delete the file to measure afresh.

``measure_in_child`` runs the probes in a child process, so the planner's own
process never imports TensorFlow (``python -m training suite NAME --dry-run``
stays light when the cache answers); the child is this module::

    echo '[{"model": "simple_cnn", "options": [["blocks", 1]], "batch_size": 64}]' | python -m training.speed_probe
"""

from __future__ import annotations

import functools
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

from runstore.atomic import atomic_write_json
from runstore.layout import CACHE_DIR

PROBE_FILE = "speed-probes.json"
PROBE_VERSION = 1  # bump when what a probe measures changes: older entries are then measured again
# Figures every cached entry must carry; an entry without one of them is measured again.
FIGURES = ("build_seconds", "first_steps_seconds", "train_images_per_second", "eval_images_per_second",
           "eval_first_seconds", "predict_images_per_second", "predict_first_seconds", "epoch_write_seconds",
           "save_seconds", "base_images_per_second")
WARM_UP_STEPS = 3          # the first includes tracing the training step
TIMED_SECONDS = 2.0        # steady-state steps are timed for about this long...
MIN_TIMED_STEPS, MAX_TIMED_STEPS = 3, 40   # ...but at least / at most this many steps
EVAL_BATCHES = 4           # batches per timed evaluate / predict call
CHILD_TIMEOUT_SECONDS = 600


@dataclass(frozen=True)
class ProbeKey:
    """What decides a run's speed, beside the machine: the model, its options, the batch and the input pipeline."""

    model: str
    options: tuple = ()  # builder options as (name, value) pairs, e.g. (("blocks", 1),): hashable, unlike a dict
    batch_size: int = 64
    augment: bool = True
    augmentation: str = "standard"
    head_only: bool = False  # a transfer model training its head on cached base features

    @classmethod
    def from_json(cls, item: dict) -> "ProbeKey":
        """The key ``asdict`` wrote as JSON (the options' pairs come back as lists)."""
        return cls(**{**item, "options": tuple(tuple(pair) for pair in item.get("options", ()))})

    @classmethod
    def of(cls, config) -> "ProbeKey":
        """The probe a resolved ``RunConfig`` needs (the optimizer and learning rate barely change a step's cost)."""
        from training.registry import get_spec

        spec = get_spec(config.model)
        return cls(config.model, tuple((option, getattr(config, option)) for option in spec.options), config.batch_size,
                   config.augment, config.augmentation, bool(spec.transfer and config.feature_cache))

    def label(self) -> str:
        """``simple_cnn blocks=1 batch=64 augment=standard``: the key's readable form, also its cache key part."""
        options = "".join(f" {name}={value}" for name, value in self.options)
        pipeline = " head-on-cached-features" if self.head_only else f" augment={self.augmentation if self.augment else 'off'}"
        return f"{self.model}{options} batch={self.batch_size}{pipeline}"


# ----------------------------------------------------------------------------- the machine


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or platform.machine() or "unknown CPU"


def _version(package: str) -> str:
    for name in (package, f"{package}-cpu"):
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return "not installed"


def _gpu_names() -> list[str]:
    """NVIDIA GPUs by name from ``nvidia-smi`` (no TensorFlow import); empty on a machine without one."""
    if not shutil.which("nvidia-smi"):
        return []
    try:
        listed = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"], capture_output=True,
                                text=True, timeout=20, check=False)
    except (OSError, subprocess.SubprocessError):
        return []
    return [line.strip() for line in listed.stdout.splitlines() if line.strip()] if listed.returncode == 0 else []


@functools.lru_cache(maxsize=1)
def machine() -> dict:
    """What a probe's figures hold for: CPU model, cores this process may use, GPUs, TensorFlow and Keras versions."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return {"cpu": _cpu_model(), "cores": cores, "gpus": _gpu_names(),
            "tensorflow": _version("tensorflow"), "keras": _version("keras")}


def describe_machine(about: dict | None = None) -> str:
    """``AMD EPYC, 2 cores, no GPU, TensorFlow 2.21.0``."""
    about = about or machine()
    gpus = ", ".join(about["gpus"]) if about["gpus"] else "no GPU"
    return f"{about['cpu']}, {about['cores']} cores, {gpus}, TensorFlow {about['tensorflow']}"


def cache_key(key: ProbeKey, about: dict | None = None) -> str:
    """The cache entry's name: the machine, the probe version and the probe key, readable."""
    about = about or machine()
    gpus = "+".join(about["gpus"]) or "no-gpu"
    return (f"{about['cpu']} | {about['cores']} cores | {gpus} | tensorflow {about['tensorflow']} | keras {about['keras']} | "
            f"probe v{PROBE_VERSION} | {key.label()}")


# ----------------------------------------------------------------------------- the cache


def cache_path(artifacts_dir: str | os.PathLike) -> Path:
    """``<artifacts>/cache/speed-probes.json``."""
    return Path(artifacts_dir) / CACHE_DIR / PROBE_FILE


def read_cache(path: Path) -> dict[str, dict]:
    """The cached entries by key; a missing, unreadable or malformed file reads as empty (it is measured again)."""
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    entries = payload.get("entries") if isinstance(payload, dict) else None
    if not isinstance(entries, dict):
        return {}
    return {name: entry for name, entry in entries.items() if _whole(entry)}


def _whole(entry) -> bool:
    """An entry carrying every figure as a number (a head-only base rate may be None for pixel models)."""
    if not isinstance(entry, dict):
        return False
    for figure in FIGURES:
        value = entry.get(figure)
        if figure == "base_images_per_second" and value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            return False
    return entry["train_images_per_second"] > 0 and entry["eval_images_per_second"] > 0 and entry["predict_images_per_second"] > 0


def write_cache(path: Path, new_entries: dict[str, dict]) -> None:
    """Add ``new_entries`` to the cache file, keeping what another process wrote meanwhile; atomic."""
    entries = {**read_cache(path), **new_entries}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_json(path, {"version": PROBE_VERSION, "entries": entries})
    except OSError as error:
        # A plan still prints without a cache; the next plan measures again.
        print(f"note: could not save the speed probes to {path} ({error}); the next plan measures again", file=sys.stderr)


def probe_figures(keys: list[ProbeKey], artifacts_dir: str | os.PathLike, measure=None, progress=None) -> dict[ProbeKey, dict]:
    """Figures for every key: from the cache where this machine measured it, else measured now (and cached).

    ``measure(keys) -> {key: figures}`` measures the missing ones (default ``measure_in_child``);
    ``progress(text)`` hears what is being measured. A key whose probe failed is absent from the result.
    """
    path = cache_path(artifacts_dir)
    cached = read_cache(path)
    unique = list(dict.fromkeys(keys))
    found = {key: cached[cache_key(key)] for key in unique if cache_key(key) in cached}
    missing = [key for key in unique if key not in found]
    if missing:
        if progress:
            progress(f"Measuring {len(missing)} model(s) on this machine ({describe_machine()}), a few seconds each; "
                     f"cached in {path}: " + "; ".join(key.label() for key in missing))
        measured = (measure or measure_in_child)(missing)
        write_cache(path, {cache_key(key): figures for key, figures in measured.items() if _whole(figures)})
        found.update({key: figures for key, figures in measured.items() if _whole(figures)})
    return found


# ----------------------------------------------------------------------------- measuring


def measure_in_child(keys: list[ProbeKey]) -> dict[ProbeKey, dict]:
    """``measure_here`` in a child Python, so this process never imports TensorFlow; a failed probe is left out."""
    payload = json.dumps([asdict(key) for key in keys])
    try:
        child = subprocess.run([sys.executable, "-m", "training.speed_probe"], input=payload, capture_output=True,
                               text=True, timeout=CHILD_TIMEOUT_SECONDS, check=False,
                               cwd=Path(__file__).resolve().parents[1])
    except subprocess.TimeoutExpired:
        print(f"note: the speed probe took over {CHILD_TIMEOUT_SECONDS} s and was stopped; no estimate", file=sys.stderr)
        return {}
    lines = child.stdout.strip().splitlines()
    if child.returncode != 0 or not lines:
        print(f"note: the speed probe failed (exit {child.returncode}): {child.stderr.strip()[-500:]}", file=sys.stderr)
        return {}
    results = json.loads(lines[-1])
    return {ProbeKey.from_json(item["key"]): item["figures"] for item in results if item.get("figures")}


def measure_here(keys: list[ProbeKey], timed_seconds: float = TIMED_SECONDS) -> dict[ProbeKey, dict]:
    """Probe each key in this process (imports TensorFlow); a key whose probe fails is reported and left out."""
    results = {}
    for key in keys:
        try:
            results[key] = measure_one(key, timed_seconds)
        except Exception as error:  # one model that cannot be probed must not cost the whole plan its estimate
            print(f"note: could not probe {key.label()}: {type(error).__name__}: {error}", file=sys.stderr)
    return results


def _seconds(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def measure_one(key: ProbeKey, timed_seconds: float = TIMED_SECONDS) -> dict:
    """The figures of one probe (see the module docstring), measured on random pixels with the run's own code."""
    import keras
    import numpy as np

    from training.backup import atomic_save_weights, write_epoch_backup
    from training.config import RunConfig
    from training.evaluate import PREDICT_BATCH_SIZE
    from training.models import build_parts, initialise_from_data
    from training.optimization import compile_for_run
    from training.pipeline import make_eval_dataset, make_feature_dataset, make_train_dataset
    from training.registry import get_spec

    spec = get_spec(key.model)
    options = dict(key.options)
    config = RunConfig.from_dict({"model": key.model, **options, "batch_size": key.batch_size, "augment": key.augment,
                                  "augmentation": key.augmentation, "feature_cache": key.head_only, "weights": "none",
                                  "run_id": "speed-probe"})
    batch = config.batch_size
    steps = WARM_UP_STEPS + MAX_TIMED_STEPS
    generator = np.random.default_rng(0)
    pixels = generator.integers(0, 256, size=(batch * min(steps, 8), 32, 32, 3), dtype=np.uint8)
    labels = generator.integers(0, 10, size=len(pixels))
    keras.utils.set_random_seed(0)
    started = time.perf_counter()
    built = build_parts(spec, None, **options)
    initialise_from_data(spec, built, pixels)
    trained = compile_for_run(config, built)
    build_seconds = time.perf_counter() - started

    base_rate = None
    if key.head_only:
        # The feature cache's fill: the frozen base forward over pixels at the cache's batch size (128).
        base_images = pixels[: min(len(pixels), 128)]
        base_data = make_eval_dataset(base_images, None, 128, spec.input_size)
        built.base.predict(base_data, verbose=0)  # traces
        base_rate = len(base_images) / max(_seconds(lambda: built.base.predict(base_data, verbose=0)), 1e-9)
        features = built.base.predict(make_eval_dataset(pixels, None, 128, spec.input_size), verbose=0).astype(np.float32)
        train_data = make_feature_dataset(features, features if key.augment else None, labels, batch, 0, shuffle=True)
        eval_data = make_feature_dataset(features, None, labels, batch, 0, shuffle=False)
        predict_data = eval_data
    else:
        train_data = make_train_dataset(pixels, labels, batch, spec.input_size, key.augment, 0, key.augmentation)
        eval_data = make_eval_dataset(pixels, labels, batch, spec.input_size)
        predict_data = make_eval_dataset(np.concatenate([pixels] * max(1, PREDICT_BATCH_SIZE * 2 // len(pixels))), None,
                                         PREDICT_BATCH_SIZE, spec.input_size)

    clock = _make_step_clock()(WARM_UP_STEPS, timed_seconds)
    fit_started = time.perf_counter()
    trained.fit(train_data.repeat(), steps_per_epoch=steps, epochs=1, callbacks=[clock], verbose=0, shuffle=False)
    step_seconds = clock.steady_step_seconds()
    first_steps_seconds = max(0.0, clock.warm_up_end - fit_started - WARM_UP_STEPS * step_seconds)

    eval_batches = eval_data.take(EVAL_BATCHES).cache()
    eval_images = sum(int(labels_.shape[0]) for _, labels_ in eval_batches)
    eval_first = _seconds(lambda: trained.evaluate(eval_batches, verbose=0))
    eval_steady = min(_seconds(lambda: trained.evaluate(eval_batches, verbose=0)) for _ in range(2))
    predict_model = built.head if key.head_only else built.model
    predict_images = sum(int(images.shape[0]) for images, _ in predict_data)
    predict_first = _seconds(lambda: predict_model.predict(predict_data, verbose=0))
    predict_steady = min(_seconds(lambda: predict_model.predict(predict_data, verbose=0)) for _ in range(2))

    with tempfile.TemporaryDirectory(prefix="speed-probe-") as folder:
        # What every evaluation point writes beside its validation pass: a whole backup and, when it improved, the best weights.
        write_epoch_backup(trained, Path(folder) / "backup", 1)  # the first write creates folders and files
        epoch_write = min(_seconds(lambda: (write_epoch_backup(trained, Path(folder) / "backup", epoch),
                                            atomic_save_weights(trained, Path(folder) / "probe-best.weights.h5")))
                          for epoch in (2, 3))
        save_seconds = _seconds(lambda: built.model.save(Path(folder) / "probe.keras"))
    return {
        "build_seconds": round(build_seconds, 3),
        "first_steps_seconds": round(first_steps_seconds, 3),
        "train_images_per_second": round(batch / step_seconds, 2),
        "timed_steps": clock.timed_steps,
        "eval_images_per_second": round(eval_images / max(eval_steady, 1e-9), 2),
        "eval_first_seconds": round(max(0.0, eval_first - eval_steady), 3),
        "predict_images_per_second": round(predict_images / max(predict_steady, 1e-9), 2),
        "predict_first_seconds": round(max(0.0, predict_first - predict_steady), 3),
        "epoch_write_seconds": round(epoch_write, 3),
        "save_seconds": round(save_seconds, 3),
        "base_images_per_second": None if base_rate is None else round(base_rate, 2),
        "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "load_average": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
    }


@functools.lru_cache(maxsize=1)
def _make_step_clock():
    import keras

    class StepClock(keras.callbacks.Callback):
        """Times training batches after ``warm_up`` of them and stops the fit once ``timed_seconds`` have passed."""

        def __init__(self, warm_up: int, timed_seconds: float):
            super().__init__()
            self.warm_up, self.timed_seconds = warm_up, timed_seconds
            self.batches, self.timed_steps = 0, 0
            self.warm_up_end = self.last = None

        def on_train_batch_end(self, batch, logs=None):
            self.batches += 1
            now = time.perf_counter()
            if self.batches == self.warm_up:
                self.warm_up_end = now
            elif self.batches > self.warm_up:
                self.timed_steps, self.last = self.batches - self.warm_up, now
                if self.timed_steps >= MIN_TIMED_STEPS and now - self.warm_up_end >= self.timed_seconds:
                    self.model.stop_training = True

        def steady_step_seconds(self) -> float:
            if not self.timed_steps:
                raise RuntimeError("the probe's fit ended before any timed step")
            return (self.last - self.warm_up_end) / self.timed_steps

    return StepClock


def main() -> int:
    """The child: probe keys read as JSON from stdin; print one JSON line of results."""
    from training.quiet import start_tensorflow

    keys = [ProbeKey.from_json(item) for item in json.loads(sys.stdin.read() or "[]")]
    started = time.perf_counter()
    start_tensorflow()
    start_seconds = round(time.perf_counter() - started, 3)  # what a suite pays once, before its first run
    measured = {key: {**figures, "tensorflow_start_seconds": start_seconds} for key, figures in measure_here(keys).items()}
    print(json.dumps([{"key": asdict(key), "figures": measured.get(key)} for key in keys]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
