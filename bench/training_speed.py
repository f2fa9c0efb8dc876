"""How close each registered model trains to this CPU's own arithmetic limit, and where short runs spend their time.

Part 1, the reference: the CPU's float32 matrix-multiply rate (numpy's sgemm and
TensorFlow's ``matmul`` on 2048 x 2048 matrices; the faster of the two is the
reference, since both are what a training step could at best reach).

Part 2, steady state, per registered model (every option value, e.g. simple_cnn's
1, 2 and 3 blocks): a few dozen training steps on random pixels at the batch size
of the model's recipe, plain SGD, after warm-up steps. Printed: images/s, FLOPs
per training image, achieved GFLOP/s and the ratio to the reference.

    FLOPs per training image = forward multiply-adds x 2 (a multiply-add is two
    floating-point operations) x 3 (the backward pass costs about twice the
    forward: the input gradient and the weight gradient).

Multiply-adds are counted from the layer shapes: convolutions (output pixels x
filters x kernel area x input channels / groups), depthwise convolutions and
dense layers. Batch norm, pooling, activations and dropout are not counted (they
are memory-bound, a few percent of the arithmetic), so the ratio is a lower bound
of what the CPU is doing. Transfer models train their head on cached features by
default: their line measures what fills that cache, the frozen base's forward
pass (FLOPs = forward multiply-adds x 2, no backward).

Part 3, short runs as the suites run them: for each model a real run of the lab's
trainer on 2,048 CIFAR-10 training images with 8 evaluation points
(``--epoch-images 256``) on 1,000 validation images (the demo suite's size), and
the share of its wall time (from start to complete run folder) spent inside
training steps, timed by a callback around each batch.

Last line: ``lowest ratio R (MODEL)``.

    python bench/training_speed.py [--steps 30] [--models simple_cnn fast_cnn] [--skip-short-runs]
"""

from __future__ import annotations

import argparse
import tempfile
import time

import common  # noqa: F401  (puts the repo on the path, quiets TensorFlow)
import numpy as np
from common import header, load_data, row

MATRIX_SIZE = 2048
SHORT_RUN_IMAGES = 2048
SHORT_RUN_EVALUATIONS = 8
# Each evaluation point validates on this many images, as the demo suite's runs do (training/suites.json):
# the trainer's default of 5,000 would make 8 validation passes cost more arithmetic than the training itself.
SHORT_RUN_VALIDATION = 1000


# ----------------------------------------------------------------------------- reference


def matmul_reference_gflops(repeats: int = 5) -> tuple[float, float]:
    """(numpy sgemm GFLOP/s, TensorFlow matmul GFLOP/s) on float32 2048 x 2048 matrices, best of ``repeats``."""
    import tensorflow as tf

    flops = 2 * MATRIX_SIZE**3
    rng = np.random.default_rng(0)
    a = rng.standard_normal((MATRIX_SIZE, MATRIX_SIZE), dtype=np.float32)
    b = rng.standard_normal((MATRIX_SIZE, MATRIX_SIZE), dtype=np.float32)

    def best_rate(function) -> float:
        function()
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            function()
            best = min(best, time.perf_counter() - start)
        return flops / best / 1e9

    ta, tb = tf.constant(a), tf.constant(b)
    return best_rate(lambda: a @ b), best_rate(lambda: (ta @ tb).numpy())


# ----------------------------------------------------------------------------- counting


def forward_multiply_adds(model) -> int:
    """Multiply-adds of one image's forward pass, counted from the layer shapes (see module docstring)."""
    import keras

    total = 0
    for layer in iter_layers(model):
        if isinstance(layer, keras.layers.DepthwiseConv2D):
            _, height, width, channels = layer.output.shape
            total += height * width * channels * int(np.prod(layer.kernel_size))
        elif isinstance(layer, keras.layers.Conv2D):
            _, height, width, filters = layer.output.shape
            in_channels = layer.input.shape[-1]
            total += height * width * filters * int(np.prod(layer.kernel_size)) * in_channels // layer.groups
        elif isinstance(layer, keras.layers.Dense):
            total += int(layer.input.shape[-1]) * layer.units
    return int(total)


def iter_layers(model):
    """Every layer of ``model``, nested models expanded."""
    for layer in model.layers:
        if hasattr(layer, "layers") and layer.layers:
            yield from iter_layers(layer)
        else:
            yield layer


# ----------------------------------------------------------------------------- steady state


def model_variants(names: list[str] | None) -> list[tuple[str, dict]]:
    """(model name, builder options) for every registered model and every option value it offers."""
    from training.registry import get_spec, model_names

    variants = []
    for name in names or model_names():
        spec = get_spec(name)
        if not spec.options:
            variants.append((name, {}))
            continue
        # One option at a time varied, the others at the recipe's default (the registry's options are few).
        for option, values in spec.options.items():
            for value in values:
                variants.append((name, {**{key: spec.recipe[key] for key in spec.options}, option: value}))
    return variants


def label(name: str, options: dict) -> str:
    """``simple_cnn blocks=3`` style label of a variant."""
    return " ".join([name, *(f"{key}={value}" for key, value in options.items())])


def steady_state(name: str, options: dict, steps: int, warmup: int) -> dict:
    """Images/s and GFLOP per image of ``steps`` timed training steps (or base forward passes for transfer models)."""
    import keras
    import tensorflow as tf

    from training.models import build_parts
    from training.registry import get_spec

    spec = get_spec(name)
    batch = int(spec.defaults["batch_size"])
    built = build_parts(name, None, **options)
    size = spec.input_size
    pixels = tf.random.stateless_uniform((batch, size, size, 3), seed=(0, 1), maxval=255.0)
    if spec.transfer:
        # What a transfer run spends its time on: the frozen base's forward pass filling the feature cache.
        network = built.base
        step = tf.function(lambda: network(pixels, training=False))
        flops_per_image = 2 * forward_multiply_adds(network)
        kind = "base forward"
    else:
        network = built.model
        labels = tf.one_hot(tf.random.stateless_uniform((batch,), seed=(0, 2), maxval=10, dtype=tf.int32), 10)
        optimizer = keras.optimizers.SGD(0.01)
        loss_function = keras.losses.CategoricalCrossentropy()

        @tf.function
        def step():
            with tf.GradientTape() as tape:
                loss = loss_function(labels, network(pixels, training=True))
            gradients = tape.gradient(loss, network.trainable_variables)
            optimizer.apply_gradients(zip(gradients, network.trainable_variables))
            return loss

        flops_per_image = 2 * 3 * forward_multiply_adds(network)
        kind = "training"
    for _ in range(warmup):
        step()
    start = time.perf_counter()
    for _ in range(steps):
        result = step()
    _ = np.asarray(result)  # wait for the last step
    seconds = time.perf_counter() - start
    images_per_second = steps * batch / seconds
    return {"kind": kind, "batch": batch, "images_per_second": images_per_second,
            "gflop_per_image": flops_per_image / 1e9, "gflops": images_per_second * flops_per_image / 1e9}


# ----------------------------------------------------------------------------- short runs


class StepTimer:
    """A Keras callback that adds up the wall time between each training batch's begin and end."""

    def __new__(cls):
        import keras

        class _StepTimer(keras.callbacks.Callback):
            def __init__(self):
                super().__init__()
                self.seconds = 0.0
                self.batches = 0
                self._started = None

            def on_train_batch_begin(self, batch, logs=None):
                self._started = time.perf_counter()

            def on_train_batch_end(self, batch, logs=None):
                self.seconds += time.perf_counter() - self._started
                self.batches += 1

        return _StepTimer()


def short_run(name: str, options: dict, data) -> dict:
    """A real suite-sized run of the lab's trainer; the share of its wall time spent in training steps."""
    import keras

    from training.config import RunConfig
    from training.train import run_training

    timer = StepTimer()
    original_fit = keras.Model.fit

    def fit_with_timer(self, *args, callbacks=None, **kwargs):
        # The trainer builds its own callback list; the timer joins it last, around the same batches.
        return original_fit(self, *args, callbacks=[*(callbacks or []), timer], **kwargs)

    with tempfile.TemporaryDirectory() as artifacts:
        config = RunConfig.from_dict({
            "model": name, **options, "run_id": "speed", "artifacts_dir": artifacts, "weights": "none",
            "train_limit": SHORT_RUN_IMAGES, "epoch_images": SHORT_RUN_IMAGES // SHORT_RUN_EVALUATIONS,
            "epochs": SHORT_RUN_EVALUATIONS, "early_stopping_patience": SHORT_RUN_EVALUATIONS,
            "test_limit": 1000, "time_budget_seconds": None, "validation_size": SHORT_RUN_VALIDATION,
        })
        keras.Model.fit = fit_with_timer
        try:
            start = time.perf_counter()
            run_training(config, data=data, verbose=0)
            wall = time.perf_counter() - start
        finally:
            keras.Model.fit = original_fit
        keras.backend.clear_session()
    images = timer.batches * int(config.resolved().batch_size)
    return {"wall": wall, "train": timer.seconds, "share": timer.seconds / wall, "images_per_second": images / wall,
            "train_images_per_second": images / timer.seconds if timer.seconds else float("nan")}


# ----------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30, help="timed steps per model (after warm-up)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps first (tracing, allocation)")
    parser.add_argument("--models", nargs="*", help="registered models to measure (default: all)")
    parser.add_argument("--skip-short-runs", action="store_true", help="only the reference and the steady state")
    parser.add_argument("--data-dir", help="CIFAR-10 for the short runs (default: $CIFAR10_DIR)")
    arguments = parser.parse_args()
    if arguments.steps < 1 or arguments.warmup < 1:
        parser.error("--steps and --warmup must be at least 1")

    import keras

    header("Training speed against the CPU's matrix-multiply rate")
    numpy_rate, tf_rate = matmul_reference_gflops()
    reference = max(numpy_rate, tf_rate)
    print(f"reference: float32 {MATRIX_SIZE}x{MATRIX_SIZE} matmul, numpy {numpy_rate:.1f} GFLOP/s, "
          f"TensorFlow {tf_rate:.1f} GFLOP/s; reference = {reference:.1f} GFLOP/s", flush=True)

    variants = model_variants(arguments.models)
    print("\nsteady state (random pixels, SGD, the recipe's batch size)", flush=True)
    row("model", "what", "batch", "images/s", "GFLOP/image", "GFLOP/s", "ratio")
    ratios = {}
    for name, options in variants:
        measured = steady_state(name, options, arguments.steps, arguments.warmup)
        ratio = measured["gflops"] / reference
        ratios[label(name, options)] = ratio
        row(label(name, options), measured["kind"], str(measured["batch"]), f"{measured['images_per_second']:.0f}",
            f"{measured['gflop_per_image']:.3f}", f"{measured['gflops']:.1f}", f"{ratio:.2f}")
        keras.backend.clear_session()

    if not arguments.skip_short_runs:
        data = load_data(arguments.data_dir)
        print(f"\nshort runs ({SHORT_RUN_IMAGES:,} training images, {SHORT_RUN_EVALUATIONS} evaluation points on "
              f"{SHORT_RUN_VALIDATION:,} validation images as the demo's, 1,000 test images; the lab's trainer from "
              "start to complete run folder)", flush=True)
        row("model", "wall s", "in steps s", "share", "images/s (wall)", "images/s (steps)")
        for name, options in variants:
            measured = short_run(name, options, data)
            row(label(name, options), f"{measured['wall']:.1f}", f"{measured['train']:.1f}", f"{measured['share']:.0%}",
                f"{measured['images_per_second']:.0f}", f"{measured['train_images_per_second']:.0f}")

    lowest = min(ratios, key=ratios.get)
    print(f"\nlowest ratio {ratios[lowest]:.2f} ({lowest})", flush=True)


if __name__ == "__main__":
    main()
