"""Helpers of the endpoint's tests: clients, job definitions, jobs and their logs."""

from __future__ import annotations

import time
import uuid
from typing import Any

import boto3

from snakemake_aws_batch_local import LocalBatch

FINAL = ("SUCCEEDED", "FAILED")


def client(local: LocalBatch, service: str, *, key: str = "local", **config: Any) -> Any:
    """A boto3 client of the endpoint; ``key="local-job"`` signs as the jobs do."""
    from botocore.config import Config

    return boto3.client(
        service,  # type: ignore[call-overload]
        endpoint_url=local.endpoint_url,
        region_name=local.region,
        aws_access_key_id=key,
        aws_secret_access_key=key,
        config=Config(**config) if config else None,
    )


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def definition(batch: Any, command: str, **properties: Any) -> str:
    """Register a job definition running ``/bin/sh -c command``; returns its name."""
    name = unique("def")
    extra = {k: v for k, v in properties.items() if k in ("retryStrategy", "timeout")}
    container = {k: v for k, v in properties.items() if k not in extra}
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
            **container,
        },
        **extra,
    )
    return name


def submit(batch: Any, local: LocalBatch, job_definition: str, **fields: Any) -> str:
    answer = batch.submit_job(
        jobName=unique("job"), jobQueue=local.job_queue, jobDefinition=job_definition, **fields
    )
    return str(answer["jobId"])


def describe(batch: Any, job_id: str) -> dict[str, Any]:
    jobs = batch.describe_jobs(jobs=[job_id])["jobs"]
    assert len(jobs) == 1, jobs
    return dict(jobs[0])


def wait_for(
    batch: Any, job_id: str, statuses: tuple[str, ...] = FINAL, timeout: float = 30
) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        job = describe(batch, job_id)
        if job["status"] in statuses:
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} still {job['status']} after {timeout} s")
        time.sleep(0.1)


def log_lines(local: LocalBatch, stream: str) -> list[str]:
    events = client(local, "logs").get_log_events(
        logGroupName="/aws/batch/job", logStreamName=stream, startFromHead=True
    )["events"]
    return [str(event["message"]) for event in events]


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie waiting for its reaper counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
