"""What ``fit`` reads: raw-pixel pipelines, or a transfer model's cached frozen-base features.

Usage::

    from training.inputs import make_inputs
    inputs = make_inputs(config, spec, built, split, verbose=1)   # inputs.train, inputs.validation, inputs.cache
"""

from __future__ import annotations

from dataclasses import dataclass

import tensorflow as tf

from runstore.layout import resolve_artifacts_dir
from training.config import RunConfig
from training.data import DataSplit
from training.feature_cache import FeatureCache
from training.optimization import trains_on_cached_features
from training.pipeline import make_eval_dataset, make_feature_dataset, make_train_dataset
from training.registry import BuiltModel, ModelSpec


@dataclass
class TrainingInputs:
    """Training and validation batches, and the feature cache when the head trains alone."""

    train: tf.data.Dataset
    validation: tf.data.Dataset
    cache: FeatureCache | None = None


def make_inputs(config: RunConfig, spec: ModelSpec, built: BuiltModel, split: DataSplit, verbose: int) -> TrainingInputs:
    """Raw-pixel pipelines (resized, augmented), or cached frozen-base features for a transfer model's head."""
    if not trains_on_cached_features(config, built):
        return TrainingInputs(
            make_train_dataset(split.x_train, split.y_train, config.batch_size, spec.input_size, config.augment, config.seed,
                               config.augmentation),
            make_eval_dataset(split.x_val, split.y_val, config.batch_size, spec.input_size),
        )
    cache = FeatureCache(resolve_artifacts_dir(config.artifacts_dir), spec.name, built.base, spec.input_size, verbose=verbose)
    # Flip is the one augmentation kept on cached features: the mirrored images' features are a second table.
    features = cache.training_features(split.x_train, split.x_val, mirrored=config.augment)
    return TrainingInputs(
        make_feature_dataset(features.train, features.train_mirrored, split.y_train, config.batch_size, config.seed, shuffle=True),
        make_feature_dataset(features.validation, None, split.y_val, config.batch_size, config.seed, shuffle=False),
        cache,
    )
