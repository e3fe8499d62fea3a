# Two commands on a fresh machine: `make run` (the monitor on its embedded broker, replaying
# the shipped sample) and `make test`. Both create .venv when it is missing and are safe to rerun.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.pot-installed

.PHONY: run test clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[test,train]'
	@touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/pot run --replay sample

test: $(STAMP)
	$(PY) -m pytest

clean:
	rm -rf $(VENV) var .pot .pytest_cache
