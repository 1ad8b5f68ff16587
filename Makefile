# Two commands set everything up on a fresh machine with Python 3.11+ and git:
#   make demo   installs into .venv and answers the flagship question (Japan's package
#               against none, paired), printing Japan's effect and writing a report
#   make test   installs .venv (Python 3.11+) and .venv313 (Python 3.13, found through pyenv),
#               checks lint and types, and runs the tests on both (what CI runs)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The second interpreter the suite runs on: Python 3.13 (Mesa 3.5, EMA Workbench 3), found
# under `pyenv root` by tools/find-python (which says so in one line if there is none).
VENV313 := .venv313
BIN313 := $(VENV313)/bin
STAMP313 := $(VENV313)/.installed
# The browser tests drive Debian's Chromium through Playwright; no browser is ever downloaded.
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# The suite on every core, each test file kept on one worker (its module fixtures made once);
# every test makes its own folders and ports, so none waits for another.
PYTEST_PARALLEL := -n auto --dist loadfile

.PHONY: demo test check install install313 clean docs-numbers

# pip's and setuptools' output (an "editable installation" notice among it) goes to
# <venv>/install.log, shown only when the installation fails, so that `make demo` prints the
# answer and nothing else.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	@echo "installing into $(VENV) (log: $(VENV)/install.log)"
	@$(BIN)/python -m pip install --upgrade pip > $(VENV)/install.log 2>&1 \
	  && $(BIN)/python -m pip install -e ".[test]" >> $(VENV)/install.log 2>&1 \
	  || { cat $(VENV)/install.log; exit 1; }
	touch $(STAMP)

$(STAMP313): pyproject.toml
	python313="$$(tools/find-python 3.13)" && "$$python313" -m venv $(VENV313)
	@echo "installing into $(VENV313) (log: $(VENV313)/install.log)"
	@$(BIN313)/python -m pip install --upgrade pip > $(VENV313)/install.log 2>&1 \
	  && $(BIN313)/python -m pip install -e ".[test]" >> $(VENV313)/install.log 2>&1 \
	  || { cat $(VENV313)/install.log; exit 1; }
	touch $(STAMP313)

install: $(STAMP)

install313: $(STAMP313)

demo: $(STAMP)
	$(BIN)/sim compare scenarios/no_japan.yaml scenarios/tokyo_initiative.yaml

# the flagship answer in README.md and docs/scenarios.md, rewritten from one run of it
docs-numbers: $(STAMP)
	$(BIN)/python tools/flagship_numbers.py
	$(BIN)/python -m sim.scenario.schema_doc

$(CHROMIUM):
	$(SUDO) apt-get update
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium

# lint and strict types, on both interpreters (their libraries differ: Mesa, EMA Workbench)
check: $(STAMP) $(STAMP313)
	$(BIN)/ruff check sim tests benchmarks
	$(BIN)/mypy sim
	$(BIN313)/mypy sim

# the engine's two paths give the same numbers (tests/test_compiled.py compares them on both
# interpreters); the whole suite then runs on the compiled path on one and on numpy's on the
# other, so every test of the engine's numbers holds on each
test: check $(CHROMIUM)
	SIM_ENGINE_BACKEND=numba $(BIN)/python -m pytest $(PYTEST_PARALLEL)
	SIM_ENGINE_BACKEND=numpy $(BIN313)/python -m pytest $(PYTEST_PARALLEL)

clean:
	rm -rf $(VENV) $(VENV313)
