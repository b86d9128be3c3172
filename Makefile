# Every target creates and uses the project's own virtual environment.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: help venv browser test lint typecheck unit demo bench bench-smoke clean

help:
	@echo "make demo   run the example workflow on the local AWS Batch endpoint"
	@echo "make test   create the environment, run linters, type checks and all tests"
	@echo "make bench  run the benchmarks (100, 1,000 and 10,000 jobs)"

LOCAL := packages/snakemake-aws-batch-local
DEMO_STAMP := $(VENV)/.installed-demo

# The plugin and the local AWS Batch endpoint (a distribution of its own), both from
# here: what the demo needs first, the test tools on top of it.
$(DEMO_STAMP): pyproject.toml $(LOCAL)/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e $(LOCAL) -e '.[demo]'
	touch $(DEMO_STAMP)

$(STAMP): $(DEMO_STAMP)
	$(BIN)/python -m pip install -q -e $(LOCAL) -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

IAC_STAMP := .venv-iac/.installed
$(IAC_STAMP):
	$(PYTHON) -m venv .venv-iac
	.venv-iac/bin/python -m pip install -q 'checkov==3.3.30'
	touch $(IAC_STAMP)

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks examples packages
	$(BIN)/ruff format --check src tests benchmarks examples packages

typecheck: $(STAMP)
	$(BIN)/mypy

# The browser tests (tests/browser) open pages in Debian's headless Chromium. Installed
# only when no `chromium` is on PATH; as root here, through sudo elsewhere.
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		$(SUDO) apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends chromium; }
	@chromium --version

test: lint typecheck $(IAC_STAMP) browser
	$(BIN)/pytest

unit: $(STAMP)
	$(BIN)/pytest tests/unit

demo: $(DEMO_STAMP)
	$(BIN)/python examples/run_demo.py

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run

clean:
	rm -rf $(VENV) .demo .bench .test-output .pytest_cache .mypy_cache .ruff_cache
