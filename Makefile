# photobus: `make run` starts every service; `make test` runs the whole test suite.
# Both set up what they need first: uv, the virtual environment, the database.

SHELL := /bin/bash
# Recursive (=): looked up at each use, so a uv installed by the `uv` target is found.
UV = $(shell command -v uv 2>/dev/null || echo "python3 -m uv")
PYTEST_ARGS ?=

.PHONY: setup uv venv db browser run test bench fuzz lint typecheck clean

uv:
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet uv

# Bytecode compiled once here: where PYTHONDONTWRITEBYTECODE is set (as on this project's
# machines) Python never caches it, and every service process compiled all it imports,
# ~1 CPU-s per start, and again at its first upload or photo (Pillow's plugins).
venv: uv
	@$(UV) sync --all-packages --frozen --quiet --compile-bytecode
	@$(UV) run --frozen --no-sync python -m compileall -q -j0 libs services bench tests >/dev/null

db: venv
	@$(UV) run --frozen python -m photobus_status.dbsetup

# Debian's Chromium, for the gallery's browser tests (Playwright drives it; it never downloads one).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else \
	    echo "photobus: the gallery's browser tests need Chromium: sudo apt-get install chromium"; \
	  fi; }

setup: venv db browser

# The Procfile runs all three publishers; a destination without credentials reports
# its photos `skipped: not_configured`, so jobs still complete.
run: setup
	@echo "photobus: ingest http://127.0.0.1:$${PHOTOBUS_INGEST_PORT:-8080}  status and gallery http://127.0.0.1:$${PHOTOBUS_STATUS_PORT:-8081}"
	@PHOTOBUS_PUBLISHERS=$${PHOTOBUS_PUBLISHERS-imgur,flickr,gphotos} $(UV) run --frozen honcho start -f Procfile

test: setup
	@$(UV) run --frozen pytest $(PYTEST_ARGS)

# The full chaos suite (N=300; SEED=n to vary), then RabbitMQ restarted 10 times under every service.
chaos: setup
	@$(UV) run --frozen python -m tests.chaos --photos 300 --seed $${SEED:-1}
	@$(UV) run --frozen pytest -m chaos tests/chaos/test_consumers_come_back.py $(PYTEST_ARGS)

# Longer fuzzing of sniff → probe → render: hypothesis (FUZZ_EXAMPLES), then atheris (FUZZ_SECONDS).
fuzz: venv
	@PHOTOBUS_FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-5000} $(UV) run --frozen pytest tests/fuzz $(PYTEST_ARGS) -o timeout=0
	@$(UV) run --frozen python -m tests.fuzz.atheris_decode -max_total_time=$${FUZZ_SECONDS:-300} -rss_limit_mb=2048 -timeout=10

bench: setup
	@$(UV) run --frozen python -m bench

lint: venv
	@$(UV) run --frozen ruff check .
	@$(UV) run --frozen ruff format --check .

typecheck: venv
	@$(UV) run --frozen mypy libs/common/src services/*/src

clean:
	rm -rf .venv var test-output .pytest_cache .mypy_cache .ruff_cache
