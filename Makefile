# Two commands a newcomer needs:  make demo  (set up + scan bundled real captures)
#                                 make test  (set up + lint + type-check + the whole test suite)
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin

.PHONY: demo test lint setup bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# The compiled engine (Cython, see setup.py) is rebuilt whenever a .pyx/.pxd changes.
$(VENV)/.installed: pyproject.toml setup.py $(wildcard src/hedgerow/*/*.pyx src/hedgerow/*/*.pxd) | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev,bench]'
	touch $@

# Bytecode for the package: where PYTHONDONTWRITEBYTECODE is set, every command otherwise
# compiles its ~80 modules from source at start (~80 ms CPU). Stale files are ignored by Python.
setup: $(VENV)/.installed
	$(BIN)/python -m compileall -q src/hedgerow

demo: setup
	$(BIN)/hedgerow scan data/samples/ -o out/demo

lint: setup
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy

test: lint
	$(BIN)/pytest

bench: setup
	$(BIN)/python benchmarks/bench_capture.py --repeat 3
	$(BIN)/python benchmarks/bench_flows.py --repeat 3
	$(BIN)/python benchmarks/bench_scan.py --repeat 3

clean:
	rm -rf $(VENV) out .pytest_cache .mypy_cache .ruff_cache build
	find src/hedgerow \( -name '*.so' -o -name '_*.c' \) -delete
	find src/hedgerow -name __pycache__ -prune -exec rm -rf {} +
