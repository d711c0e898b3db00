# The two commands the README opens with: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DATA_DIR ?= ./data
HOST ?= 127.0.0.1
PORT ?= 8080

.PHONY: install system-deps run test test-fast lint clean clean-data

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'

# PostgreSQL, ClamAV, Chromium...: installed when missing if we are root, otherwise named and refused.
system-deps:
	bash scripts/install-system-deps.sh

run: install
	$(BIN)/fleetscan run --data-dir $(DATA_DIR) --host $(HOST) --port $(PORT)

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy

test: system-deps lint
	$(BIN)/pytest -q

# The inner loop: no real agents, browsers, benchmarks or fuzzing, SQLite only.
test-fast: lint
	$(BIN)/pytest -q -m "not slow and not reliability" -k "not postgresql"

clean:
	rm -rf $(VENV)

clean-data:
	rm -rf $(DATA_DIR)
