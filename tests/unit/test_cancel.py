"""Executor.cancel_jobs: what it terminates and what it tells the user."""

from __future__ import annotations

import tempfile
import types
from fractions import Fraction
from pathlib import Path

from snakemake_executor_plugin_aws_batch.aws.boundary import BatchError
from snakemake_executor_plugin_aws_batch.executor import Executor
from snakemake_executor_plugin_aws_batch.jobspec.platform import Resources
from snakemake_executor_plugin_aws_batch.record.run_record import RunRecord
from snakemake_executor_plugin_aws_batch.tracking.jobs import ArrayJob, JobBook, JobRecord

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
    instance.record = RunRecord(Path(tempfile.mkdtemp(prefix="run-record-")))
    instance._cancelled = False
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


def array(name: str, size: int) -> ArrayJob:
    resources = Resources(Fraction(1), 1024, 0)
    parent = ArrayJob(name, "r", "q", resources, children=[])
    for index in range(size):
        parent.children.append(JobRecord(name, "r", "q", resources, array=parent, index=index))
    return parent


def test_each_arrays_parent_is_terminated_once_beside_the_single_jobs() -> None:
    first, second, refused = array("m1", 3), array("m2", 2), array("m3", 2)
    first.submitted("arr-1")
    second.submitted("arr-2")
    refused.refused("AWS Batch refused job m3: ClientException: bad queue")
    unfinished = second.children[1:]  # arr-2's first child has finished
    jobs = [job("a", "id-a"), *first.children, *unfinished, *refused.children, job("b", "id-b")]
    instance, service = executor(idle=True, jobs=jobs)
    instance.cancel_jobs(infos(jobs))
    assert sorted(service.terminated) == ["arr-1", "arr-2", "id-a", "id-b"]
    assert instance.logger.at("info") == ["Terminating 4 AWS Batch job(s)..."]


def test_an_array_still_being_submitted_is_named_once_among_the_requests_under_way() -> None:
    under_way = array("m1", 3)
    jobs = [*under_way.children, job("b")]
    instance, service = executor(idle=False, jobs=jobs)
    instance.cancel_jobs(infos(jobs))
    assert service.terminated == []
    [warning] = instance.logger.at("warning")
    assert warning.endswith("check the queue for them: b, m1")


def test_an_array_that_could_not_be_terminated_is_named_by_its_parent() -> None:
    parent = array("m1", 2)
    parent.submitted("arr-1")
    instance, service = executor(idle=True, jobs=parent.children, refuse=frozenset({"arr-1"}))
    instance.cancel_jobs(infos(parent.children))
    assert service.terminated == []
    [error] = instance.logger.at("error")
    assert "m1 (arr-1): AWS Batch API TerminateJob failed" in error
    assert "arr-1:" not in error
