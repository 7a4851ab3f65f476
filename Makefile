# Portcullis. The README's two commands are `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8080
# gunicorn.conf.py picks workers and threads when these are empty: one process
# of 8 threads on fakeredis (it lives inside one process), one worker of 4
# threads per core with a real REDIS_URL. `make run WORKERS=4 THREADS=8` overrides.
WORKERS ?=
THREADS ?=
FLASK := $(BIN)/flask --app wsgi
export HOST PORT WORKERS THREADS

.PHONY: run install services test test-unit test-api test-integration test-property verify-deep fuzz postman lint format bench bench-scale soak profile docs openapi-examples clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

## Install what is missing, migrate, create the first admin token, serve.
run: install
	$(FLASK) db upgrade
	$(FLASK) bootstrap
	$(BIN)/gunicorn --config gunicorn.conf.py --access-logfile - wsgi:app

## Every tier: lint, unit, API, integration (real PostgreSQL + Redis), the real
## clients (okta-auth-js, the Sign-In Widget, Chromium, the okta SDK), the
## schemathesis fuzz (make fuzz), Postman. The /authn
## state machine (tests/property, 10,000 sequences, CPU-bound) runs beside the
## rest, which spends much of its time waiting on servers and browsers; its
## report follows the rest's.
test: install lint services node_modules/.installed
	@mkdir -p artifacts
	@$(BIN)/pytest -q tests/property > artifacts/property-tests.log 2>&1 & property=$$!; \
	$(BIN)/pytest --ignore=tests/property; rest=$$?; \
	wait $$property; sequences=$$?; \
	echo "== tests/property (the /authn state machine)"; cat artifacts/property-tests.log; \
	[ $$rest -eq 0 ] && [ $$sequences -eq 0 ]
	$(MAKE) fuzz
	$(MAKE) postman

## newman, okta-auth-js and the Sign-In Widget, exactly as package-lock.json pins them.
node_modules/.installed: package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

## PostgreSQL, Redis and Node.js for the tests: started or installed if missing.
services:
	bash scripts/ensure_services.sh

test-unit: install
	$(BIN)/pytest tests/unit

test-api: install
	$(BIN)/pytest tests/api

test-integration: install
	$(BIN)/pytest tests/integration

## The /authn state machine: 10,000 sequences from a fixed seed (AUTHN_SM_EXAMPLES).
test-property: install
	$(BIN)/pytest -q tests/property

## The /authn state machine at depth: 200,000 sequences from a new random seed
## (a failure prints the @reproduce_failure blob to replay it).
verify-deep: install
	AUTHN_SM_EXAMPLES=200000 AUTHN_SM_SEED=random $(BIN)/pytest -q tests/property

## schemathesis over the whole OpenAPI document, on PostgreSQL + Redis, with
## fixtures: at least 10,000 requests, 0 failures (scripts/fuzz.py).
fuzz: install services
	$(BIN)/python scripts/fuzz.py

postman: install node_modules/.installed
	$(BIN)/python scripts/run_postman.py

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy app/domain

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## Latency and throughput (docs/benchmarks.md): in-process figures, then over HTTP
## with gunicorn (gunicorn.conf.py's settings) and wrk: issue 13's targets as ratios
## to a bare Flask floor, /api/v1/authn, Redis round trips and bytes. BENCH_SECONDS
## (5) per wrk run after BENCH_WARM_SECONDS (2); about ten minutes on two cores.
bench: install
	bash scripts/ensure_services.sh --bench
	$(BIN)/python benchmarks/run.py

$(VENV)/.soak-installed: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[dev,soak]'
	touch $@

## Mixed traffic for SOAK_MINUTES (30) at SOAK_RATE requests/s (40) on PostgreSQL and
## a private Redis: worker RSS, Redis memory and keys, database connections and
## latency every minute (docs/img/soak.png, docs/benchmarks.md). Not part of make test.
soak: install $(VENV)/.soak-installed
	bash scripts/ensure_services.sh
	$(BIN)/python benchmarks/soak.py

## A million users in PostgreSQL (sign-in p50 against a thousand, the login lookups'
## plans) and Redis memory for 100,000 live sessions (docs/benchmarks.md, "Scale").
## SCALE_USERS, SCALE_SESSIONS. Not part of make test.
bench-scale: install
	bash scripts/ensure_services.sh --bench
	$(BIN)/python benchmarks/scale.py

$(VENV)/.profile-installed: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[dev,profile]'
	touch $@

## Where a hot path's time goes: py-spy flame graphs (docs/img/profile-*.svg) and each
## part's share, in-process on PostgreSQL + Redis (docs/benchmarks.md). `make profile
## PATHS="factors-verify authn-verify"` profiles only those. Not part of make test.
PATHS ?=
profile: install $(VENV)/.profile-installed
	bash scripts/ensure_services.sh
	$(BIN)/python benchmarks/profile_paths.py $(PATHS)

## The authn state diagram (needs Graphviz's `dot`) and the generated examples.
docs: install
	dot -Tsvg docs/img/authn-states.dot -o docs/img/authn-states.svg
	$(BIN)/python scripts/authn_examples.py > docs/authn-examples.md

## The examples of the OpenAPI document: a real answer of every operation,
## recorded in-process on the embedded defaults (app/api/openapi_examples.json).
openapi-examples: install
	$(BIN)/python scripts/openapi_examples.py

clean:
	rm -rf $(VENV) node_modules .pytest_cache .ruff_cache .mypy_cache
