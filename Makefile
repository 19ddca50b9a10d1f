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
# What `make run` needs: the runtime requirements only (the tools and test packages come with
# `make test`; mypy for the compiled engine with its background build).
RUN_STAMP := $(VENV)/.run-installed-$(call hash,requirements.txt)
NPM_STAMP := node_modules/.installed-$(call hash,package.json package-lock.json)
DIST_STAMP := static/dist/.built-$(call hash,package-lock.json static/build.mjs \
	$(shell find static/src -type f 2>/dev/null | LC_ALL=C sort))

.PHONY: help setup python-deps run-deps node-deps build engine migrate run test bench golden lint clean

help:
	@echo "make run     set up, migrate, and serve Fanout on http://$(HOST):$(PORT) (PORT=8001 make run: another port)"
	@echo "make test    set up, then run the whole test suite (browser tests included)"
	@echo "make setup   Python venv + pinned requirements, npm ci, front-end bundle, compiled engine"
	@echo "make engine  compile the engine's hot modules with mypyc (playground/accel.py)"
	@echo "make bench   engine benchmark on the reference topology"
	@echo "make golden  write the golden outputs again after a change meant to alter them"
	@echo "make lint    ruff check"

setup: python-deps build engine

python-deps: $(PY_STAMP)

run-deps: $(RUN_STAMP)

node-deps: $(NPM_STAMP)

build: $(DIST_STAMP)

$(PY_STAMP):
	@test -x $(PY) || { echo "setup: creating $(VENV) (Debian: apt-get install python3-venv if this fails)"; \
		$(PYTHON) -m venv $(VENV); }
	@echo "setup: installing the pinned Python packages into $(VENV) (about a minute the first time)"
	$(PY) -m pip install --disable-pip-version-check --progress-bar off -r requirements-dev.txt \
		| grep --line-buffered -E '^(Collecting|Successfully|ERROR)' | sed -u 's/^/  pip: /'; \
		test "$${PIPESTATUS[0]}" -eq 0
	@rm -f $(VENV)/.installed-* $(VENV)/.run-installed-*
	@touch $@ $(RUN_STAMP)

$(RUN_STAMP):
	@test -x $(PY) || { echo "setup: creating $(VENV) (Debian: apt-get install python3-venv if this fails)"; \
		$(PYTHON) -m venv $(VENV); }
	@echo "setup: installing the Python packages Fanout runs with into $(VENV) (about a minute the first time)"
	$(PY) -m pip install --disable-pip-version-check --progress-bar off -r requirements.txt \
		| grep --line-buffered -E '^(Collecting|Successfully|ERROR)' | sed -u 's/^/  pip: /'; \
		test "$${PIPESTATUS[0]}" -eq 0
	@rm -f $(VENV)/.run-installed-*
	@touch $@

$(NPM_STAMP):
	@echo "setup: installing the front-end packages from package-lock.json (npm ci)"
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

migrate: run-deps
	$(PY) manage.py migrate --noinput

# The first start does not wait for the compiled engine: it is built in the background while this
# server runs the interpreted one (same results, slower); the next start uses it.
run: run-deps build migrate
	@$(PY) -c 'import sys; from playground import accel; sys.exit(accel.main(["background"]))'
	@echo "Fanout: open http://$(HOST):$(PORT)"
	FANOUT_DEBUG=1 $(VENV)/bin/daphne -b $(HOST) -p $(PORT) playground.asgi:application

test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

bench: python-deps engine
	$(PY) bench/engine_bench.py

# After a change meant to alter what the engine computes: lists the runs that changed, then writes
# tests/engine/golden/fingerprints.json again (commit it with the reasons).
golden: python-deps
	$(PY) bench/fingerprint.py --golden

lint: python-deps
	$(VENV)/bin/ruff check .

clean:
	rm -rf static/dist staticfiles test-artifacts .pytest_cache .ruff_cache build
