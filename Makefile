# Two entry points for a fresh clone: `make run` and `make test`. Each creates .venv itself.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: run test lint clean

# `make run` installs only what running needs; `make test` adds the developer tools (dev) and the desk's
# multi-process server (workers), whose unit file the suite checks with systemd-analyze.
$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml $(VENV)/bin/python
	$(BIN)/pip install --quiet -e .
	touch $(STAMP)

$(TEST_STAMP): pyproject.toml $(VENV)/bin/python
	$(BIN)/pip install --quiet -e '.[dev,workers]'
	touch $(STAMP) $(TEST_STAMP)

# The main job on the embedded default: a SQLite database beside config.toml, loaded with the demo registry.
run: $(STAMP)
	$(BIN)/obligations init --demo
	$(BIN)/obligations org list
	$(BIN)/obligations due
	$(BIN)/obligations remind --dry-run
	@echo "党务工作台：$(BIN)/obligations serve，打开 http://127.0.0.1:8080/ ，用上面「演示账号」中的编号和密码登录。"

lint: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# The suite runs against SQLite and, through scripts/with-postgres, a throwaway PostgreSQL server, on every
# core (pytest-xdist: each worker process gets its own PostgreSQL database, see tests/conftest.py).
test: lint
	scripts/with-postgres $(BIN)/pytest -n auto

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
