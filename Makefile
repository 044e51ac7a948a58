# The one entry point: `make run` and `make test` work on a fresh machine with Python 3.11.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
# PYTHONNODEBUGRANGES: CPython 3.11 keeps one AST-conversion depth counter per interpreter, so
# two threads converting ASTs at once can fail with "AST constructor recursion depth mismatch";
# its tracebacks parse each shown line to place their ^^^ marks, and a background thread's
# traceback could so break werkzeug's route compiling in a test's create_app. Without column
# ranges, tracebacks parse nothing.
PYTEST = PYTHONNODEBUGRANGES=1 $(BIN)/python -m pytest
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: install install-dev run worker web test test-hosts lint format check bench bench-all clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt client/pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt client/pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

## run: Redis (embedded if none answers), a dev API key, and every Procfile process
run: install
	$(BIN)/python scripts/devrun.py

web: install
	$(BIN)/python scripts/devrun.py web

worker: install
	$(BIN)/python scripts/devrun.py worker

## test: the whole suite, against a private redis-server the suite starts itself
test: install-dev
	$(PYTEST)

## test-hosts: processes on "hosts" made of network namespaces, with partitions (needs root and iproute2)
test-hosts: install-dev
	$(PYTEST) -m hosts

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

check: lint test

## bench: HTTP and worker benchmarks; `make bench-all` adds the scheduler, recovery, failover and hosts (root) ones
bench: install-dev
	@command -v wrk >/dev/null || { echo "installing wrk (the HTTP load generator)"; apt-get install -y -q wrk >/dev/null || sudo apt-get install -y -q wrk >/dev/null; }
	$(BIN)/python -m bench

bench-all: bench
	$(BIN)/python -m bench sched
	$(BIN)/python -m bench recovery
	$(BIN)/python -m bench failover
	$(BIN)/python -m bench hosts

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
