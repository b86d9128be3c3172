"""The RUNNABLE warning from a real status round: a job held in RUNNABLE on the local
endpoint is warned about once, naming its request, its queue and the queue's region."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import pytest

from snakemake_aws_batch_local import LocalBatch
from snakemake_executor_plugin_aws_batch.aws import boundary
from snakemake_executor_plugin_aws_batch.aws.service import BatchService
from snakemake_executor_plugin_aws_batch.submission.definitions import DefinitionRegistry
from snakemake_executor_plugin_aws_batch.submission.submitter import Submitter
from snakemake_executor_plugin_aws_batch.tracking.jobs import JobRecord
from snakemake_executor_plugin_aws_batch.tracking.round import Watcher
from snakemake_executor_plugin_aws_batch.tracking.status import Outcome

from ..conftest import client, definition
from ..factories import job_spec, record
from ..fakes import RecordingLogger


def test_a_job_held_in_runnable_is_warned_about_with_its_queue_and_region(
    local: LocalBatch, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in local.env().items():
        monkeypatch.setenv(name, value)
    local.set_knobs(hold_jobs=True)
    service = BatchService(boundary.make_clients(region=local.region), logging.getLogger("test"))
    registry = DefinitionRegistry(
        lookup=service.find_definition, register=service.register_definition
    )
    submitter = Submitter(service=service, definitions=registry, rate=10)
    job = record("snakejob-held-1", local.job_queue)
    spec = job_spec(
        name=job.name, queue=job.queue, definition=definition(client(local, "batch"), "true")
    )
    submitter.submit(job, spec, command="true", environment={})
    assert submitter.stop(timeout=30)
    assert job.batch_id is not None, job.error
    logger = RecordingLogger()
    now = [0.0]
    watcher = Watcher(
        service, logger, runnable_warning_after=60, missing_grace=120, clock=lambda: now[0]
    )

    def status_round(records: list[JobRecord]) -> list[Outcome]:
        async def collect() -> list[Outcome]:
            return [v.outcome async for _, v in watcher.round(records, contextlib.nullcontext)]

        return asyncio.run(collect())

    deadline = time.monotonic() + 30
    while client(local, "batch").describe_jobs(jobs=[job.batch_id])["jobs"][0]["status"] != (
        "RUNNABLE"
    ):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert status_round([job]) == [Outcome.RUNNING]
    now[0] = 61
    assert status_round([job]) == [Outcome.RUNNING]
    now[0] = 200
    assert status_round([job]) == [Outcome.RUNNING]
    [warning] = logger.at("warning")
    assert f"AWS Batch job {job.batch_id} (snakejob-held-1) has been RUNNABLE for 61 s" in warning
    assert f"(requested 1 vCPU, 1024 MiB on {local.job_queue} in {local.region})" in warning
    client(local, "batch").terminate_job(jobId=job.batch_id, reason="test over")
