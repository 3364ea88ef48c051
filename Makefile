# Two commands for a newcomer: `make demo` and `make test`. Both create the virtualenv first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
LINT_PATHS := cuepipe tests benchmarks hatch_build.py docs/gen_api_reference.py

# The reader/writer tests run a second time on the pure-Python path (CUEPIPE_NO_EXTENSIONS=1 makes the
# Python side ignore the compiled core), so what a pure-Python install runs is tested too.
PURE_TESTS := tests/test_speedups.py tests/test_xml_reader.py tests/test_xml_writer.py tests/test_roundtrip.py \
	tests/test_frames.py tests/test_hostile.py tests/test_read_sparse_columns.py tests/test_write_any_input.py \
	tests/test_chunk_memory.py

# pytest-xdist workers. Most of the suite waits (emulators, subprocesses, a client's timeouts), so
# more workers than cores pays off; PYTEST_JOBS=0 runs everything in one process. --dist loadfile
# keeps each module in one worker: its module-scoped emulators start once, the packaging tests
# build their wheel once, and mypy's cache is not written by two tests at once.
PYTEST_JOBS ?= 4
PYTEST := $(BIN)/python -m pytest -q -n $(PYTEST_JOBS) --dist loadfile

.PHONY: venv demo test test-fast test-pure lint typecheck format bench docs clean

$(STAMP): pyproject.toml hatch_build.py cuepipe/xml/_speedups.pyx $(wildcard cuepipe/xml/_speedups_*.pxi) cuepipe/_version.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,dask,bench,kaltura,formats]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/cuepipe demo

# The whole suite: lint, format, types, every test, then the pure-Python run.
test: $(STAMP)
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)
	$(BIN)/mypy
	$(PYTEST)
	CUEPIPE_NO_EXTENSIONS=1 $(PYTEST) -p no:cacheprovider $(PURE_TESTS)

# The inner loop: the same checks, without the tests marked slow and without the pure-Python run.
test-fast: $(STAMP)
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)
	$(BIN)/mypy
	$(PYTEST) -m "not slow"

test-pure: $(STAMP)
	CUEPIPE_NO_EXTENSIONS=1 $(PYTEST) -p no:cacheprovider $(PURE_TESTS)

typecheck: $(STAMP)
	$(BIN)/mypy

lint: $(STAMP)
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)

format: $(STAMP)
	$(BIN)/ruff format $(LINT_PATHS)
	$(BIN)/ruff check --fix $(LINT_PATHS)

# docs/api-reference.md from the docstrings (tests/test_docs.py fails when it is out of date)
docs: $(STAMP)
	$(BIN)/python docs/gen_api_reference.py

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run $(if $(FULL),--full,)

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .hypothesis
