# The two commands a newcomer runs: `make run` and `make test`. Everything else is setup.
SHELL := /bin/bash
.DEFAULT_GOAL := help
UV_VERSION := 0.13.8
# Use uv from PATH, else a private copy installed with pip into .tools (works where the
# system Python refuses global pip installs).
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
VENV := .venv
BIN := $(VENV)/bin
DEMO_ENV := DATASHARE_DEMO=1
# `make run PORT=8123`: the port served, and the one the demo's emails link to (SITE_URL,
# unless it is set already).
PORT ?= 8000
RUN_ENV := $(DEMO_ENV) SITE_URL=$${SITE_URL:-http://127.0.0.1:$(PORT)}

.PHONY: help setup setup-test system-deps run test lint typecheck pytest bench clean

help:
	@echo "make run    set up, seed the synthetic demo and serve on http://127.0.0.1:8000 (PORT=8123 for another)"
	@echo "make test   set up, then ruff, mypy, import contracts and the whole pytest suite"

.tools/bin/uv:
	@# Debian without python3-venv: fall back to pip --target (uv's wheel carries the binary).
	if python3 -m venv .tools 2>/dev/null && [ -x .tools/bin/pip ]; then \
	  .tools/bin/pip install --quiet uv==$(UV_VERSION); \
	else \
	  rm -rf .tools && python3 -m pip install --quiet --target .tools/lib uv==$(UV_VERSION) && \
	  mkdir -p .tools/bin && ln -sf ../lib/bin/uv .tools/bin/uv; \
	fi

# The portal and the tools, without the Spark extra (pyspark alone is ~500 MB; the portal never
# uses it). --inexact: a Spark already installed by `make test` is left in place.
$(BIN)/.synced: pyproject.toml uv.lock | $(if $(filter .tools/bin/uv,$(UV)),.tools/bin/uv)
	$(UV) sync --frozen --inexact --compile-bytecode
	@touch $@

# The suite also runs the extract on Spark: only the test targets install the extra.
$(BIN)/.synced-spark: pyproject.toml uv.lock | $(if $(filter .tools/bin/uv,$(UV)),.tools/bin/uv)
	$(UV) sync --frozen --compile-bytecode --extra spark
	@touch $@ $(BIN)/.synced

# WeasyPrint renders the agreement PDFs through Pango (a system library, not a wheel). As root on
# Debian/Ubuntu it is installed here; otherwise the command to run is printed and setup stops.
PDF_LIBS := libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core
system-deps:
	@if ! /sbin/ldconfig -p 2>/dev/null | grep -q 'libpangoft2-1.0.so.0'; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    export DEBIAN_FRONTEND=noninteractive; \
	    apt-get -o DPkg::Lock::Timeout=300 update -qq && \
	    apt-get -o DPkg::Lock::Timeout=300 install -y -qq $(PDF_LIBS); \
	  else \
	    echo "Agreement PDFs need Pango: sudo apt-get install $(PDF_LIBS)"; exit 1; \
	  fi; \
	fi

setup: system-deps $(BIN)/.synced
setup-test: system-deps $(BIN)/.synced-spark

run: setup
	$(RUN_ENV) $(BIN)/datashare migrate --noinput
	$(RUN_ENV) $(BIN)/datashare collectstatic --noinput -v 0
	$(RUN_ENV) $(BIN)/datashare demo
	$(RUN_ENV) $(BIN)/datashare run --bind 127.0.0.1:$(PORT)

lint: setup-test
	$(BIN)/ruff check src tests $(wildcard bench)
	$(BIN)/lint-imports

typecheck: setup-test
	SECRET_KEY=typecheck-only-not-a-secret-0123456789abcdef AUDIT_HMAC_KEY=typecheck-only-not-a-key-0123456789abcdef ALLOWED_HOSTS=localhost SITE_URL=http://localhost $(BIN)/mypy

# The suite runs on the embedded SQLite database, then again on PostgreSQL when DATABASE_URL
# is set (CI sets it). pytest exits 5 when it collects no tests, which fails the target.
# The PostgreSQL pass runs only the tests that use the test database (--database-tests-only,
# tests/conftest.py): the others (the pure engines, the Spark runs, the subprocess tests of
# `datashare run` and the workers, which bring their own SQLite file) cannot tell the two apart
# and already ran in the SQLite pass.
# Each pass runs in PYTEST_WORKERS processes (pytest-xdist), each with its own test database
# and data folder, handed a test module at a time; the Spark modules all go to one of them (one
# JVM). PYTEST_WORKERS=0 runs in this one process, as plain `pytest` does.
PYTEST_WORKERS ?= 2
PYTEST_ARGS := $(if $(filter 0,$(PYTEST_WORKERS)),,-n $(PYTEST_WORKERS) --dist loadfile)
pytest: setup-test
	env -u DATABASE_URL $(BIN)/pytest $(PYTEST_ARGS)
	@if [ -n "$$DATABASE_URL" ]; then \
	  echo "== again on PostgreSQL ($${DATABASE_URL%%@*}@...) =="; \
	  $(BIN)/pytest $(PYTEST_ARGS) --database-tests-only; \
	fi

test: lint typecheck pytest

# The benchmarks' own dependencies (tau-Argus for the comparison) are an optional group.
bench: setup
	$(UV) sync --frozen --compile-bytecode --extra spark --group bench
	$(BIN)/python bench/suppression.py
	$(BIN)/python bench/extract.py --scale 0.05
	$(BIN)/python bench/queue_page.py

clean:
	rm -rf $(VENV) .tools var .pytest_cache .mypy_cache .ruff_cache
