# Two commands matter: `make demo` (train the demo suite and serve the dashboard)
# and `make test` (the whole test suite). Everything else is a building block.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8501
SUITE ?= demo
# make serve: Streamlit processes behind nginx (default: one per core; WORKERS=1 for one
# plain process) and the address to listen on (default 127.0.0.1, from dashboard/.streamlit/config.toml).
WORKERS ?=
ADDRESS ?=
# make serve READ_ONLY=1: nothing is written under the artifacts folder (no Add a model; dashboard/access.py).
READ_ONLY ?=

.PHONY: setup demo serve train-demo test test-fast bench clean-venv

# Idempotent: the stamp file is rebuilt only when a requirements file changes.
# requirements.txt: the runtime pins (also what `pip install .` installs); requirements-test.txt: test tools.
setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-test.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt -r requirements-test.txt
	touch $@

# Serves the dashboard at once while the demo suite trains in the background, so
# the first live curve appears within a minute. Runs already complete are skipped.
demo: setup
	$(PY) -m lab_demo --suite $(SUITE) --port $(PORT)

# One Streamlit process per core behind nginx with sticky sessions (dashboard/serve.py);
# without nginx, one process, and it says why.
serve: setup
	$(PY) -m dashboard.serve --port $(PORT) $(if $(WORKERS),--workers $(WORKERS)) $(if $(ADDRESS),--address $(ADDRESS)) $(if $(filter 1 yes true,$(READ_ONLY)),--read-only)

train-demo: setup
	$(PY) -m training suite $(SUITE)

test: setup
	$(PY) -m pytest

test-fast: setup
	$(PY) -m pytest -m "not slow and not browser"

bench: setup
	$(PY) bench/run_all.py

clean-venv:
	rm -rf $(VENV)
