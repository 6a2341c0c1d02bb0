# The README's commands. `make test` sets up everything (virtualenv, Kafka jars,
# redis-server, promtool) and runs the whole suite: lint, types, unit and integration.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: test setup venv infra lint typecheck unit demo bench clean

test: setup lint typecheck
	$(BIN)/pytest

setup: venv infra

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

infra:
	bash tests/infra/setup.sh

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: venv
	$(BIN)/mypy

unit: venv
	$(BIN)/pytest tests/unit

demo: venv
	$(BIN)/distillguard demo

bench: venv
	$(BIN)/python bench/replay_throughput.py

clean:
	rm -rf $(VENV) tests/infra/target .pytest_cache .mypy_cache .ruff_cache
