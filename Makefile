# Two commands matter: `make demo` (train the demo suite and serve the dashboard)
# and `make test` (the whole test suite). Everything else is a building block.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8501
SUITE ?= demo

.PHONY: setup demo serve train-demo test test-fast bench clean-venv

# Idempotent: the stamp file is rebuilt only when requirements.txt changes.
setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

# Serves the dashboard at once while the demo suite trains in the background, so
# the first live curve appears within a minute. Runs already complete are skipped.
demo: setup
	$(PY) -m lab_demo --suite $(SUITE) --port $(PORT)

serve: setup
	$(PY) -m streamlit run dashboard/app.py --server.port $(PORT)

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
