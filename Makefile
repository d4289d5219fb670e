# The project's two commands: `make demo` and `make test`. Each sets up .venv first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup demo test lint bench bench-engine bench-browser clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

## setup: create .venv with the package and its test tools
setup: $(STAMP)

## demo: run the main job (headless where there is no display)
demo: $(STAMP)
	$(PY) main.py $(ARGS)

## lint: ruff (lint and format) and mypy
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

## test: lint, type-check and run the test suite
test: lint
	$(PY) -m pytest $(PYTEST_ARGS)

## bench: the calling benchmark next to bare aiortc (prints a table)
bench: $(STAMP)
	$(PY) -m bench.calls $(ARGS)

## bench-engine: the engine benchmark (video walls, scene camera; prints tables)
bench-engine: $(STAMP)
	$(PY) -m bench.engine $(ARGS)

## bench-browser: game <-> headless Chromium at 720p30 next to the Python rows (prints a table)
bench-browser: $(STAMP)
	$(PY) -m bench.browser $(ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
