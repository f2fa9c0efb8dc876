"""The typed configuration of one training run, saved as ``run.json["config"]``.

Every knob of a run lives here with its unit; defaults that depend on the
model come from its registry entry: ``ModelSpec.defaults`` (the study's
optimizer, learning rate, epochs and batch size, the weights, and the model's
own recipe, such as fast_cnn's schedule, smoothing and test-time augmentation). ``RunConfig.from_dict`` is how suites and the CLI build one:
unknown keys and wrong types are rejected with a message that says what is valid.

Usage::

    from training.config import RunConfig
    config = RunConfig.from_dict({"model": "simple_cnn", "blocks": 1, "epochs": 3, "train_limit": 5000})
"""

from __future__ import annotations

import dataclasses
import time
import types
import typing
from dataclasses import dataclass, fields

from training.registry import STUDY_DEFAULTS, ModelSpec, get_spec, model_names, option_models

OPTIMIZERS = ("rmsprop", "adam", "sgd")
STRATEGIES = ("default", "mirrored")
LR_SCHEDULES = ("plateau", "onecycle")
AUGMENTATIONS = ("standard", "light")  # training.pipeline.make_augmenter builds each
# "imagenet_if_available" falls back to random init (with a note in run.json) when the
# ImageNet file is neither in ~/.keras/models nor downloadable: meant for suites.
WEIGHT_CHOICES = ("imagenet", "none", "imagenet_if_available")


class ConfigError(ValueError):
    """A run configuration with an unknown key or a bad value; the message says what is valid."""


REQUIRED = dataclasses.MISSING  # a knob without a default: the caller must give it


def knob(default, help: str, *, flag: str | None | bool = True, aliases: tuple = (), choices: tuple | None = None,
         metavar: str | None = None):
    """A ``RunConfig`` field with what the command line shows of it (``training.cli`` builds its flags from these).

    ``flag``: the flag's name (default ``--field-name``), or None for a field the CLI does not set.
    ``choices``: the valid values, checked by ``RunConfig.validate`` (the one validation) and listed in the help.
    """
    metadata = {"help": help, "flag": flag, "aliases": aliases, "choices": choices, "metavar": metavar}
    if default is REQUIRED:
        return dataclasses.field(metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


@dataclass
class RunConfig:
    """All settings of one training run. ``None`` means "the registry's default" until resolved.

    Each field's help, flag and valid values are here, once: ``training.cli`` makes
    ``python -m training run``'s flags from them, and ``validate`` checks them.
    """

    model: str = knob(REQUIRED, "model to train (python -m training models lists them)", flag="--model")
    optimizer: str | None = knob(None, "optimizer", choices=OPTIMIZERS)
    learning_rate: float | None = knob(None, "initial (or peak, for onecycle) learning rate, e.g. 0.001", flag="--lr",
                                       aliases=("--learning-rate",))
    epochs: int | None = knob(None, "maximum epochs (early stopping may end sooner)")
    epoch_images: int | None = knob(None, "evaluate every N training images (shorter epochs, the data repeating): "
                                          "more points on short runs' curves; default one pass over the data", metavar="N")
    batch_size: int | None = knob(None, "images per batch (global: split across replicas)")
    train_limit: int | None = knob(None, "train on at most this many images (stratified subset); default all")
    validation_size: int = knob(5000, "validation images taken out of the training set")
    test_limit: int | None = knob(None, "evaluate on the first N test images only; default all 10,000")
    seed: int = knob(0, "seed for weight init, shuffling, augmentation and dropout")
    split_seed: int = knob(0, "seed for the validation split and training subset, equal across a group's replicates")
    group: str | None = knob(None, "replicate group name (default: the --run-id with --seeds, else named after the settings)")
    weights: str | None = knob(None, f"{', '.join(WEIGHT_CHOICES)} or a path to a weights file "
                                     "(default: imagenet for transfer models, none otherwise)")
    augment: bool = knob(True, "random augmentation while training (see --augmentation)")
    augmentation: str = knob("standard", "standard: flip, shift, rotation, zoom; light: flip and 2-pixel shift "
                                         "(fast_cnn's recipe)", choices=AUGMENTATIONS)
    run_id: str | None = knob(None, "run folder name (default: <model>-<date>-<time>); the same id resumes an interrupted run")
    artifacts_dir: str | None = knob(None, "where run folders go (default: $ARTIFACTS_DIR or ./artifacts)")
    data_dir: str | None = knob(None, "cifar-10-batches-py folder (default: $CIFAR10_DIR or Keras' cache)")
    strategy: str = knob("default", "default, or mirrored (tf.distribute.MirroredStrategy over local GPUs)", choices=STRATEGIES)
    blocks: int | None = knob(None, "convolutional blocks, for the models that take them (see the registry)")
    lr_schedule: str = knob("plateau", "plateau (ReduceLROnPlateau) or onecycle (warm-up then linear decay)", choices=LR_SCHEDULES)
    label_smoothing: float = knob(0.0, "label smoothing, 0 (plain one-hot targets) to <1")
    tta_flip: bool = knob(False, "average test predictions over each image and its mirror")
    tta_translate: bool = knob(False, "also average test predictions over 1-pixel shifts (pixel models, not cached features)")
    time_budget_seconds: float | None = knob(None, "end training once it has run this long, validation included; a one-cycle "
                                                   "schedule anneals over the budget (fast_cnn's recipe: 885); default no limit",
                                             flag="--time-budget", metavar="SECONDS")
    lookahead: bool = knob(False, "average the weights every 5 steps into a slow copy (training.callbacks.Lookahead)")
    feature_cache: bool = knob(True, "transfer models: cache the frozen base's outputs on disk instead of running it every epoch")
    early_stopping_patience: int = knob(10, "epochs without val_loss improvement before stopping", flag="--patience")
    reduce_lr_patience: int = knob(3, "plateau schedule: epochs without val_loss improvement before lowering the rate")
    reduce_lr_factor: float = knob(0.5, "plateau schedule: new rate = old rate x factor (between 0 and 1)")
    min_learning_rate: float = knob(1e-6, "plateau schedule: the rate never goes below this")
    weight_decay: float = knob(0.0, "decoupled weight decay for adam (AdamW) and sgd; 0 = off")
    suite: str | None = knob(None, "suite name when started by `python -m training suite`", flag=None)

    @classmethod
    def from_dict(cls, values: dict) -> "RunConfig":
        """Build a config from plain values, rejecting unknown keys and wrong types; then resolve defaults."""
        if not isinstance(values, dict):
            raise ConfigError(f"A run configuration must be a mapping, got {type(values).__name__}")
        known = {item.name: item for item in fields(cls)}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ConfigError(f"Unknown config key(s) {', '.join(unknown)}. Valid keys: {', '.join(known)}")
        if "model" not in values:
            raise ConfigError(f"A run configuration needs 'model'. Valid models: {', '.join(model_names())}")
        _check_type("model", values["model"], str)
        try:
            spec = get_spec(values["model"])
        except ValueError as error:
            raise ConfigError(str(error)) from None
        # The model's recipe (fast_cnn's schedule, smoothing, TTA...) fills what the caller left out.
        values = {**spec.recipe, **values}
        hints = typing.get_type_hints(cls)
        for name, value in values.items():
            _check_type(name, value, hints[name])
        config = cls(**values)
        return config.resolved(spec)

    def resolved(self, spec: ModelSpec | None = None) -> "RunConfig":
        """A copy with registry defaults filled in and every value validated (``spec``: the model's entry, if at hand)."""
        spec = spec or get_spec(self.model)  # raises ValueError listing valid models
        config = dataclasses.replace(self)
        # These fields' None means "the model's default"; elsewhere None means off (no time budget) or all.
        for key in (*STUDY_DEFAULTS, "weights", *spec.options):
            if getattr(config, key) is None:
                setattr(config, key, spec.defaults[key])
        # JSON and the CLI may give an int; the record always holds a float.
        config.learning_rate = float(config.learning_rate)
        if config.run_id is None:
            config.run_id = f"{config.model}-{time.strftime('%Y%m%d-%H%M%S')}"
        if config.group is None:
            from training.replicates import group_name

            config.group = group_name(config.to_dict())
        config.validate(spec)
        return config

    def validate(self, spec: ModelSpec | None = None) -> None:
        """Raise ``ConfigError`` naming the first bad value and what would be valid."""
        from runstore.layout import validate_run_id

        spec = spec or get_spec(self.model)
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError(f"Unknown optimizer {self.optimizer!r}. Valid optimizers: {', '.join(OPTIMIZERS)}")
        if not (0 < self.learning_rate <= 10):
            raise ConfigError(f"learning_rate must be a number between 0 (exclusive) and 10, got {self.learning_rate}")
        if self.epochs < 1:
            raise ConfigError(f"epochs must be at least 1, got {self.epochs}")
        if self.epoch_images is not None and self.epoch_images < 1:
            raise ConfigError(f"epoch_images must be at least 1, got {self.epoch_images}")
        if self.batch_size < 1:
            raise ConfigError(f"batch_size must be at least 1, got {self.batch_size}")
        if self.train_limit is not None and self.train_limit < 10:
            raise ConfigError(f"train_limit must be at least 10 images (one per class), got {self.train_limit}")
        if self.test_limit is not None and self.test_limit < 1:
            raise ConfigError(f"test_limit must be at least 1, got {self.test_limit}")
        if self.validation_size < 10:
            raise ConfigError(f"validation_size must be at least 10 images, got {self.validation_size}")
        if self.strategy not in STRATEGIES:
            raise ConfigError(f"Unknown strategy {self.strategy!r}. Valid strategies: {', '.join(STRATEGIES)}")
        if self.augmentation not in AUGMENTATIONS:
            raise ConfigError(f"Unknown augmentation {self.augmentation!r}. Valid augmentations: {', '.join(AUGMENTATIONS)}")
        if self.lr_schedule not in LR_SCHEDULES:
            raise ConfigError(f"Unknown lr_schedule {self.lr_schedule!r}. Valid schedules: {', '.join(LR_SCHEDULES)}")
        if not (0 <= self.label_smoothing < 1):
            raise ConfigError(f"label_smoothing must be in [0, 1), got {self.label_smoothing}")
        if not (0 < self.reduce_lr_factor < 1):
            raise ConfigError(f"reduce_lr_factor must be between 0 and 1, got {self.reduce_lr_factor}")
        if self.early_stopping_patience < 1 or self.reduce_lr_patience < 1:
            raise ConfigError("early_stopping_patience and reduce_lr_patience must be at least 1")
        if self.time_budget_seconds is not None and not (0 < self.time_budget_seconds <= 7 * 24 * 3600):
            raise ConfigError(f"time_budget_seconds must be more than 0 and at most a week (604800), got {self.time_budget_seconds}")
        if self.weight_decay < 0:
            raise ConfigError(f"weight_decay must be 0 or more, got {self.weight_decay}")
        for option in _model_option_fields():
            value = getattr(self, option)
            if value is None:
                continue
            if option not in spec.options:
                raise ConfigError(f"{option} applies to {', '.join(option_models(option))} only, not {self.model}")
            if value not in spec.options[option]:
                raise ConfigError(f"{option} must be one of {', '.join(map(str, spec.options[option]))}, got {value}")
        if self.tta_translate and spec.transfer and self.feature_cache:
            raise ConfigError(
                f"tta_translate shifts test images, but {self.model} is evaluated on cached features of unshifted images. "
                "Add --no-feature-cache, or leave out --tta-translate."
            )
        if not self.weights:
            raise ConfigError(f"weights must be one of {', '.join(WEIGHT_CHOICES)} or a path to a weights file")
        if self.weights != "none" and not spec.transfer:
            raise ConfigError(
                f"{self.model} is trained from scratch and takes --weights none only; "
                "ImageNet weights apply to the transfer models."
            )
        if self.seed < 0 or self.split_seed < 0:
            raise ConfigError(f"seed and split_seed must be 0 or more, got {self.seed} and {self.split_seed}")
        try:
            validate_run_id(self.run_id)
            # Group names appear in URLs and file names too: the run-id alphabet.
            validate_run_id(self.group)
        except ValueError as error:
            raise ConfigError(str(error)) from None

    def to_dict(self) -> dict:
        """Plain JSON-ready values, as saved in ``run.json["config"]``."""
        return dataclasses.asdict(self)


def _model_option_fields() -> list[str]:
    """RunConfig fields that are some registered model's builder option (``blocks``)."""
    return [item.name for item in fields(RunConfig) if option_models(item.name)]


def _check_type(name: str, value, hint) -> None:
    """Raise ``ConfigError`` when ``value`` does not fit the annotation ``hint``."""
    allowed = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    for kind in allowed:
        if kind is type(None) and value is None:
            return
        if kind is bool and isinstance(value, bool):
            return
        # bool is an int subclass in Python; a boolean is never a valid number here.
        if kind is int and isinstance(value, int) and not isinstance(value, bool):
            return
        if kind is float and isinstance(value, (int, float)) and not isinstance(value, bool):
            return
        if kind is str and isinstance(value, str):
            return
    expected = " or ".join("null" if kind is type(None) else kind.__name__ for kind in allowed)
    raise ConfigError(f"Config key {name!r} should be {expected}, got {value!r}")

