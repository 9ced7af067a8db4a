# Tally: the two set-up commands are `make run` and `make test`. Both create .venv and install
# the requirements; without DATABASE_URL / REDIS_URL they start a private Postgres and Redis under
# TALLY_DATA_DIR (default .data), which any command run through scripts/services.py meanwhile
# (make manage, make bench) shares instead of starting or stopping its own.

PYTHON ?= $(shell pyenv which python3.13 2>/dev/null || command -v python3.13 || echo python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
WITH_SERVICES := $(BIN)/python scripts/services.py --
export DJANGO_DEBUG ?= 1
export TALLY_DATA_DIR ?= .data

.PHONY: run manage test check bench clean

$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	@touch $(STAMP)

# The web and Celery processes count into one folder that /metrics adds up (prometheus-client's
# multiprocess mode), emptied at each start: what is there belongs to processes of this run. Seeding
# counts in its own process only: its events are recorded in the past, which no commit-to-visible
# figure should hold.
METRICS_DIR := $(abspath $(TALLY_DATA_DIR))/metrics

run: $(STAMP)  ## Run the app (web on http://127.0.0.1:8000, Celery worker and beat)
	$(WITH_SERVICES) sh -c 'python manage.py migrate --no-input && python manage.py seed_demo --if-empty \
		&& rm -rf "$(METRICS_DIR)" && mkdir -p "$(METRICS_DIR)" && PROMETHEUS_MULTIPROC_DIR="$(METRICS_DIR)" honcho start'

manage: $(STAMP)  ## manage.py on make run's services (attached while it runs): make manage ARGS="verify_projections"
	$(WITH_SERVICES) python manage.py $(ARGS)

# The tests get services of their own (in $(TALLY_DATA_DIR)/test): they never touch make run's data
# or its Redis (their nudges would reach its workers), and make run never sees theirs.
test: $(STAMP)  ## Run the whole test suite (unit, Postgres, Celery, browser, faults)
	TALLY_DATA_DIR=$(TALLY_DATA_DIR)/test $(WITH_SERVICES) python -m pytest $(PYTEST_ARGS)

check: $(STAMP)  ## Lint, format check and type check (ruff, mypy with django-stubs); CI runs it before the tests
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

BENCH_STAMP := $(VENV)/.bench-installed
$(BENCH_STAMP): $(STAMP) requirements-bench.txt
	$(BIN)/python -m pip install --quiet -r requirements-bench.txt
	@touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)  ## Benchmarks: one table + bench-results/latest.{json,md}; BENCH_ARGS=--quick for the run CI makes (about 4 min)
	$(WITH_SERVICES) python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .data staticfiles test-artifacts
