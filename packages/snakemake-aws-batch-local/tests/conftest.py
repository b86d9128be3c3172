"""One local AWS Batch for the endpoint's tests; knobs, counters and jobs reset before each test."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from local_helpers import client
from snakemake_aws_batch_local import LocalBatch

# Tests run with a short status pace; every other knob at its default.
PACE_SECONDS = 0.05


@pytest.fixture(scope="session")
def local_batch() -> Iterator[LocalBatch]:
    with LocalBatch(engine="process", status_pace_seconds=PACE_SECONDS) as local:
        yield local


@pytest.fixture
def local(local_batch: LocalBatch) -> LocalBatch:
    local_batch.reset_knobs(status_pace_seconds=PACE_SECONDS)
    end_leftover_jobs(local_batch)
    local_batch.reset_calls()
    return local_batch


def end_leftover_jobs(local: LocalBatch, timeout: float = 60.0) -> None:
    """Terminate the jobs earlier tests left running, and wait until they have ended: the
    tests run in any order (several processes, each with its own endpoint), and one that
    counts threads or active jobs must not see another's."""
    if not local.health()["active_jobs"]:
        return
    batch = client(local, "batch")
    for queue in batch.describe_job_queues()["jobQueues"]:
        for status in ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING"):
            listed = batch.list_jobs(jobQueue=queue["jobQueueName"], jobStatus=status)
            for summary in listed["jobSummaryList"]:
                batch.terminate_job(jobId=summary["jobId"], reason="left by an earlier test")
    deadline = time.monotonic() + timeout
    while local.health()["active_jobs"] and time.monotonic() < deadline:
        time.sleep(0.1)


@pytest.fixture
def batch(local: LocalBatch) -> Any:
    return client(local, "batch")
