# Two commands for a newcomer: `make demo` and `make test`. Both create the virtualenv first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

# The reader/writer tests run a second time on the pure-Python path (CUEPIPE_NO_EXTENSIONS=1 makes the
# Python side ignore the compiled core), so what a pure-Python install runs is tested too.
PURE_TESTS := tests/test_speedups.py tests/test_xml_reader.py tests/test_xml_writer.py tests/test_roundtrip.py \
	tests/test_frames.py tests/test_hostile.py

.PHONY: venv demo test test-fast test-pure lint typecheck format bench clean

$(STAMP): pyproject.toml hatch_build.py cuepipe/xml/_speedups.pyx $(wildcard cuepipe/xml/_speedups_*.pxi)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,dask,bench,kaltura]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/cuepipe demo

# The whole suite: lint, format, types, every test, then the pure-Python run.
test: $(STAMP)
	$(BIN)/ruff check cuepipe tests benchmarks hatch_build.py
	$(BIN)/ruff format --check cuepipe tests benchmarks hatch_build.py
	$(BIN)/mypy
	$(BIN)/python -m pytest -q
	CUEPIPE_NO_EXTENSIONS=1 $(BIN)/python -m pytest -q -p no:cacheprovider $(PURE_TESTS)

# The inner loop: the same checks, without the tests marked slow and without the pure-Python run.
test-fast: $(STAMP)
	$(BIN)/ruff check cuepipe tests benchmarks hatch_build.py
	$(BIN)/ruff format --check cuepipe tests benchmarks hatch_build.py
	$(BIN)/mypy
	$(BIN)/python -m pytest -q -m "not slow"

test-pure: $(STAMP)
	CUEPIPE_NO_EXTENSIONS=1 $(BIN)/python -m pytest -q -p no:cacheprovider $(PURE_TESTS)

typecheck: $(STAMP)
	$(BIN)/mypy

lint: $(STAMP)
	$(BIN)/ruff check cuepipe tests benchmarks hatch_build.py
	$(BIN)/ruff format --check cuepipe tests benchmarks hatch_build.py

format: $(STAMP)
	$(BIN)/ruff format cuepipe tests benchmarks hatch_build.py
	$(BIN)/ruff check --fix cuepipe tests benchmarks hatch_build.py

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run $(if $(FULL),--full,)

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .hypothesis
