"""Experiment: training throughput (images/s, forward + backward) of airbench-style CNNs of several widths.

How fast_cnn's widths were chosen: on a CPU, throughput falls with FLOPs, so
width decides how many images 15 minutes can show. Synthetic data; one fixed
batch; a plain tf.function train step (no XLA).

    python bench/experiments/width_throughput.py 64,256,256 32,128,128 32,64,128
"""

import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import keras  # noqa: E402
import tensorflow as tf  # noqa: E402
from keras import layers  # noqa: E402

BATCH_SIZE = 256


def block(x, width: int):
    x = layers.Conv2D(width, 3, padding="same", use_bias=False)(x)
    x = layers.MaxPooling2D(2)(x)
    x = layers.ReLU()(layers.BatchNormalization()(x))
    x = layers.Conv2D(width, 3, padding="same", use_bias=False)(x)
    return layers.ReLU()(layers.BatchNormalization()(x))


def build(widths, stem: int = 24) -> keras.Model:
    inputs = keras.Input((32, 32, 3))
    x = layers.ReLU()(layers.Conv2D(stem, 2)(layers.Rescaling(1 / 255)(inputs)))
    for width in widths:
        x = block(x, width)
    return keras.Model(inputs, layers.Dense(10)(layers.GlobalMaxPooling2D()(x)))


def main() -> None:
    images = tf.random.uniform((BATCH_SIZE, 32, 32, 3), 0, 255)
    labels = tf.one_hot(tf.random.uniform((BATCH_SIZE,), 0, 10, tf.int32), 10)
    for spec in sys.argv[1:] or ["32,128,128"]:
        widths = [int(value) for value in spec.split(",")]
        model = build(widths)
        optimizer = keras.optimizers.SGD(0.1, momentum=0.9, nesterov=True)
        loss_function = keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.2)

        @tf.function
        def train_step(x, y):
            with tf.GradientTape() as tape:
                loss = loss_function(y, model(x, training=True))
            optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
            return loss

        @tf.function
        def forward(x):
            return model(x, training=False)

        train_step(images, labels), forward(images)  # trace
        start = time.perf_counter()
        for _ in range(10):
            loss = train_step(images, labels)
        float(loss)
        train = 10 * BATCH_SIZE / (time.perf_counter() - start)
        start = time.perf_counter()
        for _ in range(10):
            outputs = forward(images)
        outputs.numpy()
        inference = 10 * BATCH_SIZE / (time.perf_counter() - start)
        print(f"widths {widths}: train {train:.0f} img/s, forward {inference:.0f} img/s", flush=True)


if __name__ == "__main__":
    main()
