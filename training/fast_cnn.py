"""fast_cnn: the fastest path to accuracy on a small CPU (beyond the study).

A small batch-normed CNN in the style of the CIFAR-10 speed records
(KellerJordan/cifar10-airbench ``airbench94.py``; David Page, "How to train your
ResNet"), narrowed so that a 2-core CPU can show it enough images in 15 minutes:

    raw pixels 0-255 -> per-channel standardisation (inside the model)
    2x2 conv stem (24 filters, no padding: 32x32 -> 31x31)
    3 blocks of  conv3x3 -> max-pool 2 -> BN -> ReLU -> conv3x3 -> BN -> ReLU
              widths 32, 128, 128 (31 -> 15 -> 7 -> 3 pixels)
    global average-pool -> dense 10 -> softmax

Why these choices, measured on the lab's 2-core AMD EPYC (AVX2, no AVX-512):

* Width is the only lever that matters on a CPU: training throughput falls
  roughly with the FLOPs, and 15 minutes buys only a few epochs. airbench's
  64-256-256 widths train at ~60 images/s here (under one epoch in 15 minutes);
  32-128-128 trains ~4x faster, which buys ~4-5 epochs.
* Pooling right after the first convolution of each block (as airbench does)
  runs the second convolution at a quarter of the pixels.
* Batch-norm running statistics averaged over ~30 batches (momentum 0.97):
  airbench averages over ~1,700 images (torch momentum 0.6 at batch 1,024);
  at batch 64 the same window needs 0.97. Momentum 0.6 here (2.5 batches,
  160 images) made the evaluation-mode network noisy: in the 15-minute run
  validation accuracy fell in the last epoch (78.8% -> 78.0%) while the
  learning rate went to zero and training accuracy rose.
* Global average pooling before the classifier (see the comment in the builder).
* Float32 and no XLA: Keras already turns XLA off on CPU-only machines, and
  ``jit_compile=True`` measured slower here; bf16/float16 has no fast path on AVX2.

The recipe (one-cycle SGD, label smoothing 0.2, flip test-time augmentation,
weight decay) is ``RECIPE`` below; ``python -m training run --model fast_cnn``
applies it. See docs/performance.md for the measurements.

Usage::

    from training.fast_cnn import build_fast_cnn
    model = build_fast_cnn()          # takes raw 0-255 RGB pixels, 32x32
"""

from __future__ import annotations

import keras
from keras import layers

from training.layers import FastGradConv2D

# CIFAR-10 training-set channel statistics in 0-255 pixels (RGB): the model
# standardises its own input so a saved model takes raw pixels.
CIFAR10_MEAN = (125.31, 122.95, 113.87)
CIFAR10_STD = (62.99, 62.09, 66.70)

STEM_FILTERS = 24              # airbench's whitening-stem width
BLOCK_WIDTHS = (32, 128, 128)  # filters per block; see the module docstring for why so narrow
BATCH_NORM_MOMENTUM = 0.97     # Keras convention: running statistics over ~30 batches (see above)

# The training recipe, as RunConfig fields. The registry entry carries optimizer,
# learning rate, epochs and batch size; the rest must be applied by the trainer
# for fast_cnn when the user did not set them.
RECIPE = {
    "optimizer": "sgd",          # SGD, momentum 0.9, Nesterov (training.train.make_optimizer)
    "learning_rate": 0.05,       # peak of the one-cycle schedule, for batch 64 (0.2 at batch 256, scaled linearly)
    "batch_size": 64,            # small: CPU images/s is the same at 64, 128 and 256, and 4x the steps learn faster
    "epochs": 4,                 # 180,000 images: 802 s of training on the idle 2-core CPU, 81.15% test (docs)
    "lr_schedule": "onecycle",   # warm-up to the peak, then linear decay to 1/100 of it
    "augmentation": "light",     # flip + 2-pixel shift: rotation and zoom slow a 4-epoch run down
    "label_smoothing": 0.2,      # as in airbench and "How to train your ResNet"
    "tta_flip": True,            # average test predictions over each image and its mirror
    "weight_decay": 5e-4,        # Keras SGD applies it per step as w -= lr * 5e-4 * w
}


def _conv_bn_relu(x, filters: int, pool: bool, name: str):
    """3x3 convolution (no bias: BN follows), optional 2x2 max-pool, batch norm, ReLU."""
    x = FastGradConv2D(filters, 3, padding="same", use_bias=False, kernel_initializer="he_normal", name=f"{name}_conv")(x)
    if pool:
        x = layers.MaxPooling2D(2, name=f"{name}_pool")(x)
    x = layers.BatchNormalization(momentum=BATCH_NORM_MOMENTUM, epsilon=1e-5, name=f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x)


def build_fast_cnn(input_size: int = 32, num_classes: int = 10) -> keras.Model:
    """Build fast_cnn: raw 0-255 RGB pixels of ``input_size`` in, ``num_classes`` softmax probabilities out."""
    if not isinstance(input_size, int) or input_size < 16:
        raise ValueError(f"input_size must be an integer of at least 16 pixels, got {input_size!r}")
    if not isinstance(num_classes, int) or num_classes < 2:
        raise ValueError(f"num_classes must be an integer of at least 2, got {num_classes!r}")

    inputs = keras.Input((input_size, input_size, 3), name="pixels")
    # Built-in layers only (no Lambda): the saved model loads with safe_mode=True.
    x = layers.Normalization(
        mean=list(CIFAR10_MEAN), variance=[std**2 for std in CIFAR10_STD], name="standardise"
    )(inputs)
    x = FastGradConv2D(STEM_FILTERS, 2, padding="valid", name="stem_conv")(x)
    x = layers.BatchNormalization(momentum=BATCH_NORM_MOMENTUM, epsilon=1e-5, name="stem_bn")(x)
    x = layers.ReLU(name="stem_relu")(x)
    for index, width in enumerate(BLOCK_WIDTHS, start=1):
        x = _conv_bn_relu(x, width, pool=True, name=f"block{index}a")
        x = _conv_bn_relu(x, width, pool=False, name=f"block{index}b")
    # Average, not airbench's max: with Keras' default init and the trainer's schedule (full
    # learning rate from the first epoch) a max-pooled head starts with large logits and learned
    # far slower on real data (2 epochs of 1,920 images: 41% vs 21% held-out accuracy).
    x = layers.GlobalAveragePooling2D(name="global_average_pool")(x)
    logits = layers.Dense(num_classes, name="logits")(x)
    outputs = layers.Activation("softmax", dtype="float32", name="probabilities")(logits)
    return keras.Model(inputs, outputs, name="fast_cnn")
