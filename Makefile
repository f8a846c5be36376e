# florasite: `make run` serves the dashboard on the built-in FLORA sandbox; `make test` runs
# every test. Both set everything up on a machine with only Python 3.11 and make.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
VAR := var

# Local defaults for `make run` (not for the tests, which bring their own); every one can be
# overridden from the environment.
RUN_TARGETS := run demo migrate
$(RUN_TARGETS): export SECRET_KEY_FILE ?= $(CURDIR)/$(VAR)/secret_key
$(RUN_TARGETS): export FLORASITE_ENCRYPTION_KEYS_FILE ?= $(CURDIR)/$(VAR)/encryption_keys
$(RUN_TARGETS): export FLORA_SANDBOX_ENABLED ?= true
$(RUN_TARGETS): export FLORA_SANDBOX_ALLOW_HTTP_CALLBACKS ?= true
$(RUN_TARGETS): export PUBLIC_BASE_URL ?= http://127.0.0.1:8000

.PHONY: run test topology lint format setup migrate demo keys clean help

help:
	@echo "make run       set up and serve the dashboard on http://127.0.0.1:8000"
	@echo "make test      set up and run the whole test suite"
	@echo "make lint      ruff check and format check, import contracts (lint-imports)"
	@echo "make topology  2 gunicorns + 2 workers on this machine's PostgreSQL and Redis, one worker killed (~3 min)"

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "florasite needs Python 3.11")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet ".[dev]"
	touch $(STAMP)

setup: $(STAMP)

# Local secrets, generated once, kept out of git (var/ is ignored), readable only by you.
$(VAR)/secret_key: | $(STAMP)
	@mkdir -p $(VAR) && chmod 700 $(VAR)
	@umask 077 && $(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(50))' > $@
	@echo "Generated a secret key in $(CURDIR)/$@"

$(VAR)/encryption_keys: | $(STAMP)
	@mkdir -p $(VAR) && chmod 700 $(VAR)
	@umask 077 && $(BIN)/python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())' > $@
	@echo "Generated an encryption key in $(CURDIR)/$@ (back it up: team secrets cannot be read without it)"

keys: $(VAR)/secret_key $(VAR)/encryption_keys

migrate: setup keys
	$(BIN)/python manage.py migrate --noinput

demo: migrate
	$(BIN)/python manage.py setup_demo

run: demo
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/python bin/serve.py

# Two workers by default (the machines here have two cores); the browser tests stay together
# on one worker so they share one live site.
PYTEST_WORKERS ?= 2
test: setup
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

# tests/topology: two gunicorns and two workers on PostgreSQL and Redis, 200 runs, one worker
# SIGKILLed and restarted. The test creates the database named here and drops it afterwards;
# it needs a PostgreSQL server it may CREATE DATABASE on, and Redis (its keys get a prefix of
# their own, deleted afterwards). TOPOLOGY_KEEP=1 keeps the logs and the database.
TOPOLOGY_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/florasite_topology_$(shell date +%s)
TOPOLOGY_REDIS_URL ?= redis://127.0.0.1:6379/0
topology: setup
	TOPOLOGY_DATABASE_URL=$(TOPOLOGY_DATABASE_URL) TOPOLOGY_REDIS_URL=$(TOPOLOGY_REDIS_URL) \
		$(BIN)/python -m pytest -p no:xdist -p no:cacheprovider -m topology -s tests/topology $(PYTEST_ARGS)

# The import contracts are in pyproject.toml ([tool.importlinter]).
lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .grimp_cache .import_linter_cache
