"""fast_cnn: the fastest path to accuracy on a small CPU (beyond the study).

A small batch-normed CNN in the style of the CIFAR-10 speed records
(KellerJordan/cifar10-airbench ``airbench94.py``; David Page, "How to train your
ResNet"), narrowed so that a 2-core CPU can show it enough images in 15 minutes:

    raw pixels 0-255 -> per-channel standardisation (inside the model)
    2x2 patch-whitening stem (24 filters, frozen, no padding: 32x32 -> 31x31) -> ReLU
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
* airbench's initialisation, worth +1.7 points of test accuracy after one epoch
  together with Lookahead (71.5% vs 69.8%, docs/performance.md): the stem is the
  whitening transform of 2x2 training patches (``fit_whitening_stem``, frozen),
  every block convolution starts as the identity on its input channels (Dirac),
  and batch norm learns a shift only.
* Global average pooling before the classifier (see the comment in the builder).
* Float32 and no XLA: Keras already turns XLA off on CPU-only machines, and
  ``jit_compile=True`` measured slower here; bf16/float16 has no fast path on AVX2.

The recipe (one-cycle SGD annealed over a 885 s time budget, Lookahead weight
averaging, label smoothing 0.2, flip and translate test-time augmentation,
weight decay) is the ``recipe`` of fast_cnn's entry in ``training.registry``;
``python -m training run --model fast_cnn`` applies it, and the trainer calls
``fit_whitening_stem`` (the entry's initialiser). See docs/performance.md for
the measurements.

Usage::

    from training.fast_cnn import build_fast_cnn, fit_whitening_stem
    model = build_fast_cnn()          # takes raw 0-255 RGB pixels, 32x32
    fit_whitening_stem(model, x_train)  # before training: the stem whitens x_train's patches
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers

from labkeras.layers import FastGradConv2D
from training.registry import BuiltModel

# CIFAR-10 training-set channel statistics in 0-255 pixels (RGB): the model
# standardises its own input so a saved model takes raw pixels.
CIFAR10_MEAN = (125.31, 122.95, 113.87)
CIFAR10_STD = (62.99, 62.09, 66.70)

STEM_FILTERS = 24              # airbench's whitening-stem width
BLOCK_WIDTHS = (32, 128, 128)  # filters per block; see the module docstring for why so narrow
BATCH_NORM_MOMENTUM = 0.97     # Keras convention: running statistics over ~30 batches (see above)
WHITENING_IMAGES = 5000        # training images whose 2x2 patches set the whitening stem (airbench)
WHITENING_EPSILON = 5e-4       # added to each eigenvalue: keeps near-zero directions from blowing up

def whitening_kernel(images: np.ndarray, eps: float = WHITENING_EPSILON) -> np.ndarray:
    """airbench's patch-whitening stem kernel, shape (2, 2, 3, 24), from raw 0-255 RGB ``images`` (N, H, W, 3).

    The eigenvectors of the covariance of every standardised 2x2 patch, each divided
    by the square root of its eigenvalue, and their negatives: convolving
    standardised images with the first 12 filters gives channels with unit variance
    and no correlation (the ReLU after the stem then keeps both signs of each).
    """
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] != 3 or min(images.shape[1:3]) < 2 or len(images) == 0:
        raise ValueError(f"whitening needs RGB images shaped (N, H, W, 3) with N >= 1, got {images.shape}")
    pixels = (images.astype(np.float32) - np.array(CIFAR10_MEAN, np.float32)) / np.array(CIFAR10_STD, np.float32)
    height, width = pixels.shape[1] - 1, pixels.shape[2] - 1
    # Patch order (row, column, channel) is the order of a Keras kernel's first three axes.
    patches = np.stack([pixels[:, i:i + height, j:j + width, :] for i in (0, 1) for j in (0, 1)], axis=3)
    flat = patches.reshape(-1, 12).astype(np.float64)
    covariance = flat.T @ flat / len(flat)
    eigenvalues, eigenvectors = np.linalg.eigh(covariance)
    order = np.argsort(eigenvalues)[::-1]  # strongest direction first
    scaled = eigenvectors[:, order] / np.sqrt(eigenvalues[order] + eps)
    return np.concatenate([scaled, -scaled], axis=1).reshape(2, 2, 3, STEM_FILTERS).astype(np.float32)


def fit_whitening_stem(model: keras.Model, images: np.ndarray) -> None:
    """Set fast_cnn's frozen stem to the patch-whitening kernel of (up to 5,000 of) the training ``images``."""
    model.get_layer("stem_conv").kernel.assign(whitening_kernel(images[:WHITENING_IMAGES]))


def dirac_initialise(conv: keras.layers.Conv2D) -> None:
    """Make the first ``in_channels`` filters of a built 3x3 conv pass their input channel through (airbench)."""
    kernel = keras.ops.convert_to_numpy(conv.kernel).copy()
    channels = min(kernel.shape[2], kernel.shape[3])
    kernel[:, :, :, :channels] = 0
    kernel[1, 1, np.arange(channels), np.arange(channels)] = 1
    conv.kernel.assign(kernel)


def _conv_bn_relu(x, filters: int, pool: bool, name: str):
    """3x3 convolution (no bias: BN follows), optional 2x2 max-pool, batch norm (shift only), ReLU."""
    x = FastGradConv2D(filters, 3, padding="same", use_bias=False, kernel_initializer="he_normal", name=f"{name}_conv")(x)
    if pool:
        x = layers.MaxPooling2D(2, name=f"{name}_pool")(x)
    # scale=False: a learned scale only re-parametrises the next convolution (airbench freezes it at 1).
    x = layers.BatchNormalization(momentum=BATCH_NORM_MOMENTUM, epsilon=1e-5, scale=False, name=f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x)


def build_fast_cnn(input_size: int = 32, num_classes: int = 10) -> keras.Model:
    """Build fast_cnn: raw 0-255 RGB pixels of ``input_size`` in, ``num_classes`` softmax probabilities out.

    The stem's kernel is frozen; call ``fit_whitening_stem`` with training images
    before training (``training.train`` does) to make it the whitening transform.
    """
    if not isinstance(input_size, int) or input_size < 16:
        raise ValueError(f"input_size must be an integer of at least 16 pixels, got {input_size!r}")
    if not isinstance(num_classes, int) or num_classes < 2:
        raise ValueError(f"num_classes must be an integer of at least 2, got {num_classes!r}")

    inputs = keras.Input((input_size, input_size, 3), name="pixels")
    # Built-in layers only (no Lambda): the saved model loads with safe_mode=True.
    x = layers.Normalization(
        mean=list(CIFAR10_MEAN), variance=[std**2 for std in CIFAR10_STD], name="standardise"
    )(inputs)
    stem = FastGradConv2D(STEM_FILTERS, 2, padding="valid", name="stem_conv")
    x = stem(x)
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
    model = keras.Model(inputs, outputs, name="fast_cnn")
    # The whitening kernel is fixed data statistics, not a weight to learn; its bias still trains.
    stem.kernel.trainable = False
    for layer in model.layers:
        if layer.name.startswith("block") and layer.name.endswith("_conv"):
            dirac_initialise(layer)
    return model


def build_fast_cnn_parts(keras_weights: None = None) -> BuiltModel:
    """The registry's builder: fast_cnn at 32x32 for CIFAR-10's 10 classes (trained from scratch)."""
    return BuiltModel(build_fast_cnn())
