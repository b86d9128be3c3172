"""Executor.cancel_jobs: what it terminates and what it tells the user."""

from __future__ import annotations

import types
from fractions import Fraction

from snakemake_executor_plugin_aws_batch.aws import BatchError
from snakemake_executor_plugin_aws_batch.executor import Executor
from snakemake_executor_plugin_aws_batch.jobs import JobBook, JobRecord
from snakemake_executor_plugin_aws_batch.platform import Resources

from ..fakes import RecordingLogger


class StoppingSubmitter:
    def __init__(self, idle: bool) -> None:
        self.idle = idle

    def stop(self, timeout: float) -> bool:
        return self.idle


class TerminatingService:
    def __init__(self, refuse: frozenset[str] = frozenset()) -> None:
        self.terminated: list[str] = []
        self.refuse = refuse

    def terminate(self, batch_id: str, reason: str) -> None:
        if batch_id in self.refuse:
            raise BatchError(f"AWS Batch API TerminateJob failed: ClientException: no {batch_id}")
        self.terminated.append(batch_id)


def executor(
    idle: bool, jobs: list[JobRecord], refuse: frozenset[str] = frozenset()
) -> tuple[Executor, TerminatingService]:
    """An Executor with only what cancel_jobs uses (no Snakemake workflow behind it)."""
    instance = Executor.__new__(Executor)
    service = TerminatingService(refuse)
    instance.submitter = StoppingSubmitter(idle)
    instance.service = service
    instance.logger = RecordingLogger()
    instance.jobs = JobBook()
    for record in jobs:
        instance.jobs.add(record)
    return instance, service


def job(name: str, batch_id: str | None = None, error: str | None = None) -> JobRecord:
    return JobRecord(
        name=name,
        rule="r",
        queue="q",
        resources=Resources(Fraction(1), 1024, 0),
        batch_id=batch_id,
        error=error,
    )


def infos(jobs: list[JobRecord]) -> list[object]:
    return [types.SimpleNamespace(aux={"record": j}) for j in jobs]


def test_submitted_jobs_are_terminated_and_requests_under_way_are_named():
    jobs = [job("a", "id-a"), job("b"), job("c", error="refused")]
    instance, service = executor(idle=False, jobs=jobs)
    instance.cancel_jobs(infos(jobs))
    assert service.terminated == ["id-a"]
    warnings = instance.logger.at("warning")
    assert len(warnings) == 1
    assert warnings[0].endswith(": b")


def test_no_warning_when_the_submitter_stopped_in_time():
    jobs = [job("a", "id-a"), job("b", error="Not submitted: the workflow was cancelled.")]
    instance, service = executor(idle=True, jobs=jobs)
    instance.cancel_jobs(infos(jobs))
    assert service.terminated == ["id-a"]
    assert instance.logger.at("warning") == []


def test_jobs_that_could_not_be_terminated_are_named_in_one_error():
    jobs = [job("a", "id-a"), job("b", "id-b")]
    instance, service = executor(idle=True, jobs=jobs, refuse=frozenset({"id-b"}))
    instance.cancel_jobs(infos(jobs))
    assert service.terminated == ["id-a"]
    errors = instance.logger.at("error")
    assert len(errors) == 1
    assert "b (id-b): AWS Batch API TerminateJob failed: ClientException: no id-b" in errors[0]
