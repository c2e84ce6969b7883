# Pintu: one Makefile for set-up, running and testing. See README.md.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
PYTHON310 ?= $(shell scripts/find-python310)
VENV := .venv
RVENV := .venv-rasa
PY := $(VENV)/bin/python
RPY := $(RVENV)/bin/python
RASA := $(RVENV)/bin/rasa
STAMPS := .stamps
# pip on some machines lists extra local indexes that do not exist; their warnings are noise.
PIP_QUIET := 2>&1 | grep -v 'is ignored: it is neither a file nor a directory' || true
export PYTHONPATH := $(CURDIR)
export PYTHONDONTWRITEBYTECODE := 1
export TF_CPP_MIN_LOG_LEVEL := 3
export SQLALCHEMY_SILENCE_UBER_WARNING := 1

.PHONY: help setup run test train nlu-eval bench chat lint clean review retrain models promote rollback

help:
	@echo "make run      set up what is missing, then start the whole stack (Ctrl-C stops it)"
	@echo "make test     set up what is missing, then run every test"
	@echo "make setup    environments, trained model, database schema (idempotent)"
	@echo "make train    train the Rasa model into models/"
	@echo "make nlu-eval NLU report (per-intent F1, confusion matrix, 5-fold CV) under reports/"
	@echo "make chat     chat with a running stack from the terminal"
	@echo "make bench    benchmarks (a few minutes); results in bench/results/, see docs/benchmarks.md"
	@echo "make review | retrain BY=admin [EPOCHS=n] | models | promote VERSION=v BY=admin [REASON=..]"
	@echo "  | rollback BY=admin [VERSION=v]   the retraining loop from the command line (docs/retraining.md)"

$(STAMPS)/venv-rasa: requirements/rasa.txt
	@mkdir -p $(STAMPS)
	@test -x $(RPY) || { echo "creating $(RVENV) with $(PYTHON310)"; $(PYTHON310) -m venv $(RVENV); }
	@$(RPY) -m pip install -q --upgrade pip setuptools wheel $(PIP_QUIET)
	@echo "installing Rasa environment (about 2-3 minutes the first time)"
	@set -o pipefail; $(RPY) -m pip install -q -r requirements/rasa.txt 2>&1 | grep -v 'is ignored: it is neither' ; \
	  $(RPY) -c "import rasa, rasa_sdk, httpx, pytest" && touch $@

$(STAMPS)/venv: requirements/gateway.txt
	@mkdir -p $(STAMPS)
	@test -x $(PY) || { echo "creating $(VENV) with $(PYTHON)"; $(PYTHON) -m venv $(VENV); }
	@$(PY) -m pip install -q --upgrade pip $(PIP_QUIET)
	@set -o pipefail; $(PY) -m pip install -q -r requirements/gateway.txt 2>&1 | grep -v 'is ignored: it is neither' ; \
	  $(PY) -c "import fastapi, sqlalchemy, httpx, pytest" && touch $@

# Browser tests drive Debian's chromium through Playwright, never a browser Playwright downloads.
# CHROMIUM=/path/to/chromium uses another binary; the tests get it as PINTU_CHROMIUM.
CHROMIUM ?= $(or $(shell command -v chromium 2>/dev/null),/usr/bin/chromium)

$(STAMPS)/browser: $(STAMPS)/venv
	@mkdir -p $(STAMPS)
	@if [ ! -x "$(CHROMIUM)" ]; then \
	  if [ "$(CHROMIUM)" != /usr/bin/chromium ]; then \
	    echo "CHROMIUM=$(CHROMIUM) is not an executable file"; exit 1; fi; \
	  sudo=; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	  echo "installing Debian's chromium for the browser tests: $${sudo:+sudo }apt-get update; $${sudo:+sudo }apt-get install -y chromium"; \
	  $$sudo apt-get update -qq && $$sudo apt-get install -y -qq chromium >/dev/null || exit 1; \
	fi
	@$(PY) -c "from playwright.sync_api import sync_playwright; p = sync_playwright().start(); p.chromium.launch(executable_path='$(CHROMIUM)', headless=True).close(); p.stop()" \
	  || { echo "Playwright cannot launch $(CHROMIUM) headless"; exit 1; }
	@touch $@

# The model is retrained when models/ has none or the training inputs changed since it was trained.
model: $(STAMPS)/venv-rasa
	@$(RPY) -m nlu.train --if-needed

train: $(STAMPS)/venv-rasa
	@$(RPY) -m nlu.train

schema: $(STAMPS)/venv
	@$(PY) -m bot.db upgrade

setup: $(STAMPS)/venv-rasa $(STAMPS)/venv schema model

run: setup
	@$(PY) -m bot.stack run

# Each benchmark starts its own stack on ports 28000/25005/25055/28100 (PostgreSQL pintu_bench,
# Redis db 14), one after the other; bench.dispatch needs no Rasa (PostgreSQL pintu_bench, Redis
# db 14, a worker process, the fake Graph API in two processes on a free port) and bench.growth
# runs that stack, then dispatch, on the same; bench.outreach needs no stack (PostgreSQL
# pintu_bench_campaigns, Redis db 10, a worker process against fake channel APIs); bench.fuzz
# runs one gateway process on port 28400 (PostgreSQL pintu_bench_fuzz, Redis db 6); bench.faults
# runs on 29000/26005/26055/29100 (PostgreSQL pintu_bench_faults, a redis-server of its own), then
# again with two gateways, two workers and two Rasa servers (29001, 26006).
bench: setup
	@$(PY) -m bench.train && $(PY) -m bench.channels && $(PY) -m bench.inbox && \
		$(PY) -m bench.dispatch && $(PY) -m bench.growth && \
		$(PY) -m bench.outreach && $(PY) -m bench.fuzz && $(PY) -m bench.faults && \
		$(PY) -m bench.faults --replicas 2

# The retraining loop of the admin pages, for scripts: the gateway's database (DATABASE_URL) and
# Rasa servers (RASA_URLS); BY names the admin account the audit log records.
review: $(STAMPS)/venv
	@$(PY) -m bot.learning review

retrain: $(STAMPS)/venv $(STAMPS)/venv-rasa
	@$(PY) -m bot.learning train $(if $(BY),--by $(BY)) $(if $(EPOCHS),--epochs $(EPOCHS))

models: $(STAMPS)/venv
	@$(PY) -m bot.learning versions

promote: $(STAMPS)/venv
	@test -n "$(VERSION)" -a -n "$(BY)" || { echo "usage: make promote VERSION=name BY=admin [REASON='why the gate may be passed']"; exit 2; }
	@$(PY) -m bot.learning promote "$(VERSION)" --by "$(BY)" $(if $(REASON),--override-reason "$(REASON)")

rollback: $(STAMPS)/venv
	@test -n "$(BY)" || { echo "usage: make rollback BY=admin [VERSION=name]"; exit 2; }
	@$(PY) -m bot.learning rollback $(VERSION) --by "$(BY)"

chat: $(STAMPS)/venv
	@$(PY) -m bot.cli

MYPY_TARGETS := bot sandbox integrations actions/kb.py nlu/nik.py nlu/geo.py nlu/dates.py \
  nlu/tickets.py nlu/phone.py nlu/extraction.py nlu/normalize.py

test: setup $(STAMPS)/browser
	@mkdir -p var
	@echo "== ruff and mypy"
	@$(PY) -m ruff check . && $(PY) -m mypy $(MYPY_TARGETS)
	@$(PY) -m nlu.check_data
	@echo "== rasa data validate"
	@$(RASA) data validate --fail-on-warnings --quiet --data data/nlu data/core >var/validate.log 2>&1 || { cat var/validate.log; exit 1; }
	@echo "== rasa test core: dialogue stories in tests/stories/"
	@$(RASA) test core --stories tests/stories --model models --fail-on-prediction-errors \
	  --out var/test-core --quiet >var/test-core.log 2>&1 \
	  || { tail -40 var/test-core.log; cat var/test-core/failed_test_stories.yml 2>/dev/null; exit 1; }
	@echo "dialogue stories: all predicted as written"
	@echo "== tests in the Rasa environment (Python 3.10)"
	@$(RPY) -m pytest -c pyproject.toml tests/shared tests/rasa
	@echo "== tests in the gateway environment"
	@PINTU_CHROMIUM=$(CHROMIUM) $(PY) -m pytest -c pyproject.toml tests/shared tests/gateway \
	  tests/channels tests/integration tests/browser

nlu-eval: setup
	@$(RPY) -m nlu.evaluate

lint: $(STAMPS)/venv
	@$(PY) -m ruff check . && $(PY) -m mypy $(MYPY_TARGETS)

clean:
	rm -rf $(STAMPS) $(VENV) $(RVENV) models/*.tar.gz var reports
