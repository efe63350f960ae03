# petitiondesk: every target works on a fresh clone; nothing is installed by hand.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEVSTAMP := $(VENV)/.installed-dev
HOST ?= 127.0.0.1
PORT ?= 8000

VENDOR := petitiondesk/web/static/vendor
.PHONY: run test lint bench bench-pages bench-import bench-supports bench-analytics bench-replies bench-dedup install install-dev migrate clean static messages browser fonts pdftools

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(DEVSTAMP): pyproject.toml $(STAMP)
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(STAMP) static messages fonts
install-dev: $(DEVSTAMP) static messages fonts

## static: front-end packages from npm (package-lock.json) into our own static files; never a CDN
$(VENDOR)/.installed: package.json package-lock.json
	@command -v npm >/dev/null || (echo "installing Node.js and npm (Debian packages)"; \
	  apt-get update -qq && apt-get install -y -qq nodejs npm)
	npm ci --no-audit --no-fund --ignore-scripts --silent
	mkdir -p $(VENDOR)
	cp node_modules/htmx.org/dist/htmx.min.js $(VENDOR)/
	cp node_modules/echarts/dist/echarts.min.js $(VENDOR)/
	touch $@
static: $(VENDOR)/.installed

## messages: compile the interface translations (gettext's msgfmt)
messages: $(STAMP)
	@command -v msgfmt >/dev/null || (echo "installing gettext (Debian package)"; \
	  apt-get update -qq && apt-get install -y -qq gettext)
	$(BIN)/python manage.py compilemessages -v 0 --ignore=.venv --ignore=node_modules --ignore=var

## fonts: the Chinese fonts written notices are set in, and the Pango that WeasyPrint renders PDFs
## with (docs/notices.md)
fonts:
	@fc-list :lang=zh 2>/dev/null | grep -q . || (echo "installing the Noto CJK fonts (Debian package) for notices"; \
	  apt-get update -qq && apt-get install -y -qq fonts-noto-cjk)
	@ldconfig -p | grep -q libpangoft2-1.0 || (echo "installing Pango (Debian package) for WeasyPrint"; \
	  apt-get update -qq && apt-get install -y -qq libpango-1.0-0 libpangoft2-1.0-0)

## pdftools: pdftotext, which the notice tests read the PDFs with
pdftools:
	@command -v pdftotext >/dev/null || (echo "installing poppler-utils (Debian package) for the notice tests"; \
	  apt-get update -qq && apt-get install -y -qq poppler-utils)

## browser: Debian's chromium for the browser tests (never a downloaded browser)
browser:
	@command -v chromium >/dev/null || (echo "installing chromium (Debian package) for the browser tests"; \
	  apt-get update -qq && apt-get install -y -qq chromium)
	@fc-list :lang=zh 2>/dev/null | grep -q . || (echo "installing a Chinese font for the screenshots"; \
	  apt-get update -qq && apt-get install -y -qq fonts-noto-cjk)

migrate: install
	$(BIN)/petitiondesk migrate

## run: install, migrate, load the demo when the database is empty, serve with the in-process worker
run: install
	$(BIN)/petitiondesk migrate
	$(BIN)/petitiondesk demo --if-empty
	$(BIN)/petitiondesk serve --host $(HOST) --port $(PORT)

## test: install dev dependencies, check style and types, run the whole suite
test: install-dev lint browser pdftools
	$(BIN)/python manage.py makemigrations --check --dry-run
	PETITIONDESK_DATA_DIR=var/test $(BIN)/pytest
	@if [ -n "$$PETITIONDESK_TEST_DATABASE_URL" ]; then \
	  echo "== the whole suite again on PostgreSQL"; \
	  PETITIONDESK_DATA_DIR=var/test DATABASE_URL="$$PETITIONDESK_TEST_DATABASE_URL" $(BIN)/pytest; \
	else \
	  echo "SKIPPED: the PostgreSQL run (set PETITIONDESK_TEST_DATABASE_URL; .ci/run does)"; \
	fi

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy petitiondesk config

## bench: heavy benchmarks, by hand only (results go to docs/benchmarks.md)
bench: install-dev
	@command -v wrk >/dev/null || (echo "installing wrk (Debian package) for the load generator"; \
	  apt-get update -qq && apt-get install -y -qq wrk)
	$(BIN)/python bench/intake.py
	$(BIN)/python bench/pages.py
	$(BIN)/python bench/import.py --rows 100000
	$(BIN)/python bench/supports.py
	$(BIN)/python bench/dedup.py
	$(BIN)/python bench/classify.py
	$(BIN)/python bench/load.py

## bench-pages: 100,000 generated cases in a fresh PostgreSQL bench database (and SQLite), then the
## server time of the work list and case page (bench/generate.py, bench/pages.py)
bench-pages: install-dev
	$(BIN)/python bench/pages.py --cases 100000 --backends pg,sqlite

## bench-import: rows/s of `petitiondesk import` for 100,000 TipDM-based rows, SQLite and PostgreSQL
bench-import: install-dev
	$(BIN)/python bench/import.py --rows 100000

## bench-supports: 100 supports/s on one suggestion for 30 s on PostgreSQL (request a code, read it
## back from the SMS file backend, confirm), then the final count checked against the 200s
bench-supports: install-dev
	$(BIN)/python bench/supports.py --rate 100 --seconds 30

## bench-classify: cross-validated macro-F1 of the routing classifiers (TipDM 495 labelled messages,
## CFPB 2,085 narratives) and predict_top latency on one core (bench/classify.py)
.PHONY: bench-classify
bench-classify: install-dev
	$(BIN)/python bench/classify.py --repeats 5

## bench-analytics: the counts rebuild, a day's roll-up, the dashboard's server time and the overdue
## sweep on the PostgreSQL database DATABASE_URL, filled first with bench/generate.py (docs/analytics.md)
bench-analytics: install-dev
	$(BIN)/python bench/analytics.py

## bench-scale: issue 7's scale figures (docs/benchmarks.md): the PostgreSQL database SCALE_DB grown
## to SCALE_CASES cases (default 1,000,000; 10,000,000 needs ~50 GB and ~30 min) from 100,000
## generated ones (bench/generate.py, bench/scale.py), then bench/analytics.py and bench/sweep.py
SCALE_CASES ?= 1000000
SCALE_DB ?= bench_scale
.PHONY: bench-scale
bench-scale: install-dev
	createdb -h 127.0.0.1 -U postgres $(SCALE_DB) 2>/dev/null || true
	export DATABASE_URL=postgresql://postgres@127.0.0.1:5432/$(SCALE_DB) PETITIONDESK_DATA_DIR=var/$(SCALE_DB); \
	  $(BIN)/petitiondesk migrate && \
	  if [ "$$(psql -h 127.0.0.1 -U postgres -Atc 'select count(*) from cases_case' $(SCALE_DB))" = 0 ]; then \
	    $(BIN)/python bench/generate.py --cases 100000 --batch 5000 && $(BIN)/petitiondesk counts rebuild; \
	  fi && \
	  $(BIN)/python bench/scale.py --total $(SCALE_CASES) && \
	  $(BIN)/python bench/analytics.py --no-rebuild && $(BIN)/python bench/sweep.py --repeat 3

## bench-replies: reply assistance on the 2,816 real replies (Art. 32 check, retrieval quality) and
## query latency at 2,816 and 100,000 cases (bench/replies.py; docs/intelligence.md)
bench-replies: install-dev
	$(BIN)/python bench/replies.py

## bench-load: submissions and reads with idempotent retries, 1/8/32 clients on PostgreSQL (2 app
## processes) and SQLite, the django-helpdesk peer and the pgbench insert ceiling (bench/load.py);
## LOAD_SECONDS=5 for a short check
LOAD_SECONDS ?= 60
.PHONY: bench-load
bench-load: install-dev
	@command -v wrk >/dev/null || (echo "installing wrk (Debian package) for the load generator"; \
	  apt-get update -qq && apt-get install -y -qq wrk)
	$(BIN)/python bench/load.py --seconds $(LOAD_SECONDS)

## bench-dedup: the near-duplicate index at 1,000,000 petitions generated from the TipDM messages
## (insert rate, lookup latency, memory, save/load) and recall against datasketch on 20,000
## (bench/dedup.py; docs/intelligence.md)
bench-dedup: install-dev
	$(BIN)/python bench/dedup.py --docs 1000000

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
