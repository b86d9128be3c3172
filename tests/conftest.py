"""Fixtures shared by the test suites: the local AWS Batch endpoint and helpers to use it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from snakemake_aws_batch_local import LocalBatch


@pytest.fixture(scope="session")
def local_batch() -> Iterator[LocalBatch]:
    """One local AWS Batch for the whole session (use ``local``, which resets it)."""
    with LocalBatch(engine="process") as local:
        yield local


@pytest.fixture
def status_pace_seconds() -> float:
    """The status pace each test starts with (a conftest below may set another)."""
    return 0.05


@pytest.fixture
def local(local_batch: LocalBatch, status_pace_seconds: float) -> LocalBatch:
    """The session's local AWS Batch: every knob at its default but the pace, no calls counted."""
    local_batch.reset_knobs(status_pace_seconds=status_pace_seconds)
    local_batch.reset_calls()
    return local_batch


def client(local: LocalBatch, service: str) -> Any:
    """A boto3 client of the local endpoint, with the credentials of a client outside AWS."""
    env = local.env()
    return boto3.client(
        service,  # type: ignore[call-overload]
        endpoint_url=local.endpoint_url,
        region_name=local.region,
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )


def definition(batch: Any, command: str) -> str:
    """Register a job definition running ``/bin/sh -c command``; returns its name."""
    name = f"def-{uuid.uuid4().hex[:8]}"
    batch.register_job_definition(
        jobDefinitionName=name,
        type="container",
        containerProperties={
            "image": "local/ignored:latest",
            "command": ["/bin/sh", "-c", command],
            "resourceRequirements": [
                {"type": "VCPU", "value": "1"},
                {"type": "MEMORY", "value": "1024"},
            ],
        },
    )
    return name
