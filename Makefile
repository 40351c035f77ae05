# WalkMe Insights -> Salesforce sync. The two commands a newcomer needs:
#   make run    set everything up, start the local Salesforce + Airflow with the demo integrations
#   make test   set everything up, lint, type-check and run the whole test suite
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

export PYTHONPATH := $(CURDIR)
export AIRFLOW_HOME ?= $(CURDIR)/var/airflow
export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/dags
export AIRFLOW__CORE__PLUGINS_FOLDER := $(CURDIR)/plugins
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export EMULATOR_PORT ?= 18443
export AIRFLOW_PORT ?= 8080
# The engine reads integrations from dags/integrations/ (empty in the repo: a deployment starts with
# none). The demo targets point it at the demo integrations instead; set the variable to override.
DEMO_INTEGRATIONS := $(CURDIR)/demo/integrations
run sync validate: export WALKME_SYNC_INTEGRATIONS_DIR ?= $(DEMO_INTEGRATIONS)

.PHONY: help install browser run test test-distributed lint typecheck pytest emulator sync validate benchmark clean

help:
	@echo "make run                    start the local Salesforce and Airflow (UI) with the demo integrations"
	@echo "make test                   lint, type-check and run all tests"
	@echo "make test-distributed       a real multi-worker Airflow (Celery, Postgres, Redis, S3) end to end"
	@echo "make sync INTEGRATION=<id>  run one integration headless; last line = run summary JSON"
	@echo "make emulator               run the local Salesforce in the foreground"
	@echo "make validate               validate the integrations (demo/integrations/*.yaml) offline"
	@echo "make benchmark              print throughput, memory, API calls and parse-time numbers"

install: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "Python 3.11 is required (set PYTHON=python3.11)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

test: lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

# The browser tests (tests/ui/) need Debian's chromium; installed once, only when missing.
browser:
	bash scripts/install_browser.sh

pytest: $(STAMP) browser
	$(BIN)/pytest

# Installs PostgreSQL and Redis (apt-get, when missing) and the Celery/moto packages, then starts a
# CeleryExecutor Airflow with two workers and runs tests/distributed against it (about 6 minutes).
test-distributed: $(STAMP)
	bash scripts/distributed/install.sh
	WALKME_SYNC_DISTRIBUTED_TESTS=1 $(BIN)/pytest tests/distributed $(ARGS)

run: $(STAMP)
	bash scripts/run_local.sh

emulator: $(STAMP)
	$(BIN)/python -m sf_emulator --port $(EMULATOR_PORT) --data-dir var/emulator --seed-file demo/samples/crm/seed.json

sync: $(STAMP)
	@test -n "$(INTEGRATION)" || { echo "usage: make sync INTEGRATION=<integration id>"; exit 2; }
	$(BIN)/python scripts/sync.py $(INTEGRATION) $(if $(DRY_RUN),--dry-run,) $(if $(FULL_SYNC),--full-sync,)

validate: $(STAMP)
	$(BIN)/python -m include.walkme_sync.config "$$WALKME_SYNC_INTEGRATIONS_DIR"

benchmark: $(STAMP)
	$(BIN)/python benchmarks/run_all.py $(ARGS)

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
