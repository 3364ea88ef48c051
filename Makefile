# Two commands for a newcomer: `make demo` and `make test`. Both create the virtualenv first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: venv demo test lint format bench docs clean

$(STAMP): pyproject.toml hatch_build.py cuepipe/xml/_speedups.pyx cuepipe/_version.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,dask,bench]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/cuepipe demo

test: $(STAMP)
	$(BIN)/ruff check cuepipe tests benchmarks hatch_build.py docs/gen_api_reference.py
	$(BIN)/ruff format --check cuepipe tests benchmarks hatch_build.py docs/gen_api_reference.py
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check cuepipe tests benchmarks hatch_build.py docs/gen_api_reference.py
	$(BIN)/ruff format --check cuepipe tests benchmarks hatch_build.py docs/gen_api_reference.py

format: $(STAMP)
	$(BIN)/ruff format cuepipe tests benchmarks hatch_build.py docs/gen_api_reference.py
	$(BIN)/ruff check --fix cuepipe tests benchmarks hatch_build.py docs/gen_api_reference.py

# docs/api-reference.md from the docstrings (tests/test_docs.py fails when it is out of date)
docs: $(STAMP)
	$(BIN)/python docs/gen_api_reference.py

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run $(if $(FULL),--full,)

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .hypothesis
