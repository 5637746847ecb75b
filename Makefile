# Sundhed: `make run` serves it, `make test` proves it. Needs only Python 3.11+, make and git.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint install messages bench clean-data

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit("Python 3.11 or newer is needed") if sys.version_info < (3, 11) else None'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/python -m sundhed.devstack run

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	@# mypy's Django plugin imports the settings, which want URLs; nothing connects to them.
	SUNDHED_ENV=development DATABASE_URL=postgresql://typecheck@localhost/typecheck \
	  REDIS_URL=redis://localhost:1/0 $(BIN)/mypy

test: lint
	$(BIN)/python -m sundhed.devstack test -- $(PYTEST_ARGS)

messages: install
	$(BIN)/python -m sundhed.devstack exec --profile test -- $(BIN)/python manage.py makemessages -l da -l en --ignore '.venv/*' --ignore '.data/*' --ignore 'static/vendor/*'
	$(BIN)/python -m sundhed.devstack exec --profile test -- $(BIN)/python manage.py compilemessages --ignore '.venv/*'

BENCH_STAMP := $(VENV)/.installed-bench

$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[dev,bench]"
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(BIN)/python -m sundhed.devstack exec --profile bench -- $(BIN)/python -m bench

clean-data:
	rm -rf .data
