# Two entry points for a fresh machine with Python 3.11+ and make:
#   make run   - Omni on its embedded defaults (Temporal dev server + worker)
#   make test  - the test suite
# The virtualenv is installed from requirements.lock (every package pinned, with hashes), so two
# machines get the same set; `make lock` regenerates it after pyproject.toml changes.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LOCK := requirements.lock
AUDIT_SERVICE ?= pypi

.PHONY: run test lint bench audit lock clean

$(STAMP): pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/omni dev

# The suite waits on servers and timers far more than it computes: four workers (pytest-xdist,
# each with its own Temporal dev server) finish it in about a third of the time on two cores.
TEST_WORKERS ?= 4

test: $(STAMP)
	$(BIN)/pytest -q -rs -n $(TEST_WORKERS) --dist worksteal

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: $(STAMP)
	$(BIN)/python bench/engine.py
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/channels.py
	$(BIN)/python bench/console.py
	$(BIN)/python bench/learning.py
	$(BIN)/python bench/send_time.py
	$(BIN)/python bench/look.py

# pip-audit against the lock; exit 2 and "AUDIT NOT DONE" when the advisory database
# (AUDIT_SERVICE: pypi or osv) cannot be reached, never a false "no known vulnerabilities".
audit: $(STAMP)
	$(BIN)/python tools/audit.py $(LOCK) --service $(AUDIT_SERVICE)

lock: $(STAMP)
	env -u PIP_FIND_LINKS PIP_CONFIG_FILE=/dev/null $(BIN)/pip-compile --quiet --extra dev --generate-hashes --allow-unsafe --no-strip-extras \
	    --build-deps-for wheel --build-deps-for editable --index-url https://pypi.org/simple \
	    --no-emit-index-url --no-emit-find-links --output-file $(LOCK) pyproject.toml

clean:
	rm -rf $(VENV) .data
