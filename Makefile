# hccbm — every target works on a fresh machine with only Python 3.11 (and, for the browser
# and database tests, Debian's apt, which `make test-deps` uses when run as root).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO   ?= examples/demo-001.json

.PHONY: run demo test test-deps lint bench bench-deps install clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## make run: install into .venv, migrate var/hccbm.db (SQLite), seed the demo patients and a demo
## clinician account (credentials printed once), serve on http://127.0.0.1:8000
run: $(STAMP)
	mkdir -p var
	$(BIN)/hccbm serve --host 127.0.0.1 --port 8000

## make demo: assess a bundled demo patient in the terminal
demo: $(STAMP)
	$(BIN)/hccbm assess $(DEMO)

## test-deps: system packages the tests need, from Debian (as root): headless Chromium and CJK
## fonts for the browser tests, Java 17 for Spark (scripts/postgres-test.sh installs PostgreSQL).
test-deps:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium fonts-noto-cjk"; \
	command -v java >/dev/null 2>&1 || missing="$$missing openjdk-17-jre-headless"; \
	if [ -z "$$missing" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing from Debian:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	else echo "note: not installed:$$missing (browser, PostgreSQL or Spark tests skip outside CI)"; fi

## make test: install into .venv and run every test (slow ones included), then the service
## tests again on a throwaway PostgreSQL server
test: $(STAMP) test-deps
	$(BIN)/python -m pytest
	PYTHON=$(BIN)/python scripts/postgres-test.sh

lint: $(STAMP)
	$(BIN)/ruff check hccbm tests benchmarks
	$(BIN)/mypy hccbm

## bench-deps: wrk (Debian), the load generator of the service benchmark
bench-deps:
	@command -v wrk >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; \
	  else echo "note: wrk not installed (the service benchmark needs it)"; fi; }

bench: $(STAMP) bench-deps
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build *.egg-info test-artifacts
