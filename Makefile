# citeqa — the two commands the README starts with are `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
QUESTION ?= What will the new structure replacing the Old Tanner Bridge cost?

.PHONY: run test install install-test lint typecheck bench bench-scale clean readme

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade --quiet pip

# torch first and pinned: the CPU wheel (2.13.0+cpu) instead of a multi-GB CUDA build
install: $(BIN)/python
	$(BIN)/pip install --quiet "torch==2.13.0"
	$(BIN)/pip install --quiet -e .

install-test: install
	$(BIN)/pip install --quiet -e ".[test,llm]"

run: install
	$(BIN)/citeqa ingest samples/articles
	$(BIN)/citeqa ask "$(QUESTION)"
	$(BIN)/citeqa serve

test: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck:
	$(BIN)/mypy

bench: install-test
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/query.py

bench-scale: install-test
	$(BIN)/python bench/scale.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache

readme:
	$(BIN)/python -m ui.cli.docs README.md
