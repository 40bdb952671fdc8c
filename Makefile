# Two commands set up a fresh machine: `make run` (the portal) and `make test` (the suite).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test lint mutation check-python clean

check-python:
	@command -v $(PYTHON) >/dev/null || { echo "No $(PYTHON) found: install Python 3.11 or newer (apt-get install python3 python3-venv)."; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed; $(PYTHON) is " + sys.version.split()[0])'
	@$(PYTHON) -c 'import venv, ensurepip' 2>/dev/null || { echo "$(PYTHON) has no venv module: install it (apt-get install python3-venv)."; exit 1; }

$(VENV)/.installed-run: pyproject.toml | check-python
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-dev: $(VENV)/.installed-run
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

# Installs, migrates, loads the demo data and the default plan, starts Daphne on 127.0.0.1:8000.
run: $(VENV)/.installed-run
	@echo "Starting a DEVELOPMENT server (by default DEBUG on, SQLite, demo logins): not for production; docs/deploy.md says how to deploy."
	@$(PY) manage.py check --tag reports --fail-level ERROR
	$(PY) manage.py migrate --noinput
	$(PY) manage.py load_demo
	$(PY) manage.py serve

# The whole test suite, on the embedded defaults (SQLite, in-memory channel layer) unless
# DATABASE_URL / REDIS_URL say otherwise. Installs chromium for the browser tests when missing.
test: $(VENV)/.installed-dev
	@bash .ci/system-packages
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy .
	$(PY) manage.py makemigrations --check --dry-run

# Mutation testing of the judge and frames.py (mutmut 2.x, one module at a time, in a
# temporary copy). Slow and not in CI; scores go to bench/RESULTS.md. MUTATION_ARGS can name
# modules, a per-module --timeout, a kept --workdir and --recheck (python -m bench.mutation -h).
mutation: $(VENV)/.installed-dev
	$(PY) -m bench.mutation $(MUTATION_ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
