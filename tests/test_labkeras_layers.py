"""The lab's custom layers moved from ``training.layers`` to ``labkeras.layers``; saved models must not notice.

Keras finds a custom class by its registered name (``cifarlab>...``), so the
names are pinned here, and a model whose config names the old module (byte for
byte what a save before the move wrote, apart from object ids) is loaded by
``serving`` in a fresh interpreter that never imports ``training``.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import zipfile
from pathlib import Path

import keras
import numpy as np

from labkeras.layers import FastGradConv2D, VggCaffePreprocessing
from runstore.writer import RunRecord
from tests.factories import make_run

REPO_ROOT = Path(__file__).resolve().parents[1]


def test_registered_names_are_unchanged():
    assert keras.saving.get_registered_name(FastGradConv2D) == "cifarlab>FastGradConv2D"
    assert keras.saving.get_registered_name(VggCaffePreprocessing) == "cifarlab>VggCaffePreprocessing"


def save_as_before_the_move(path: Path) -> np.ndarray:
    """Save a model with both custom layers whose config names ``training.layers``; return its output on a fixed input."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input((8, 8, 3))
    features = FastGradConv2D(4, 3, padding="same")(VggCaffePreprocessing()(inputs))
    outputs = keras.layers.Dense(10, activation="softmax")(keras.layers.GlobalAveragePooling2D()(features))
    model = keras.Model(inputs, outputs)
    saved = path.with_name("new.keras")
    model.save(saved)
    with zipfile.ZipFile(saved) as source, zipfile.ZipFile(path, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "config.json":
                assert b'"module": "labkeras.layers"' in data
                data = data.replace(b'"module": "labkeras.layers"', b'"module": "training.layers"')
            target.writestr(item, data)
    return np.asarray(model(np.full((1, 8, 8, 3), 100.0, dtype="float32")))


def test_a_model_saved_before_the_move_loads_in_safe_mode_without_training(tmp_path):
    folder = make_run(tmp_path, "old-layers", epochs=1)
    expected = save_as_before_the_move(folder / "model.keras")
    model_bytes = (folder / "model.keras").read_bytes()
    RunRecord.load(folder).update(model_sha256=hashlib.sha256(model_bytes).hexdigest(), model_bytes=len(model_bytes))
    code = (
        "import sys, numpy as np\n"
        "from serving.models import load_run_model\n"
        f"model = load_run_model({str(tmp_path)!r}, 'old-layers')\n"
        "output = np.asarray(model(np.full((1, 8, 8, 3), 100.0, dtype='float32')))\n"
        "print('training' in sys.modules, type(model.layers[1]).__module__, *output[0].round(6))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    imported_training, module, *values = result.stdout.split()
    assert imported_training == "False" and module == "labkeras.layers"
    np.testing.assert_allclose([float(value) for value in values], expected[0], atol=2e-6)
