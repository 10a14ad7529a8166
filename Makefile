# hccbm — every target works on a fresh machine with only Python 3.11 (and, for the browser
# and database tests, Debian's apt, which `make test-deps` uses when run as root).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO   ?= examples/demo-001.json

.PHONY: run test test-deps lint bench install clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## make run: install into .venv and assess a bundled demo patient
run: $(STAMP)
	$(BIN)/hccbm assess $(DEMO)

## test-deps: system packages the tests need (headless Chromium, CJK fonts), from Debian.
test-deps:
	@if command -v chromium >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing chromium and fonts-noto-cjk from Debian"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; \
	else echo "note: chromium is not installed; browser tests will skip outside CI"; fi

## make test: install into .venv and run every test (slow ones included)
test: $(STAMP) test-deps
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check hccbm tests benchmarks
	$(BIN)/mypy hccbm

bench: $(STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build *.egg-info test-artifacts
