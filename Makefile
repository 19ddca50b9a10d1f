# Fanout: the commands the README names. `make run` starts the playground; `make test` runs
# every test. Both set up what they need first, and setup does nothing when nothing changed.

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

# Stamps are keyed on the contents of what they install from, not on modification times: a
# changed pin or lockfile reinstalls, a fresh checkout of the same files on a machine that
# already has them does not.
hash = $(shell cat $(1) 2>/dev/null | sha256sum | cut -c1-16)
PY_STAMP := $(VENV)/.installed-$(call hash,requirements.txt requirements-dev.txt requirements-engine.txt)
NPM_STAMP := node_modules/.installed-$(call hash,package.json package-lock.json)
DIST_STAMP := static/dist/.built-$(call hash,package-lock.json static/build.mjs \
	$(shell find static/src -type f 2>/dev/null | LC_ALL=C sort))

.PHONY: help setup python-deps node-deps build engine migrate run test bench lint clean

help:
	@echo "make run     set up, migrate, and serve Fanout on http://$(HOST):$(PORT)"
	@echo "make test    set up, then run the whole test suite (browser tests included)"
	@echo "make setup   Python venv + pinned requirements, npm ci, front-end bundle, compiled engine"
	@echo "make engine  compile the engine's hot modules with mypyc (playground/accel.py)"
	@echo "make bench   engine benchmark on the reference topology"
	@echo "make lint    ruff check"

setup: python-deps build engine

python-deps: $(PY_STAMP)

node-deps: $(NPM_STAMP)

build: $(DIST_STAMP)

$(PY_STAMP):
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check --quiet -r requirements-dev.txt
	@rm -f $(VENV)/.installed-*
	@touch $@

$(NPM_STAMP):
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(DIST_STAMP): $(NPM_STAMP)
	npm run --silent build
	@rm -f static/dist/.built-*
	@touch $@

# The compiled engine: rebuilt when the engine sources changed, skipped when they did not. Without
# a C compiler it says so and the engine runs interpreted (same results, slower): not an error.
engine: python-deps
	@$(PY) -c 'import sys; from playground import accel; sys.exit(accel.main(["build"]))' || true

migrate: python-deps
	$(PY) manage.py migrate --noinput

run: setup migrate
	@echo "Fanout: open http://$(HOST):$(PORT)"
	FANOUT_DEBUG=1 $(VENV)/bin/daphne -b $(HOST) -p $(PORT) playground.asgi:application

test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

bench: python-deps engine
	$(PY) bench/engine_bench.py

lint: python-deps
	$(VENV)/bin/ruff check .

clean:
	rm -rf static/dist staticfiles test-artifacts .pytest_cache .ruff_cache build
