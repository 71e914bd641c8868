# flaechen: `make demo` sets everything up and builds the demo district into out/demo/;
# `make test` sets everything up and runs the tests.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: setup system demo notebooks render test lint bench clean

setup: system $(VENV)/.installed node_modules/.installed

# Debian packages the project needs (PostGIS, Chromium, QGIS, the BETA2007 grid): scripts/install-system.sh.
system:
	@bash scripts/install-system.sh

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

# Leaflet and its plugins for the offline map site, from the npm registry (package.json); never committed.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

demo: setup
	$(VENV)/bin/flaechen demo --out out/demo

# The notebooks executed on out/demo, in place: they are committed with their outputs.
notebooks: demo
	$(PY) scripts/run_notebooks.py

# A PNG of the demo district's QGIS project, rendered by QGIS (Debian's python3-qgis, system Python).
render: demo
	/usr/bin/python3 scripts/render_qgis.py out/demo/district.qgz out/demo/district.png

test: setup
	$(PY) -m pytest

# The gates CI runs before the tests: ruff (lint and format), mypy strict on flaechen/, the doctests (they
# build a small demo district with its map site and print its A3 maps: the whole setup, npm and Chromium too).
lint: setup
	$(VENV)/bin/ruff check flaechen tests benchmarks
	$(VENV)/bin/ruff format --check flaechen tests benchmarks
	$(VENV)/bin/mypy
	$(PY) -m pytest --doctest-modules flaechen -q -p no:cacheprovider

bench: setup
	$(PY) benchmarks/bench_pipeline.py

clean:
	rm -rf out .pytest_cache
