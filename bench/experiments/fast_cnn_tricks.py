"""Experiment: which airbench tricks make fast_cnn learn more per image seen?

Trains one variant of fast_cnn on a complete, short one-cycle schedule through
the lab's tf.data pipeline and prints test accuracy with no, flip, and
flip+translate test-time augmentation. Variants compare at the same number of
images, so two can run side by side (throughput is measured elsewhere).

    CIFAR10_DIR=... .venv/bin/python bench/experiments/fast_cnn_tricks.py --images 45000 --whiten --lookahead
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run as a script from anywhere

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from training.callbacks import Lookahead, OneCycleByStep  # noqa: E402
from training.data import load_cifar10, split_train_validation  # noqa: E402
from training.evaluate import predict_probabilities  # noqa: E402
from training.pipeline import make_eval_dataset, make_train_dataset  # noqa: E402
from training.registry import get_spec  # noqa: E402

RECIPE = get_spec("fast_cnn").recipe


def build_variant(arguments, x_train) -> keras.Model:
    """fast_cnn's layout with each airbench trick switched by a flag; no flags = the recipe before them."""
    from keras import layers

    from training import fast_cnn
    from labkeras.layers import FastGradConv2D

    inputs = keras.Input((32, 32, 3), name="pixels")
    x = layers.Normalization(mean=list(fast_cnn.CIFAR10_MEAN), variance=[s**2 for s in fast_cnn.CIFAR10_STD], name="standardise")(inputs)
    stem = FastGradConv2D(fast_cnn.STEM_FILTERS, 2, padding="valid", name="stem_conv")
    x = stem(x)
    if not arguments.whiten:
        x = layers.BatchNormalization(momentum=fast_cnn.BATCH_NORM_MOMENTUM, epsilon=1e-5, name="stem_bn")(x)
    x = layers.Activation(arguments.act, name="stem_act")(x)
    convs = []
    for index, width in enumerate(fast_cnn.BLOCK_WIDTHS, start=1):
        for part, pool in (("a", True), ("b", False)):
            conv = FastGradConv2D(width, 3, padding="same", use_bias=False, kernel_initializer="he_normal", name=f"block{index}{part}_conv")
            convs.append(conv)
            x = conv(x)
            if pool:
                x = layers.MaxPooling2D(2)(x)
            x = layers.BatchNormalization(momentum=fast_cnn.BATCH_NORM_MOMENTUM, epsilon=1e-5, scale=not arguments.no_bn_scale)(x)
            x = layers.Activation(arguments.act)(x)
    x = layers.GlobalAveragePooling2D()(x)
    outputs = layers.Activation("softmax")(layers.Dense(10)(x))
    model = keras.Model(inputs, outputs, name="fast_cnn_variant")
    if arguments.whiten:
        stem.kernel.assign(fast_cnn.whitening_kernel(x_train[: fast_cnn.WHITENING_IMAGES]))
        stem.kernel.trainable = False
    if arguments.dirac:
        for conv in convs:
            fast_cnn.dirac_initialise(conv)
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=45000, help="training images in the whole schedule (default one epoch)")
    parser.add_argument("--lr", type=float, default=0.05, help="peak learning rate (the recipe before the trials: 0.05)")
    parser.add_argument("--momentum", type=float, default=0.9, help="SGD momentum (Nesterov)")
    parser.add_argument("--smoothing", type=float, default=RECIPE["label_smoothing"], help="label smoothing")
    parser.add_argument("--whiten", action="store_true", help="frozen patch-whitening stem instead of a learned stem + BN")
    parser.add_argument("--dirac", action="store_true", help="block convolutions start as the identity")
    parser.add_argument("--no-bn-scale", action="store_true", help="batch norm learns a shift only")
    parser.add_argument("--lookahead", action="store_true", help="training.callbacks.Lookahead weight averaging")
    parser.add_argument("--wd", type=float, default=RECIPE["weight_decay"], help="weight decay (Keras SGD)")
    parser.add_argument("--act", default="relu", help="activation after the stem and every batch norm (relu, gelu...)")
    parser.add_argument("--threads", type=int, default=0, help="TensorFlow intra/inter-op threads (0 = all cores); 1 to run two trials side by side")
    parser.add_argument("--seed", type=int, default=0)
    arguments = parser.parse_args()
    if arguments.threads:
        tf.config.threading.set_intra_op_parallelism_threads(arguments.threads)
        tf.config.threading.set_inter_op_parallelism_threads(arguments.threads)

    data = load_cifar10()
    split = split_train_validation(data.x_train, data.y_train, validation_size=5000, seed=arguments.seed)
    keras.utils.set_random_seed(arguments.seed)
    batch = RECIPE["batch_size"]
    steps = arguments.images // batch
    model = build_variant(arguments, split.x_train)
    model.compile(
        optimizer=keras.optimizers.SGD(arguments.lr, momentum=arguments.momentum, nesterov=True, weight_decay=arguments.wd),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=arguments.smoothing),
        metrics=["accuracy"],
    )
    callbacks = [OneCycleByStep(arguments.lr, steps)]
    if arguments.lookahead:
        callbacks.append(Lookahead(steps))  # the trainer's own callback
    train = make_train_dataset(split.x_train, split.y_train, batch, 32, True, arguments.seed, augmentation="light").repeat()
    start = time.perf_counter()
    model.fit(train, steps_per_epoch=steps, epochs=1, verbose=2, callbacks=callbacks)
    seconds = time.perf_counter() - start

    def predict(x):
        return model.predict(make_eval_dataset(x, None, 500, 32), verbose=0)

    def predict_mirrored(x):
        return predict(x[:, :, ::-1])

    plain = predict(data.x_test)
    flip = predict_probabilities(predict, data.x_test, predict_mirrored)
    both = predict_probabilities(predict, data.x_test, predict_mirrored, translate=True)

    def accuracy(p):
        return float(np.mean(p.argmax(1) == data.y_test))

    print(f"RESULT {vars(arguments)} images={steps * batch} train_seconds={seconds:.0f} "
          f"test={accuracy(plain):.4f} flip={accuracy(flip):.4f} flip_translate={accuracy(both):.4f}", flush=True)


if __name__ == "__main__":
    main()
