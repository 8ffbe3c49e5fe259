# Two commands on a fresh machine: `make demo` and `make test`. Each sets everything up itself.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup demo test test-long test-fast lint bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@bash scripts/setup.sh "$(PYTHON)" "$(VENV)"
	@touch $(STAMP)

demo: setup
	@bash scripts/demo.sh

test: setup
	$(PY) -m pytest -q -m "not long" --durations=15

test-long: setup
	$(PY) -m pytest -q -m long

test-fast: setup
	$(PY) -m pytest -q -m "not slow and not train and not cli"

lint: setup
	$(VENV)/bin/ruff check tinynas tests benchmarks scripts
	$(VENV)/bin/mypy tinynas

bench: setup
	$(PY) benchmarks/estimator_accuracy.py --count 200
	$(PY) benchmarks/estimator_throughput.py

clean:
	rm -rf $(VENV) build dist *.egg-info
