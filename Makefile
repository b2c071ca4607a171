# Quick start: `make demo` runs the whole stack; `make test` runs the whole test suite.
# Both set up .venv first, with a Python >= 3.12 found on this machine.

VENV    := .venv
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed

.PHONY: demo test lint typecheck bench venv clean

demo: $(STAMP)
	$(PY) -m edge.cli demo

test: $(STAMP)
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check edge addons tests

typecheck: $(STAMP)
	$(VENV)/bin/mypy edge

bench: $(STAMP)
	$(PY) -m edge.cli bench rules --out bench-results/rules.json
	$(PY) -m edge.cli bench proxy --out bench-results/proxy.json

venv: $(STAMP)

$(STAMP): pyproject.toml scripts/find-python.sh
	@PYTHON=$$(sh scripts/find-python.sh) || exit 1; \
	 echo "using $$PYTHON ($$($$PYTHON --version))"; \
	 test -x $(PY) || $$PYTHON -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

clean:
	rm -rf $(VENV) var build *.egg-info .pytest_cache .mypy_cache .ruff_cache
