# Every target creates and uses the project's own virtual environment.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: help venv browser podman image test lint typecheck unit demo bench bench-smoke clean

help:
	@echo "make demo   run the example workflow on the local AWS Batch endpoint"
	@echo "make test   create the environment, run linters, type checks and all tests"
	@echo "make bench  run the benchmarks (100, 1,000 and 10,000 jobs)"
	@echo "make image  build Snakemake's default job image with podman, for jobs in containers"

LOCAL := packages/snakemake-aws-batch-local
DEMO_STAMP := $(VENV)/.installed-demo

# The plugin and the local AWS Batch endpoint (a distribution of its own), both from
# here: what the demo needs first, the test tools on top of it.
$(DEMO_STAMP): pyproject.toml $(LOCAL)/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e $(LOCAL) -e '.[demo]'
	touch $(DEMO_STAMP)

$(STAMP): $(DEMO_STAMP) pyproject.toml $(LOCAL)/pyproject.toml
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

# Debian packages the tests need, installed only when missing; as root here, through sudo
# elsewhere.
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
APT_INSTALL := $(SUDO) apt-get update -q && DEBIAN_FRONTEND=noninteractive \
	$(SUDO) apt-get install -y -q --no-install-recommends

# The browser tests (tests/browser) open pages in Debian's headless Chromium.
browser:
	@command -v chromium >/dev/null 2>&1 || { $(APT_INSTALL) chromium; }
	@chromium --version

# The container tests (tests/e2e/containers) run jobs in containers of Snakemake's default
# image, through podman serving Docker's API with the settings in podman/containers.conf.
podman:
	@command -v podman >/dev/null 2>&1 && command -v debootstrap >/dev/null 2>&1 || { \
		$(APT_INSTALL) podman runc debootstrap; }
	@podman --version

# Snakemake's default job image (docker.io/snakemake/snakemake:v<version>), built offline
# from Debian's packages and this venv's wheels; a no-op when podman already has it.
image: podman $(DEMO_STAMP)
	$(SUDO) podman/build-image $(BIN)/python

# Three runs, their line coverage of the plugin added up (its floor is fail_under in
# pyproject.toml), each listing its slowest tests. The jobs in containers first, alone:
# podman's containers share one CPU weight, which the machine's other processes would
# crowd out. Then the tests that run no workflow, in PYTEST_WORKERS processes at once
# (pytest-xdist; `--dist loadgroup` keeps the tests that share a module's fixture in one).
# Then the end-to-end runs one at a time: each runs its jobs as real processes, up to 50
# at once, and two such runs together starve the local endpoint on a small machine.
PYTEST_WORKERS ?= 3
E2E_TESTS := tests/e2e
CONTAINER_TESTS := tests/e2e/containers
test: lint typecheck $(IAC_STAMP) browser image
	$(BIN)/pytest $(CONTAINER_TESTS) --durations=5 --cov --cov-report= --cov-fail-under=0
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadgroup --ignore=$(E2E_TESTS) \
		--durations=10 --cov --cov-append --cov-report= --cov-fail-under=0
	$(BIN)/pytest $(E2E_TESTS) --ignore=$(CONTAINER_TESTS) --durations=25 --cov --cov-append

unit: $(STAMP)
	$(BIN)/pytest tests/unit

demo: $(DEMO_STAMP)
	$(BIN)/python examples/run_demo.py

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run

clean:
	rm -rf $(VENV) .demo .bench .test-output .pytest_cache .mypy_cache .ruff_cache
