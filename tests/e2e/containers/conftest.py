"""Jobs in real containers: the local endpoint's Docker engine, with podman serving Docker's
API and Snakemake's default image built by ``make image``.

These tests need podman (``make image`` installs it and builds the image); without it they
are skipped, saying so. Every fixture here overrides the one of the same name above, so the
end-to-end helpers (``workflow``, ``local``) run their jobs in containers. The fixtures
last for this folder's tests only: podman's service and the endpoint stop after them.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from snakemake_aws_batch_local import LocalBatch, PodmanService
from snakemake_aws_batch_local.engines import JOB_LABEL
from snakemake_aws_batch_local.podman import podman_installed

REPOSITORY = Path(__file__).resolve().parents[3]
PODMAN_CONFIG = REPOSITORY / "podman" / "containers.conf"
# Snakemake's own default --container-image, which `make image` builds.
IMAGE = f"docker.io/snakemake/snakemake:v{importlib.metadata.version('snakemake')}"


@pytest.fixture(scope="package")
def podman(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PodmanService]:
    if not podman_installed():
        pytest.skip("podman is not installed: `make image` installs it and builds the image")
    socket = tmp_path_factory.mktemp("podman") / "podman.sock"
    with PodmanService(socket, config=PODMAN_CONFIG) as service:
        if not service.has_image(IMAGE):
            pytest.fail(f"podman has no image {IMAGE}: run `make image`")
        yield service


@pytest.fixture(scope="package")
def local_batch(podman: PodmanService) -> Iterator[LocalBatch]:
    """A local AWS Batch whose jobs run in containers, through podman's socket."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DOCKER_HOST", podman.docker_host)  # the endpoint's child inherits it
        with LocalBatch(engine="docker") as local:
            assert local.health()["engine"] == "docker"
            yield local


@pytest.fixture(scope="package")
def engine(podman: PodmanService) -> Iterator[Any]:
    """A Docker client of podman's socket, to look at the containers themselves."""
    client = docker.DockerClient(base_url=podman.docker_host, timeout=30)
    yield client
    client.close()


def job_containers(engine: Any, *job_ids: str, running_only: bool = False) -> list[Any]:
    """The containers the endpoint started for ``job_ids`` (each carries its job's label).
    Sparse: from the list alone, not inspected one by one (one that is removed meanwhile
    would fail the inspection)."""
    labels = [f"{JOB_LABEL}={job_id}" for job_id in job_ids] or [JOB_LABEL]
    return [
        container
        for label in labels
        for container in engine.containers.list(
            all=not running_only, filters={"label": label}, sparse=True
        )
    ]
