"""The plugin's SubmitJob pacing against the endpoint's per-second limit (HTTP 429)."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest

from snakemake_aws_batch_local import LocalBatch
from snakemake_executor_plugin_aws_batch.aws import boundary
from snakemake_executor_plugin_aws_batch.aws.service import BatchService
from snakemake_executor_plugin_aws_batch.submission.definitions import DefinitionRegistry
from snakemake_executor_plugin_aws_batch.submission.submitter import (
    PACING_MARGIN,
    RateLimiter,
    Submitter,
)

from ..conftest import client, definition
from ..factories import job_spec, record

JOBS = 40
LIMIT = 10  # SubmitJob calls per second the endpoint accepts
RATE = 50  # the plugin's --aws-batch-submit-rate: far above the limit


def test_every_call_is_paced_and_throttles_slow_the_plugin_down(
    local: LocalBatch, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in local.env().items():
        monkeypatch.setenv(name, value)
    acquired = []
    original = RateLimiter.acquire

    def counting(self: RateLimiter, *args: Any, **kwargs: Any) -> None:
        acquired.append(1)
        original(self, *args, **kwargs)

    monkeypatch.setattr(RateLimiter, "acquire", counting)
    name = definition(client(local, "batch"), "true")
    service = BatchService(boundary.make_clients(region=local.region), logging.getLogger("test"))
    registry = DefinitionRegistry(
        lookup=service.find_definition, register=service.register_definition
    )
    submitter = Submitter(service=service, definitions=registry, rate=RATE)
    local.set_knobs(submit_rate_limit=LIMIT, hold_jobs=True)
    jobs = [record(f"job-{i}", local.job_queue) for i in range(JOBS)]
    for job in jobs:
        spec = job_spec(name=job.name, queue=job.queue, definition=name)
        submitter.submit(job, spec, command="true", environment={})
    deadline = time.monotonic() + 120
    while not all(job.batch_id or job.error for job in jobs) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert submitter.stop(timeout=10)

    assert [job.error for job in jobs if job.error] == []
    assert len({job.batch_id for job in jobs}) == JOBS
    calls = local.calls()["SubmitJob"]
    assert calls > JOBS  # the limit was hit: some calls were refused and sent again
    # Every call that went out, first or again, waited for the pace.
    assert len(acquired) == calls
    assert submitter.rate < RATE * PACING_MARGIN
