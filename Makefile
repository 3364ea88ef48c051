# Two commands for a newcomer: `make demo` and `make test`. Both create the virtualenv first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: venv demo test lint format bench clean

$(STAMP): pyproject.toml hatch_build.py cuepipe/xml/_speedups.pyx
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,dask,bench,formats]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/cuepipe demo

test: $(STAMP)
	$(BIN)/ruff check cuepipe tests benchmarks hatch_build.py
	$(BIN)/ruff format --check cuepipe tests benchmarks hatch_build.py
	$(BIN)/python -m pytest -q

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
