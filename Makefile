# photobus: `make run` starts every service; `make test` runs the whole test suite.
# Both set up what they need first: uv, the virtual environment, the database.

SHELL := /bin/bash
# Recursive (=): looked up at each use, so a uv installed by the `uv` target is found.
UV = $(shell command -v uv 2>/dev/null || echo "python3 -m uv")
PYTEST_ARGS ?=

.PHONY: setup uv venv db run test bench lint typecheck clean

uv:
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet uv

venv: uv
	@$(UV) sync --all-packages --frozen --quiet

db: venv
	@$(UV) run --frozen python -m photobus_status.dbsetup

setup: venv db

run: setup
	@echo "photobus: ingest http://127.0.0.1:$${PHOTOBUS_INGEST_PORT:-8080}  status and gallery http://127.0.0.1:$${PHOTOBUS_STATUS_PORT:-8081}"
	@$(UV) run --frozen honcho start -f Procfile

test: setup
	@$(UV) run --frozen pytest $(PYTEST_ARGS)

bench: setup
	@$(UV) run --frozen python -m bench

lint: venv
	@$(UV) run --frozen ruff check .
	@$(UV) run --frozen ruff format --check .

typecheck: venv
	@$(UV) run --frozen mypy libs/common/src services/*/src

clean:
	rm -rf .venv var test-output .pytest_cache .mypy_cache .ruff_cache
