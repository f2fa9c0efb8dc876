"""A notebook's training script that knows nothing of the lab: plain Keras, the usual habits.

Pixels are divided by 255 outside the model, labels are one-hot, the history is
a ``CSVLogger`` file, and the model is saved as ``.keras`` and legacy ``.h5``.
The test images are read from ``$CIFAR10_DIR/test_batch`` with ``pickle``, as
the CIFAR-10 web page shows. The BYOM tests import these files, or pass a
``LabCallback`` in ``extra_callbacks``. Run as a script (the interruption test
does) it trains with a ``LabCallback`` and can stop itself with Ctrl-C's
exception after a given epoch::

    python tests/byom_notebook.py OUT_DIR ARTIFACTS_DIR RUN_ID [--interrupt-after-epoch N]
"""

from __future__ import annotations

import os
import pickle
import sys
from pathlib import Path

import keras
import numpy as np

CLASSES = 10


def cifar_test_batch(folder: str) -> tuple[np.ndarray, np.ndarray]:
    """The CIFAR-10 test images (N, 32, 32, 3) uint8 and labels, read the way the data set's page shows."""
    with open(Path(folder) / "test_batch", "rb") as handle:
        batch = pickle.load(handle, encoding="bytes")
    images = np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return images, np.asarray(batch[b"labels"])


def training_images(count: int = 300, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Training images whose class decides their colour (the tests' synthetic CIFAR stand-in)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.factories import synthetic_images

    return synthetic_images(count, seed)


def make_model(logits: bool = False) -> keras.Model:
    """A tiny CNN on pixels already divided by 255; ``logits=True`` leaves out the softmax."""
    return keras.Sequential([
        keras.Input((32, 32, 3)),
        keras.layers.Conv2D(8, 3, activation="relu"),
        keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(CLASSES, activation=None if logits else "softmax"),
    ], name="notebook_cnn")


def train(out_dir: str | Path, cifar_dir: str, epochs: int = 2, logits: bool = False, extra_callbacks=()) -> dict:
    """Train, log with CSVLogger, save .keras and .h5; return the files and the script's own test accuracy."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(0)
    x_train, y_train = training_images()
    x_test, y_test = cifar_test_batch(cifar_dir)
    model = make_model(logits)
    model.compile(optimizer=keras.optimizers.Adam(0.05),
                  loss=keras.losses.CategoricalCrossentropy(from_logits=logits), metrics=["accuracy"])
    log = out_dir / "training_log.csv"
    model.fit(x_train / 255.0, keras.utils.to_categorical(y_train, CLASSES), epochs=epochs, batch_size=32,
              validation_split=0.2, verbose=0, callbacks=[keras.callbacks.CSVLogger(str(log)), *extra_callbacks])
    _, accuracy = model.evaluate(x_test / 255.0, keras.utils.to_categorical(y_test, CLASSES), verbose=0)
    model.save(out_dir / "model.keras")
    model.save(out_dir / "model.h5")
    return {"keras": out_dir / "model.keras", "h5": out_dir / "model.h5", "log": log, "accuracy": float(accuracy)}


class StopAfterEpoch(keras.callbacks.Callback):
    """Raises KeyboardInterrupt at the end of epoch ``epoch``, as Ctrl-C in the middle of fit would."""

    def __init__(self, epoch: int):
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            raise KeyboardInterrupt


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from training import LabCallback

    out, artifacts, run_id = sys.argv[1:4]
    stop = [StopAfterEpoch(int(sys.argv[5]))] if "--interrupt-after-epoch" in sys.argv else []
    lab = LabCallback(run_id, preprocessing="unit", artifacts_dir=artifacts, progress=False)
    train(out, os.environ["CIFAR10_DIR"], epochs=3, extra_callbacks=[lab, *stop])
