"""The Overview's model card in plain words, for a run of any source: trained by the lab,
logged with ``LabCallback`` in a user's own ``fit``, or imported from a model file.

Pure functions of a run's ``run.json`` record. An imported run may leave fields
empty (schema 2: ``learning_rate``, ``best_epoch``, ``train_seconds`` are null
when the file did not say them); the card then leaves those facts out rather
than show a made-up number, and a run imported without a history says it has
no curves instead of describing callbacks that never ran.

Usage::

    from analysis.model_card import card_events, optimizer_text, preprocessing_text, source_text
    source_text(record)        # "imported from notebook.keras (SHA-256 833a92a5b6fb…)"
    optimizer_text(record)     # "adam at learning rate 0.05", or None when the file did not say
"""

from __future__ import annotations

from collections.abc import Mapping

from analysis.leaderboard import callback_events
from runstore.preprocessing import PREPROCESSING_MODES, run_preprocessing
from runstore.schema import SOURCE_CALLBACK, SOURCE_IMPORTED

NO_CURVES = "no curves: imported without a history"
UNKNOWN_OPTIMIZER = "unknown"


def has_curves(record: Mapping) -> bool:
    """Whether the run recorded per-epoch curves (False only for an import without ``--history``)."""
    return record.get("has_curves", True) is not False


def source_text(record: Mapping) -> str:
    """Where the run came from: imported from a file (name and SHA-256 prefix), logged with LabCallback, or trained by the lab."""
    source = record.get("source")
    if source == SOURCE_IMPORTED:
        name = record.get("source_file") or "a model file"
        digest = record.get("source_sha256")
        return f"imported from {name}" + (f" (SHA-256 {digest[:12]}…)" if digest else "")
    if source == SOURCE_CALLBACK:
        return "logged with LabCallback in the user's own fit"
    return "trained by the lab (python -m training)"


def learning_rate_text(rate) -> str | None:
    """``rate`` with 3 significant digits (a float32 0.05 reads 0.05, not 0.05000000074505806); None when unknown."""
    if rate is None or isinstance(rate, bool):
        return None
    return f"{float(rate):.3g}"


def optimizer_text(record: Mapping) -> str | None:
    """"adam at learning rate 0.001", leaving out what the run did not record; None when it recorded neither."""
    optimizer = record.get("optimizer")
    optimizer = None if optimizer in (None, "", UNKNOWN_OPTIMIZER) else optimizer
    rate = learning_rate_text(record.get("learning_rate"))
    if optimizer and rate:
        return f"{optimizer} at learning rate {rate}"
    if optimizer:
        return f"{optimizer} (learning rate not recorded)"
    return f"learning rate {rate}" if rate else None


def preprocessing_text(record: Mapping) -> str:
    """The recorded preprocessing mode with what it does, e.g. "`unit`: pixels / 255, to 0-1"."""
    mode = run_preprocessing(record)
    return f"`{mode}`: {PREPROCESSING_MODES[mode]}"


def card_events(record: Mapping) -> list[str]:
    """What happened while the run trained, as sentences with 1-based epochs, true to the run's source.

    A lab run's callbacks (``analysis.leaderboard.callback_events``). An imported or
    LabCallback run had no lab callbacks: it says how many epochs its history holds and
    which epoch the saved weights are from, or that it has no curves; never that early
    stopping "did not fire".
    """
    source = record.get("source")
    if source not in (SOURCE_IMPORTED, SOURCE_CALLBACK):
        return callback_events(record)
    if not has_curves(record):
        return [f"{NO_CURVES[0].upper()}{NO_CURVES[1:]}, so there is no best epoch or learning-rate drop to show."]
    epochs_run = int(record.get("epochs_run") or 0)
    if epochs_run == 0:
        return ["No finished epoch recorded yet."]
    kind = "imported history" if source == SOURCE_IMPORTED else "fit logged with LabCallback"
    events = [f"{epochs_run} epoch(s) in the {kind}."]
    best = record.get("best_epoch")
    if best is not None and 0 <= best < epochs_run:
        events.append(f"The saved model holds the weights of epoch {best + 1}, the last one "
                      + ("the file was saved after." if source == SOURCE_IMPORTED else "fit ran."))
    events.extend(f"Learning rate lowered at epoch {epoch + 1}." for epoch in record.get("lr_drop_epochs") or [])
    return events


def configuration_title(record: Mapping) -> str:
    """The heading of the card's configuration section, saying who gave the configuration."""
    source = record.get("source")
    if source == SOURCE_IMPORTED:
        return "Configuration given at import (`--config`), if any"
    if source == SOURCE_CALLBACK:
        return "Configuration given to LabCallback (`config=`)"
    return "Full configuration (as given to `python -m training run`)"
