# Two commands on a fresh machine with Python 3.11, git and make:
#   make demo    build a synthetic dataset under ./demo-data, read it back, report speed
#   make test    install locked dependencies and run the whole test suite
PYTHON ?= python3
TOOLS := .tools
UV := $(TOOLS)/bin/uv
UV_VERSION := 0.13.9
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := $(PYTHON)
PYTEST_WORKERS ?= 2

.PHONY: all setup demo test test-fast bench lint format clean

all: test

# uv itself is pinned and installed into a private venv, so nothing global changes.
$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

.venv/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --locked --all-extras --quiet
	touch $@

setup: .venv/.synced

demo: setup
	$(UV) run --locked --no-sync python -m cloudvol.demo

test: setup
	$(UV) run --locked --no-sync pytest -n $(PYTEST_WORKERS) --timeout 900 -q

test-fast: setup
	$(UV) run --locked --no-sync pytest -n $(PYTEST_WORKERS) -q -m "not slow and not interop"

bench: setup
	$(UV) run --locked --no-sync python -m benchmarks.run $(BENCH_ARGS)
	$(UV) run --locked --no-sync python -m benchmarks.bench_spatial_index

lint: setup
	$(UV) run --locked --no-sync ruff check src tests benchmarks
	$(UV) run --locked --no-sync ruff format --check src tests benchmarks
	$(UV) run --locked --no-sync mypy

format: setup
	$(UV) run --locked --no-sync ruff format src tests benchmarks
	$(UV) run --locked --no-sync ruff check --fix src tests benchmarks

clean:
	rm -rf .venv $(TOOLS) demo-data .bench-data .pytest_cache .hypothesis
