# Two commands on a fresh clone: `make demo` and `make test`. Each builds .venv
# once (python3 -m venv + pip install -e .[dev]) and reinstalls only when
# pyproject.toml changed.
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed
BIN := $(VENV)/bin

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "finsam needs Python 3.11 or newer; this is " + sys.version.split()[0])'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# finsam's own modules compiled once: where PYTHONDONTWRITEBYTECODE is set (as on this
# project's machines), every process would compile them again (about 60 ms each, and
# the demo and the suite start a few hundred)
COMPILED := workflow cli web notifications states examples

demo: $(STAMP)
	@$(BIN)/python -m compileall -q $(COMPILED) > /dev/null
	FINSAM=$(BIN)/finsam ./examples/demo.sh

test: $(STAMP)
	$(BIN)/ruff check .
	@$(BIN)/python -m compileall -q $(COMPILED) tests > /dev/null
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: $(STAMP)
	$(BIN)/python bench/startup.py

clean:
	rm -rf $(VENV) demo-out .pytest_cache
