"""The lab as an installed package: a fresh virtual environment, ``pip install -e .`` or ``pip install .``,
then a plain Keras script with ``LabCallback`` and the ``cifar-lab`` command, run from a folder outside the checkout.

No network and no second TensorFlow: the fresh environment sees this interpreter's
site-packages through a ``.pth`` file (TensorFlow, Keras, setuptools, pip), and pip
installs the lab alone (``--no-index --no-deps --no-build-isolation``). The
non-editable install builds from a copy of the sources, so nothing is built into the
checkout and a file missing from the package data is missing from the install.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
DISTRIBUTION = "cifar10-model-lab"
RUN_ID = "installed-tiny"
EPOCHS = 2
TEST_IMAGES = 20

# A notebook's script that knows nothing of the checkout: tiny random arrays, plain Keras, LabCallback.
SCRIPT = textwrap.dedent(f"""
    import sys

    import keras
    import numpy as np

    import training
    from training import LabCallback

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    labels = np.arange(60) % 10
    images = rng.integers(0, 256, (60, 32, 32, 3), dtype=np.uint8)
    model = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Conv2D(4, 3, activation="relu"),
                              keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(10, activation="softmax")],
                             name="tiny")
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    artifacts = sys.argv[1] if len(sys.argv) > 1 else None  # None: the lab's default folder
    lab = LabCallback("{RUN_ID}", preprocessing="unit", artifacts_dir=artifacts, progress=False,
                      test_data=(images[:{TEST_IMAGES}], labels[:{TEST_IMAGES}]), config={{"epochs": {EPOCHS}}})
    model.fit(images / 255, labels, epochs={EPOCHS}, batch_size=20, validation_split=0.25, callbacks=[lab], verbose=0)
    print(training.__file__)
""")

# The dashboard's way of reading runs, from the fresh environment.
READ_RUNS = textwrap.dedent("""
    import json, sys
    from runstore import list_runs, read_history, read_predictions
    found = []
    for info in list_runs(sys.argv[1]):
        y_true, probs = read_predictions(info.path)
        found.append({"run_id": info.run_id, "status": info.status, "epochs": len(read_history(info.path)),
                      "predictions": list(probs.shape), "source": info.record.get("source")})
    print(json.dumps(found))
""")

# The installed dashboard's frame and Overview under Streamlit's AppTest, over the default artifacts folder.
OPEN_DASHBOARD = textwrap.dedent("""
    import json
    import dashboard.launch
    from streamlit.testing.v1 import AppTest
    app = AppTest.from_file(str(dashboard.launch.DASHBOARD_APP), default_timeout=120)
    app.run()
    print(json.dumps({"exceptions": [str(error.value) for error in app.exception],
                      "chosen": [str(box.value) for box in app.selectbox]}))
""")

# Where the installed copy is and what it ships beside its modules.
WHERE = textwrap.dedent("""
    import json
    import importlib.metadata as metadata
    import dashboard.launch, dashboard.serve, runstore.layout, training.suites
    app = dashboard.launch.DASHBOARD_APP
    print(json.dumps({
        "from_checkout": runstore.layout.running_from_checkout(),
        "packages_parent": str(runstore.layout.PACKAGES_PARENT),
        "files": [str(path) for path in (app, app.parent / "views" / "overview.py", dashboard.serve.STREAMLIT_CONFIG,
                                         dashboard.serve.NGINX_TEMPLATE, training.suites.SUITES_FILE)],
        "requires": metadata.requires("%s"),
    }))
""" % DISTRIBUTION)


def pins(requirements: Path) -> list[str]:
    """The ``name==version`` lines of a requirements file, comments and blanks left out."""
    lines = [line.split("#")[0].strip() for line in requirements.read_text().splitlines()]
    return [line for line in lines if line]


def shared_site_packages() -> list[str]:
    """This interpreter's site-packages folders, where TensorFlow and the rest are installed."""
    paths = sysconfig.get_paths()
    return sorted({paths["purelib"], paths["platlib"]})


def fresh_environment(folder: Path) -> Path:
    """A new virtual environment that sees this one's packages; returns its python."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    python = folder / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    # Plain path lines: appended after the fresh environment's own site-packages, where the lab goes.
    (Path(site) / "shared_runtime.pth").write_text("\n".join(shared_site_packages()) + "\n")
    return python


def clean_environment(**extra: str) -> dict[str, str]:
    """This environment without anything that would let the lab be found other than by its installation."""
    environment = {name: value for name, value in os.environ.items()
                   if name not in ("PYTHONPATH", "ARTIFACTS_DIR", "VIRTUAL_ENV")}
    return {**environment, "TF_CPP_MIN_LOG_LEVEL": "2", **extra}


def run(command: list[str], cwd: Path, timeout: float = 300, **environment: str) -> str:
    """Run ``command`` in ``cwd`` (``environment`` added); its stdout, or a failure showing both streams."""
    result = subprocess.run(command, cwd=cwd, env=clean_environment(**environment), capture_output=True, text=True,
                            timeout=timeout)
    assert result.returncode == 0, f"{command} exited {result.returncode}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout


def source_copy(folder: Path) -> Path:
    """The checkout's sources, without its environment, runs, git data or earlier builds."""
    shutil.copytree(REPO, folder, ignore=shutil.ignore_patterns(
        ".git", ".venv", "artifacts", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", ".hypothesis",
        "test-output", "bench-output"))
    return folder


@pytest.fixture(params=["editable", "regular"])
def installed(request, tmp_path) -> tuple[str, Path]:
    """(mode, python) of a fresh environment with the lab installed ``pip install -e`` or plain ``pip install``."""
    python = fresh_environment(tmp_path / "venv")
    run([str(python), "-c", "import setuptools, pip"], cwd=tmp_path)  # the build needs both, from the shared packages
    source = REPO if request.param == "editable" else source_copy(tmp_path / "source")
    flags = ["-e"] if request.param == "editable" else []
    run([str(python), "-m", "pip", "install", "--quiet", "--no-index", "--no-deps", "--no-build-isolation",
         *flags, str(source)], cwd=tmp_path)
    return request.param, python


def test_the_installed_lab_logs_a_notebook_run_and_answers_its_command_from_any_folder(installed, tmp_path):
    mode, python = installed
    elsewhere = tmp_path / "my-project"
    elsewhere.mkdir()
    (elsewhere / "notebook.py").write_text(SCRIPT)
    if mode == "editable":
        # The editable copy's default folder is the checkout's artifacts/: name one instead.
        artifacts = elsewhere / "lab-artifacts"
        module = run([str(python), "notebook.py", str(artifacts)], cwd=elsewhere)
        assert Path(module.strip().splitlines()[-1]).resolve() == REPO / "training" / "__init__.py"
    else:
        # Installed: the default is ./artifacts of the folder the script runs in, not site-packages.
        artifacts = elsewhere / "artifacts"
        module = run([str(python), "notebook.py"], cwd=elsewhere)
        assert REPO not in Path(module.strip().splitlines()[-1]).resolve().parents
        assert "site-packages" in module

    runs = json.loads(run([str(python), "-c", READ_RUNS, str(artifacts)], cwd=elsewhere))
    assert runs == [{"run_id": RUN_ID, "status": "complete", "epochs": EPOCHS, "predictions": [TEST_IMAGES, 10],
                     "source": "callback"}]

    # The editable copy would show the checkout's artifacts/ by default; the installed one shows ./artifacts.
    chosen = {"ARTIFACTS_DIR": str(artifacts)} if mode == "editable" else {}
    page = json.loads(run([str(python), "-c", OPEN_DASHBOARD], cwd=elsewhere, DASHBOARD_WARMUP="0", **chosen))
    assert page["exceptions"] == []
    assert any(RUN_ID in value for value in page["chosen"]), page

    command = python.parent / "cifar-lab"
    listing = run([str(command), "--help"], cwd=elsewhere)
    for name in ("run", "suite", "suites", "models", "evaluate", "import", "report", "serve", "demo"):
        assert f"\n  {name} " in listing, f"`cifar-lab --help` does not list {name}:\n{listing}"
    models = run([str(command), "models"], cwd=elsewhere)
    assert "simple_cnn" in models and "fast_cnn" in models

    where = json.loads(run([str(python), "-c", WHERE], cwd=elsewhere))
    assert where["from_checkout"] is (mode == "editable")
    for path in where["files"]:
        assert Path(path).is_file(), f"the {mode} install lacks {path}"
        if mode == "regular":
            assert Path(path).is_relative_to(where["packages_parent"])
    runtime = [line for line in where["requires"] if "extra ==" not in line]
    assert runtime == pins(REPO / "requirements.txt")
    test_extra = [line.split(";")[0].strip() for line in where["requires"] if "extra ==" in line]
    assert test_extra == pins(REPO / "requirements-test.txt")


def test_requirements_txt_holds_only_pins_setuptools_can_read():
    # pyproject.toml reads it as the package's dependencies: no `-r`, no options, one `name==version` a line.
    for requirements in ("requirements.txt", "requirements-test.txt"):
        for line in pins(REPO / requirements):
            name, _, version = line.partition("==")
            assert name and version and not line.startswith("-"), f"{requirements}: {line!r} is not a plain pin"
