"""The Executor's own logic (submission hand-over, status reports), on fakes.

The Snakemake side is faked by the few methods the executor calls; the AWS side
by fakes of the submitter, the watcher and the service.
"""

from __future__ import annotations

import asyncio
import types
from typing import Any

import pytest

from snakemake_executor_plugin_aws_batch import spec
from snakemake_executor_plugin_aws_batch.executor import Executor
from snakemake_executor_plugin_aws_batch.jobs import JobBook, JobRecord
from snakemake_executor_plugin_aws_batch.platform import Platform
from snakemake_executor_plugin_aws_batch.status import Outcome, Verdict

from ..fakes import RecordingLogger


class Submitter:
    def __init__(self) -> None:
        self.submitted: list[tuple[JobRecord, spec.JobSpec, str, dict[str, str]]] = []

    def submit(self, record, job, *, command, environment) -> None:
        self.submitted.append((record, job, command, dict(environment)))


class Watcher:
    """Yields the verdicts it is given, by job name; can fail half-way."""

    def __init__(self, verdicts: dict[str, Verdict], fail_after: int | None = None) -> None:
        self.verdicts = verdicts
        self.fail_after = fail_after

    async def round(self, records, limiter):
        for count, record in enumerate(records):
            if self.fail_after is not None and count == self.fail_after:
                raise KeyError("a bug")
            yield record, self.verdicts[record.name]


class Recorder:
    """Stands in for the Snakemake methods the executor calls."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Any, Any]] = []


def executor(platform: Platform = Platform.EC2) -> tuple[Executor, Recorder]:
    instance = Executor.__new__(Executor)
    recorder = Recorder()
    instance.config = spec.GlobalConfig(default_queue="q", image="img:1")
    instance.service = types.SimpleNamespace(platform=lambda queue: platform)
    instance.submitter = Submitter()
    instance.jobs = JobBook()
    instance.environment = {"SNAKEMAKE_X": "1"}
    instance.logger = RecordingLogger()
    instance.warned = set()
    instance._sigterm_taken = True
    instance.status_rate_limiter = None
    instance.format_job_exec = lambda job: f"snakemake --target {job.name}"
    instance.report_job_submission = lambda info: recorder.events.append(
        ("submitted", info.job, info.aux)
    )
    instance.report_job_error = lambda info, msg=None: recorder.events.append(
        ("error", info.job, msg)
    )
    instance.report_job_success = lambda info: recorder.events.append(("success", info.job, None))
    return instance, recorder


def job(rule: str = "align", threads: int = 2, **resources: Any) -> Any:
    return types.SimpleNamespace(name=rule, threads=threads, resources=resources)


def test_a_job_is_recorded_reported_and_handed_to_the_submitter():
    instance, recorder = executor()
    snakemake_job = job(aws_batch_mem_mb=4096)
    instance.run_job(snakemake_job)
    [(record, job_spec, command, environment)] = instance.submitter.submitted
    assert recorder.events == [("submitted", snakemake_job, {"record": record})]
    assert instance.jobs.unfinished() == [record]
    assert (record.name, record.rule, record.queue) == (job_spec.name, "align", "q")
    assert record.resources.describe() == "2 vCPU, 4096 MiB"
    assert command == "snakemake --target align"
    assert environment == {"SNAKEMAKE_X": "1"}
    assert instance.logger.at("info") == [
        f"Submitting AWS Batch job {record.name} to q (2 vCPU, 4096 MiB)."
    ]


def test_a_bad_resource_is_reported_as_the_jobs_error_and_nothing_is_submitted():
    instance, recorder = executor()
    snakemake_job = job(aws_batch_vcpu="many")
    instance.run_job(snakemake_job)
    [(kind, reported, message)] = recorder.events
    assert (kind, reported) == ("error", snakemake_job)
    assert "aws_batch_vcpu" in message
    assert "'align'" in message
    assert "many" in message
    assert instance.submitter.submitted == []
    assert len(instance.jobs) == 0


def test_a_platform_adjustment_is_warned_about_once_per_message():
    instance, _ = executor(Platform.FARGATE)
    instance.config = spec.GlobalConfig(default_queue="q", image="img:1", execution_role="arn:r")
    for _ in range(3):
        instance.run_job(job(threads=3))
    warnings = instance.logger.at("warning")
    assert len(warnings) == 2  # vCPU rounded up, and memory to a Fargate size: each once
    assert "3 threads is not a Fargate vCPU size" in warnings[0]
    assert "Fargate has no 1024 MiB size" in warnings[1]
    assert len(instance.submitter.submitted) == 3


def submitted_infos(instance: Executor, names: list[str]) -> list[Any]:
    for name in names:
        instance.run_job(job(name))
    return [
        types.SimpleNamespace(job=record.rule, aux={"record": record}, external_jobid=None)
        for record, *_ in instance.submitter.submitted
    ]


def still_running(instance: Executor, infos: list[Any]) -> list[Any]:
    async def collect() -> list[Any]:
        return [info async for info in instance.check_active_jobs(infos)]

    return asyncio.run(collect())


def test_status_round_reports_finished_jobs_and_keeps_the_running_ones():
    instance, recorder = executor()
    infos = submitted_infos(instance, ["a", "b", "c"])
    for info, batch_id in zip(infos, ("id-a", "id-b", "id-c"), strict=True):
        info.aux["record"].batch_id = batch_id
    recorder.events.clear()
    instance.watcher = Watcher(
        {
            infos[0].aux["record"].name: Verdict(Outcome.SUCCEEDED),
            infos[1].aux["record"].name: Verdict(Outcome.FAILED, "it broke\n"),
            infos[2].aux["record"].name: Verdict(Outcome.RUNNING),
        }
    )
    assert still_running(instance, infos) == [infos[2]]
    assert recorder.events == [("success", "a", None), ("error", "b", "it broke\n")]
    assert [info.external_jobid for info in infos] == ["id-a", "id-b", "id-c"]
    assert instance.jobs.unfinished() == [infos[2].aux["record"]]


def test_a_fault_in_the_round_fails_the_jobs_not_yet_reported_instead_of_escaping():
    instance, recorder = executor()
    infos = submitted_infos(instance, ["a", "b", "c"])
    recorder.events.clear()
    instance.watcher = Watcher(
        {info.aux["record"].name: Verdict(Outcome.RUNNING) for info in infos}, fail_after=1
    )
    assert still_running(instance, infos) == [infos[0]]
    assert [(kind, name) for kind, name, _ in recorder.events] == [("error", "b"), ("error", "c")]
    assert all("Internal error of the aws-batch executor" in m for _, _, m in recorder.events)
    assert len(instance.logger.at("error")) == 1
    assert instance.jobs.unfinished() == [infos[0].aux["record"]]


def test_no_active_jobs_means_no_round():
    instance, _ = executor()
    instance.watcher = None  # a round would fail
    assert still_running(instance, []) == []


@pytest.mark.parametrize("names", [["a"], ["a", "a"]])
def test_records_of_identical_jobs_stay_apart(names):
    instance, _ = executor()
    submitted_infos(instance, names)
    records = instance.jobs.unfinished()
    assert len(records) == len(names)
    instance.jobs.finish(records[0])
    assert len(instance.jobs) == len(names) - 1


def test_an_error_at_hand_over_ends_with_a_newline():
    instance, recorder = executor()
    instance.run_job(job(aws_batch_mem_mb=0))
    [(_, _, message)] = recorder.events
    assert message.endswith(".\n")
