# Two entry points: `make demo` (set up, route a simulated day, print the savings report)
# and `make test` (set up, run every test). Both work on a fresh machine with only Python 3.11+.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/mmoa demo $(ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/python bench/route_overhead.py
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/cli_startup.py
	$(BIN)/python bench/strategy_overhead.py
	$(BIN)/python bench/collector_ingest.py
	$(BIN)/python bench/reservation_overhead.py
	# these two build (once, cached) a 10-million-span store: several minutes the first time
	$(BIN)/python bench/dashboard.py
	$(BIN)/python bench/budget_controller.py

clean:
	rm -rf $(VENV) mmoa.duckdb mmoa.duckdb.wal
