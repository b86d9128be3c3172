# Every target creates and uses the project's own virtual environment.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: help venv debian browser podman image test container-tests lint typecheck unit demo bench bench-smoke clean

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

# The Debian packages the tests need, in one apt-get run (two at once would contend for
# dpkg's lock): Chromium for the browser tests (tests/browser); podman, runc and
# debootstrap for the jobs in containers (tests/e2e/containers), podman serving Docker's
# API with the settings in podman/containers.conf. Each command's package has its name.
DEBIAN_PACKAGES := chromium podman runc debootstrap
debian:
	@missing=""; for name in $(DEBIAN_PACKAGES); do \
		command -v $$name >/dev/null 2>&1 || missing="$$missing $$name"; done; \
	[ -z "$$missing" ] || { $(APT_INSTALL) $$missing; }

browser: debian
	@chromium --version

podman: debian
	@podman --version

# Snakemake's default job image (docker.io/snakemake/snakemake:v<version>), built offline
# from Debian's packages and this venv's wheels; a no-op when podman already has it.
image: podman $(DEMO_STAMP)
	$(SUDO) podman/build-image $(BIN)/python

# The set-up steps side by side (the venvs, the Debian packages, the image), and the jobs
# in containers as soon as the venv and the image are there (beside the linters and type
# checks only: podman's containers share one CPU weight, which many processes would crowd
# out). Then every other test, in PYTEST_WORKERS processes at once (pytest-xdist;
# `--dist loadgroup` keeps the tests that share a module's fixture in one). Each process
# has its own local endpoint; the end-to-end runs' jobs and drivers are forked from
# processes that imported Snakemake once (the endpoint's fork server). Both runs list their
# slowest tests; their line coverage of the plugin is added up (its floor is fail_under in
# pyproject.toml).
PYTEST_WORKERS ?= 3
CONTAINER_TESTS := tests/e2e/containers
test:
	$(MAKE) -j3 --output-sync=target lint typecheck $(IAC_STAMP) browser container-tests
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadgroup --ignore=$(CONTAINER_TESTS) \
		--durations=25 --cov --cov-append

container-tests: image $(STAMP)
	$(BIN)/pytest $(CONTAINER_TESTS) --durations=5 --cov --cov-report= --cov-fail-under=0

unit: $(STAMP)
	$(BIN)/pytest tests/unit

demo: $(DEMO_STAMP)
	$(BIN)/python examples/run_demo.py

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run

clean:
	rm -rf $(VENV) .demo .bench .test-output .pytest_cache .mypy_cache .ruff_cache
