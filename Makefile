# perfkit — two commands do all set-up: `make report` and `make test`.
# Every target creates what it needs (virtualenv, npm assets, demo store) and is fast when up to date.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.perfkit-installed
ASSETS := node_modules/.package-lock.json
DB     ?= data/crm.duckdb
MONTH  ?= 2026-10
PYTEST_ARGS ?=
# test modules spread over the cores, each module's tests on one worker (module fixtures built once)
PYTEST_WORKERS ?= auto

.PHONY: help venv assets demo report test lint lab bench system-deps clean

help:
	@echo "make report   build the demo store and this month's reports (creates everything needed)"
	@echo "make test     run the whole test suite (installs test browsers and font when missing)"
	@echo "make lab      start JupyterLab on notebooks/ against the demo store"
	@echo "make lint     ruff"
	@echo "make bench    run the benchmarks in bench/ (minutes)"
	@echo "make clean    remove .venv, node_modules, data/ and output/"

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade uv
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -e '.[dev]'
	@touch $@

venv: $(STAMP)

# Front-end assets for offline HTML (widget manager), pinned in package-lock.json, never committed.
$(ASSETS): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

assets: $(ASSETS)

# The demo store is rebuilt when the generator or the schema changes.
$(DB): $(STAMP) $(wildcard perfkit/data/demo/*.py) perfkit/data/schema.py
	$(BIN)/perfkit demo --db $(DB)

demo: $(DB)

report: $(DB) $(ASSETS)
	$(BIN)/perfkit info --db $(DB)
	$(BIN)/perfkit run --db $(DB) --month $(MONTH)
	@echo "index: $(abspath output/$(MONTH)/index.html)"

# Chromium, Firefox ESR and a small CJK font for the browser tests (test machine only); installed when missing.
system-deps:
	@bash .ci/system-deps

test: $(STAMP) $(ASSETS) system-deps
	$(BIN)/ruff check perfkit tests bench
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check perfkit tests bench
	$(BIN)/ruff format --check perfkit tests bench || true

lab: $(DB) $(ASSETS)
	PERFKIT_DB=$(abspath $(DB)) $(BIN)/perfkit lab

bench: $(STAMP)
	$(BIN)/python bench/bench_demo.py
	$(BIN)/python bench/bench_indicators.py
	$(BIN)/python bench/bench_batch.py --serial-sample 6
	$(BIN)/python bench/bench_cells.py
	$(BIN)/python bench/bench_views.py
	$(BIN)/python bench/bench_snapshot.py
	$(BIN)/python bench/bench_import.py
	$(BIN)/python bench/bench_compare.py

clean:
	rm -rf $(VENV) node_modules data output/20*
