# Two commands set everything up on a fresh machine with Python 3.11+ and git:
#   make demo   installs into .venv and runs the flagship scenario
#   make test   installs into .venv (with test tools) and runs the tests
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/sim run scenarios/tokyo_initiative.yaml --replicates 200

test: $(STAMP)
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV)
