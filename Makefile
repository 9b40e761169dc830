# floodwatch: the two commands a newcomer needs are `make demo` and `make test`.
# Both install what they need on a fresh Debian machine (PyPI into .venv, Debian's
# mosquitto and influxdb packages through apt-get) and start the services they use.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The dashboard's Leaflet and uPlot, and Swagger UI and ReDoc for the API docs, from the
# npm registry, exactly as package-lock.json pins them; the API serves them from
# dashboard/node_modules (no CDN at run time).
DASHBOARD_STAMP := dashboard/node_modules/.package-lock.json
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo -n)
DEBIAN_BROWSER := chromium fonts-ipafont-gothic
SCENARIO ?= typhoon
# The demo's time compression (simulated seconds per wall second) and the calm lead-in it
# back-fills at once: the typhoon's first gauge reaches standby ~20 s in, its peaks come
# 4-12 minutes in and the whole storm is over in ~21 minutes.
DEMO_COMPRESS ?= 120
DEMO_SKIP ?= 7h

.PHONY: demo test install lock lint audit screenshot services-up services-down clean browser compose-tool \
	containers

# Exactly the versions in requirements.lock, each checked against its hash (runtime and dev
# dependencies, resolved for Linux x86_64 and CPython 3.11); then floodwatch itself.
$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

## Re-resolve the locks after changing dependencies in pyproject.toml: requirements.lock
## (runtime + dev, for `make install`) and requirements-runtime.lock (the image's), seeded
## from the first so both hold the same versions. Versions already locked stay unless
## pyproject.toml rules them out (pip-compile's rule); to move one on:
## `make lock LOCK_ARGS='--upgrade-package NAME'`. pip-tools runs from a throwaway venv.
PIP_COMPILE := --quiet --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url \
	--no-emit-find-links
lock:
	@tools=$$(mktemp -d) && $(PYTHON) -m venv $$tools && \
	$$tools/bin/pip install --quiet pip-tools && \
	$$tools/bin/pip-compile $(PIP_COMPILE) --extra dev $(LOCK_ARGS) \
		-o requirements.lock pyproject.toml && \
	cp requirements.lock requirements-runtime.lock && \
	$$tools/bin/pip-compile $(PIP_COMPILE) -o requirements-runtime.lock pyproject.toml; \
	status=$$?; rm -rf $$tools; exit $$status

install: $(STAMP) $(DASHBOARD_STAMP) browser compose-tool containers
	$(BIN)/floodwatch services install

# --- dashboard ---

$(DASHBOARD_STAMP): dashboard/package.json dashboard/package-lock.json
	@command -v npm >/dev/null || { $(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq nodejs npm; }
	cd dashboard && npm ci --no-audit --no-fund --loglevel=error
	touch $(DASHBOARD_STAMP)

## Debian's docker-compose checks the compose file in the tests; it needs no engine, so
## without recommends (which would pull in the Docker daemon).
compose-tool:
	@command -v docker-compose >/dev/null || { $(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends \
		docker-compose; }

## Real containers for the compose stack the suite starts (tests/deployment/
## test_compose_stack.py; `pytest -m "not compose"` leaves it out): podman with runc,
## podman-compose, and the base image localhost/debian:bookworm made with debootstrap,
## since no image registry is reachable here (deploy/podman/setup.sh says why).
containers: compose-tool
	$(SUDO) bash deploy/podman/setup.sh

## Debian's chromium (and a Japanese font) for the dashboard's browser test, which
## Playwright drives as /usr/bin/chromium: never `playwright install`.
browser:
	@test -x /usr/bin/chromium -a -e /usr/share/fonts/opentype/ipafont-gothic/ipag.ttf || { \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $(DEBIAN_BROWSER); }

## Run the local stack on simulated devices: private Mosquitto and InfluxDB, every stage in
## one process (`floodwatch up`: ingest, alerts, notify to the local "disaster network"
## topics, api + dashboard at http://127.0.0.1:18080/) and the $(SCENARIO) scenario as a
## storm happening now: the demo profile (README "The demo") compresses it $(DEMO_COMPRESS)x
## onto the wall clock, with every time-based rule of the stack divided alike, and
## back-fills its first $(DEMO_SKIP) at once. No forecast stage: its lead and travel times
## are the river's own (README "The demo"). Ctrl-C stops the stack and the simulator;
## `make services-down` the servers.
DEMO_OFFICER_KEY ?= demo-officer-key
DEMO_DIR ?= .floodwatch/demo
demo: install
	$(BIN)/floodwatch services up
	$(BIN)/floodwatch demo-config --compress $(DEMO_COMPRESS) --dir $(DEMO_DIR)
	@echo "dashboard: http://127.0.0.1:$${FLOODWATCH_API_PORT:-18080}/  (officer key for acknowledging: $(DEMO_OFFICER_KEY))"
	@set -e; set -a; . $(DEMO_DIR)/demo.env; set +a; \
	export FLOODWATCH_API_PUBLIC_READ=true FLOODWATCH_API_KEYS="officer:$(DEMO_OFFICER_KEY)"; \
	$(BIN)/floodwatch up --without-forecast & stack=$$!; \
	trap 'kill -TERM $$stack 2>/dev/null; wait $$stack' EXIT INT TERM; \
	for _ in $$(seq 60); do $(BIN)/floodwatch healthcheck --url \
		"http://127.0.0.1:$${FLOODWATCH_API_PORT:-18080}/readyz" 2>/dev/null && break; \
		sleep 1; done; \
	$(BIN)/floodwatch simulate --demo $(DEMO_DIR) --scenario $(SCENARIO) --skip $(DEMO_SKIP)

## Lint, type-check and run the whole suite (the tests start their own servers).
test: install lint
	$(BIN)/pytest

## Regenerate the pictures in docs/dashboard.md (desktop, storm, river view, projection,
## offline map, phone, forecasts) from the dashboard's browser tests on the real stack
## (the suite itself writes them to its temporary folders and never rewrites a tracked file).
screenshot: install
	FLOODWATCH_TEST_SCREENSHOT=$(CURDIR)/docs/dashboard.png \
		$(BIN)/pytest tests/api/test_dashboard.py -k live_alerts
	FLOODWATCH_TEST_SCREENSHOT_DIR=$(CURDIR)/docs \
		$(BIN)/pytest tests/api/test_dashboard_map_phone.py -k "offline or phone_layout"
	FLOODWATCH_TEST_SCREENSHOT_DIR=$(CURDIR)/docs \
		$(BIN)/pytest tests/api/test_dashboard_river.py
	FLOODWATCH_TEST_SCREENSHOT_DIR=$(CURDIR)/docs \
		$(BIN)/pytest tests/api/test_dashboard_forecast.py

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
