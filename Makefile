# Siyu: the two commands a newcomer runs are `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
VENDOR := src/siyu/web/static/vendor
ASSETS := $(VENDOR)/htmx.min.js $(VENDOR)/echarts.min.js
DEMO_DB ?= siyu.db
export SIYU_DATABASE_URL ?= sqlite:///./$(DEMO_DB)

.PHONY: demo test setup lint typecheck pytest bench clean

setup: $(STAMP) $(ASSETS)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

$(VENDOR)/htmx.min.js: node_modules/.package-lock.json
	mkdir -p $(VENDOR)
	cp node_modules/htmx.org/dist/htmx.min.js $@

$(VENDOR)/echarts.min.js: node_modules/.package-lock.json
	mkdir -p $(VENDOR)
	cp node_modules/echarts/dist/echarts.min.js $@

# Builds the demo brand once (re-running reuses the database file) and serves the console.
# With SIYU_WECOM_FAKE=1 it also starts the fake WeCom server on loopback and points Siyu at it (live adds).
demo: setup
	$(BIN)/siyu db upgrade
	$(BIN)/siyu demo --if-empty
	@if [ "$${SIYU_WECOM_FAKE:-0}" = "1" ]; then sh tools/demo_wecom_fake.sh; fi
	$(BIN)/siyu serve

lint: setup
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/python tools/check_architecture.py

typecheck: setup
	$(BIN)/mypy

# The suite runs on SQLite, and again on PostgreSQL when SIYU_TEST_DATABASE_URL is set.
pytest: setup
	env -u SIYU_TEST_DATABASE_URL $(BIN)/pytest -n 2
	@if [ -n "$$SIYU_TEST_DATABASE_URL" ]; then \
		echo "== again on PostgreSQL ($$SIYU_TEST_DATABASE_URL)"; \
		$(BIN)/pytest -n 2; \
	fi

test: lint typecheck pytest

bench: setup
	@command -v wrk >/dev/null || { echo "wrk is missing (bench/bench_pages.py drives the console with it): sudo apt-get install wrk"; exit 1; }
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) node_modules $(VENDOR) .mypy_cache .ruff_cache
