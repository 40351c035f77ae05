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
run sync validate connect disconnect test-connection: export WALKME_SYNC_INTEGRATIONS_DIR ?= $(DEMO_INTEGRATIONS)

.PHONY: help install browser run test test-distributed lint typecheck pytest emulator sync validate \
	benchmark clean connect disconnect test-connection

help:
	@echo "make run                    start the local Salesforce and Airflow (UI) with the demo integrations"
	@echo "make test                   lint, type-check and run all tests"
	@echo "make test-distributed       a real multi-worker Airflow (Celery, Postgres, Redis, S3) end to end"
	@echo "make sync INTEGRATION=<id>  run one integration headless; last line = run summary JSON"
	@echo "make emulator               run the local Salesforce in the foreground"
	@echo "make validate               validate the integrations (demo/integrations/*.yaml) offline"
	@echo "make benchmark              print throughput, memory, API calls and parse-time numbers"
	@echo "make connect ENV=sandbox|production [CONN_ID=] [CONSUMER_KEY=] [LOGIN_URL=]"
	@echo "                            authorize an org (OAuth web flow + PKCE), store the token"
	@echo "make disconnect ENV=...     revoke the stored token at Salesforce and remove it"
	@echo "make test-connection ENV=... the org, API usage and each integration's field access"

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

# The connection commands (scripts/salesforce_connect.py). CONSUMER_KEY is the External Client
# App's; a confidential app's secret comes from SALESFORCE_CONSUMER_SECRET or ASK_SECRET=1.
CONNECT_ARGS = --env $(ENV) $(if $(CONN_ID),--conn-id $(CONN_ID),)
connect disconnect test-connection: $(STAMP)
	@test -n "$(ENV)" || { echo "usage: make $@ ENV=sandbox|production [CONN_ID=<connection>]"; exit 2; }
	@mkdir -p var && $(BIN)/airflow db migrate > var/airflow-migrate.log 2>&1 || { cat var/airflow-migrate.log; exit 1; }
	$(BIN)/python scripts/salesforce_connect.py $(subst test-connection,test,$@) $(CONNECT_ARGS) \
	  $(if $(filter connect,$@),$(if $(CONSUMER_KEY),--consumer-key $(CONSUMER_KEY),) \
	  $(if $(LOGIN_URL),--login-url $(LOGIN_URL),) $(if $(PROXY),--proxy $(PROXY),) \
	  $(if $(PORT),--port $(PORT),) $(if $(ASK_SECRET),--ask-secret,) \
	  $(if $(PRINT_CONNECTION),--print-connection,),)

benchmark: $(STAMP)
	$(BIN)/python benchmarks/run_all.py $(ARGS)

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
