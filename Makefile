# The two commands: `make run` serves the clinic on http://127.0.0.1:8000 (SQLite by default),
# `make test` runs the whole suite (on PostgreSQL too when DATABASE_URL points at one).
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
# A local run: a generated SECRET_KEY kept under data/, plain HTTP on 127.0.0.1 (production sets neither).
export LOCAL_RUN ?= 1

.PHONY: run test lint check venv deps dev-deps migrate seed clean loadtest

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "$(PYTHON) not found; set PYTHON=/path/to/python3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# A checkout where `make` ran is a local run: manage.py then works here without more set-up.
.env:
	@printf '# Written by make: this checkout is a local run (see .env.example).\nLOCAL_RUN=1\n' > $@

$(VENV)/.deps: requirements.txt | $(BIN)/python .env
	$(BIN)/pip install --quiet -r requirements.txt
	@touch $@

$(VENV)/.dev-deps: requirements.txt requirements-dev.txt | $(BIN)/python .env
	$(BIN)/pip install --quiet -r requirements-dev.txt
	@touch $@ $(VENV)/.deps

# html-validate (npm, pinned in package-lock.json) for tests/test_html_valid.py, where node is installed;
# without npm the test skips (and fails under CI, which must have it).
node_modules/.installed: package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then npm ci --no-audit --no-fund && touch $@; \
	else echo "npm not found: the HTML validity test (html-validate) will be skipped"; fi

venv: $(VENV)/.deps
dev-deps: $(VENV)/.dev-deps node_modules/.installed

migrate: $(VENV)/.deps
	$(BIN)/python manage.py migrate --noinput

# bash: the recipe of `run` waits for the first of two processes (wait -n).
run: SHELL := /bin/bash
run: $(VENV)/.deps
	@mkdir -p data
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	@# Demo data only on the first run: a marker under data/ keeps later runs from touching it. The demo is
	@# all or nothing, so after a failure the marker stays unwritten and the next `make run` simply tries again.
	@if [ ! -f data/.demo-loaded ]; then \
		$(BIN)/python manage.py seed_demo && touch data/.demo-loaded || { \
		echo "The demo data could not be loaded; nothing of it was kept. Run 'make run' again to retry."; exit 1; }; \
	fi
	@$(BIN)/python manage.py demo_logins
	@echo "Serving on http://$(HOST):$(PORT)/ with the background worker (Ctrl-C stops both; data stays in data/)."
	@# The web server and the background worker (reminders, offers) side by side. Background jobs of a script
	@# ignore Ctrl-C, so this shell is the one that hears it (or make's SIGTERM, or a hang-up) and stops both,
	@# waiting for each; if either one ends by itself, the other is stopped too: no process is left behind.
	@export CLINIC_SITE_URL="$${CLINIC_SITE_URL:-http://$(HOST):$(PORT)}"; \
	$(BIN)/python manage.py run_worker & worker=$$!; \
	$(BIN)/gunicorn clinic.wsgi:application --bind $(HOST):$(PORT) --workers 3 --threads 4 & web=$$!; \
	trap 'echo "Stopping the web server and the worker..."' INT TERM HUP; \
	wait -n $$web $$worker; status=$$?; \
	kill -TERM $$web $$worker 2>/dev/null; wait $$web; wait $$worker; \
	exit $$status

test: $(VENV)/.dev-deps
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.dev-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

# A throwaway local clinic under a reception-and-doctor workload (locust) for LOADTEST_SECONDS
# (default 60) with LOADTEST_USERS (default 20); prints throughput, latency percentiles, failures.
loadtest: $(VENV)/.dev-deps
	BIN=$(BIN) bash loadtest/run.sh

# The scale benchmark, kept out of `make test`: seeds the demo and the big set (100,000 patients) once into
# data/bench/ (SQLite) and clinic_bench_* (PostgreSQL at BENCH_PG_URL), times every page at both sizes against
# a trivial signed-in page, runs the booking storm, prints the table (BENCH_DB=sqlite|postgresql for one).
.PHONY: bench
bench: $(VENV)/.dev-deps
	$(BIN)/python manage.py bench

# The Docker image built and tried on SQLite and on PostgreSQL (POSTGRES_URL, by default the local server, in
# a database of its own): release step, health checks, sign-in, an upload (docker/smoke.sh). Needs Docker; not in CI.
.PHONY: docker-smoke
docker-smoke:
	bash docker/smoke.sh

seed: $(VENV)/.deps
	$(BIN)/python manage.py seed_demo

clean:
	rm -rf $(VENV) staticfiles .pytest_cache
