# trunkadmin: `make run` serves the demo on http://127.0.0.1:8000; `make test` runs everything.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
MANAGE := $(PY) manage.py
HOST ?= 127.0.0.1
PORT ?= 8000
TEST_POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/trunkadmin

.PHONY: help install install-dev run serve migrate seed token edge test lint format check-migrations \
        test-sqlite test-postgres bench lock clean

help:
	@echo "make run    install, migrate, seed the demo workspace, serve on http://$(HOST):$(PORT) and run the delivery worker"
	@echo "make edge   the SIP edge (Kamailio) in the foreground, beside make run (docs/routing.md)"
	@echo "make test   lint, migrations check, the suite on SQLite and on PostgreSQL, browser tests"
	@echo "make bench  benchmarks (figures go to docs/performance.md)"
	@echo "make lock   regenerate requirements*.lock from requirements*.txt (after editing one)"

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --quiet --upgrade pip

# Installs come from the lock files: every transitive dependency pinned, with its hashes.
$(VENV)/.installed-runtime: requirements.lock | $(PY)
	$(PIP) install --quiet --quiet --require-hashes -r requirements.lock
	touch $@

# requirements-dev.lock holds the runtime set too, at the same versions.
$(VENV)/.installed-dev: requirements-dev.lock | $(PY)
	$(PIP) install --quiet --require-hashes -r requirements-dev.lock
	touch $@ $(VENV)/.installed-runtime

$(VENV)/.installed-bench: requirements-bench.lock $(VENV)/.installed-dev
	$(PIP) install --quiet --require-hashes -r requirements-bench.lock
	touch $@

install: $(VENV)/.installed-runtime
install-dev: $(VENV)/.installed-dev

migrate: install
	DEBUG=true $(MANAGE) migrate --noinput

seed: migrate
	DEBUG=true $(MANAGE) seed_demo --base-url http://$(HOST):$(PORT)

# The delivery worker (WhatsApp messages to agents) runs beside the server and stops with it.
# Install and migrate run quietly; the demo's logins, token and URLs are printed last, once the
# server answers on its port, so they are not buried under start-up output.
run: install
	@echo "Preparing the demo (install, migrate, seed)..."
	@export DEBUG=true PUBLIC_BASE_URL=http://$(HOST):$(PORT); \
	$(MANAGE) migrate --noinput -v 0 || exit 1; \
	summary=$$($(MANAGE) seed_demo --base-url http://$(HOST):$(PORT)) || exit 1; \
	$(MANAGE) run_worker & worker=$$!; \
	$(MANAGE) runserver $(HOST):$(PORT) & server=$$!; \
	trap 'kill $$server $$worker 2>/dev/null; wait $$server $$worker 2>/dev/null' EXIT INT TERM; \
	until $(PY) -c "import socket; socket.create_connection(('$(HOST)', $(PORT)), 1).close()" 2>/dev/null; do \
		kill -0 $$server 2>/dev/null || { echo "The server did not start."; exit 1; }; sleep 0.2; \
	done; \
	echo; echo "$$summary"; \
	echo "Serving on http://$(HOST):$(PORT) with the delivery worker beside it  (Ctrl-C stops both)"; \
	wait $$server

# The SIP edge in the foreground, asking the product of `make run` (SIP_EDGE_LISTEN, default
# 127.0.0.1:5060; EDGE_ARGS="--listen 127.0.0.1:5080" elsewhere). Needs Debian's kamailio packages.
edge: install
	DEBUG=true $(MANAGE) sip_edge $(EDGE_ARGS)

token: install
	DEBUG=true $(MANAGE) create_api_token acme --name "make token"

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install-dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

check-migrations: install-dev
	DJANGO_SETTINGS_MODULE=trunkadmin.settings_test $(MANAGE) makemigrations --check --dry-run

test-sqlite: install-dev
	@echo "== test suite on SQLite =="
	env -u DATABASE_URL TEST_REDIS_URL=redis://127.0.0.1:6379/15 $(VENV)/bin/pytest $(PYTEST_ARGS)

# PostgreSQL: required in CI (REQUIRE_POSTGRES=1); skipped with a notice on a machine without it.
test-postgres: install-dev
	@if $(PY) -c "import psycopg,sys; psycopg.connect('$(TEST_POSTGRES_URL)'.rsplit('/',1)[0]+'/postgres', connect_timeout=3).close()" 2>/dev/null; then \
		echo "== test suite on PostgreSQL =="; \
		DATABASE_URL=$(TEST_POSTGRES_URL) TEST_REDIS_URL=redis://127.0.0.1:6379/14 $(VENV)/bin/pytest $(PYTEST_ARGS); \
	elif [ -n "$$REQUIRE_POSTGRES" ]; then \
		echo "PostgreSQL is required (REQUIRE_POSTGRES) but not reachable at $(TEST_POSTGRES_URL)"; exit 1; \
	else \
		echo "== PostgreSQL not reachable at $(TEST_POSTGRES_URL): PostgreSQL run skipped =="; \
	fi

# The two suites run side by side (each mostly waits on sockets and subprocesses); each one's output
# is printed whole when it ends. TEST_JOBS=1 runs them one after the other.
TEST_JOBS ?= 2
test: lint check-migrations
	$(MAKE) --no-print-directory -j$(TEST_JOBS) --output-sync=target test-sqlite test-postgres

# BENCH_ARGS="--quick" for a short run, "--million" to add 1,000,000 numbers on PostgreSQL.
bench: $(VENV)/.installed-bench
	$(PY) bench/run.py $(BENCH_ARGS)

# The lock files, resolved for CPython 3.11 on Linux x86_64 (this machine and CI), from PyPI.
# Versions already locked are kept; LOCK_ARGS="--upgrade-package NAME" (or "--upgrade") moves them.
# Each lock is constrained by the one before it, so the three agree on every shared package.
UV_COMPILE = $(VENV)/bin/uv pip compile --quiet --generate-hashes --no-strip-markers \
	--python-version 3.11 --python-platform x86_64-manylinux_2_28 --custom-compile-command "make lock" $(LOCK_ARGS)

lock: install-dev
	$(UV_COMPILE) requirements.txt -o requirements.lock
	$(UV_COMPILE) requirements-dev.txt -c requirements.lock -o requirements-dev.lock
	$(UV_COMPILE) requirements-dev.txt requirements-bench.txt -c requirements-dev.lock -o requirements-bench.lock

clean:
	rm -rf $(VENV) var staticfiles .pytest_cache .ruff_cache test-output
