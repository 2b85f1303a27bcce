# pht — one command to set up, one to run, one to test.
PYTHON ?= python3.11
ifeq (, $(shell command -v $(PYTHON) 2>/dev/null))
PYTHON := python3
endif
UV_VERSION := 0.13.8
TOOLS := .tools
UV := $(TOOLS)/bin/uv
export UV_PROJECT_ENVIRONMENT := $(CURDIR)/.venv
VENV := .venv
PHT := $(VENV)/bin/pht
PY := $(VENV)/bin/python

.PHONY: setup run test test-postgres lint format typecheck bench clean codes validate

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet uv==$(UV_VERSION)

$(VENV)/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --all-groups
	@touch $@

setup: $(VENV)/.synced

run: setup
	$(PHT) run

test: setup
	bash scripts/install-chromium.sh
	bash scripts/install-axe.sh
	bash scripts/postgres.sh start >/dev/null
	bash scripts/oidc-provider.sh start >/dev/null
	$(VENV)/bin/pytest $(PYTEST_PARALLEL)
	$(PG_LANE)

# Two pytest workers (pytest-xdist), a file's tests in one of them (module fixtures such as the
# Spark session stay one per file): much of the suite waits on subprocesses, browsers and
# servers, so two workers finish sooner on two cores. PYTEST_PARALLEL= runs in one process.
PYTEST_PARALLEL ?= -n 2 --dist loadfile
# The PostgreSQL lane: the web app's tests again, on the throw-away server of scripts/postgres.sh.
PG_LANE = PHT_REQUIRE_POSTGRES=1 DATABASE_URL="$$(cat $(TOOLS)/postgres.url)" $(VENV)/bin/pytest $(PYTEST_PARALLEL) tests/app
test-postgres: setup
	bash scripts/postgres.sh start >/dev/null
	$(PG_LANE)

lint: setup
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/bandit -q -c pyproject.toml -r src
	$(UV) export --frozen --all-groups --no-emit-project --no-hashes -o $(TOOLS)/requirements-audit.txt >/dev/null
	$(PY) scripts/pip_audit.py $(TOOLS)/requirements-audit.txt  # fails when advisories cannot be fetched

format: setup
	$(VENV)/bin/ruff format src tests bench
	$(VENV)/bin/ruff check --fix src tests bench

typecheck: setup
	$(VENV)/bin/mypy

bench: setup
	$(PY) -m bench

# Monte-Carlo validation of the evaluation (coverage, bias, size) over 100 seeds (~25 min on 2 cores); not a test.
validate: setup
	$(PY) bench/validate_evaluation.py --seeds 100 --persons 40000 --jobs 2

clean:
	rm -rf $(VENV) $(TOOLS) var .pytest_cache .ruff_cache .mypy_cache .hypothesis

# Full Norwegian ICPC-2 and ICD-10 lists (pinned npm package) into $$PHT_HOME/codes (default var/codes).
DIAGNOSEKODER := @navikt/diagnosekoder@1.2026.0
codes: setup
	mkdir -p var/npm
	cd var/npm && npm pack --silent $(DIAGNOSEKODER)
	$(PY) -m pht.reference.codes install var/npm/navikt-diagnosekoder-1.2026.0.tgz
