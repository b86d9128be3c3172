"""The status round (Watcher) over job records, with a fake AWS Batch service."""

from __future__ import annotations

import asyncio
import contextlib
from fractions import Fraction
from typing import Any

from snakemake_executor_plugin_aws_batch.aws.boundary import BatchError
from snakemake_executor_plugin_aws_batch.aws.queues import QueueFacts
from snakemake_executor_plugin_aws_batch.jobspec.platform import Platform, Resources
from snakemake_executor_plugin_aws_batch.logs import LogLocation
from snakemake_executor_plugin_aws_batch.tracking.jobs import JobRecord
from snakemake_executor_plugin_aws_batch.tracking.round import Verdict, Watcher
from snakemake_executor_plugin_aws_batch.tracking.status import Outcome

from ..fakes import RecordingLogger


class FakeService:
    """Answers DescribeJobs from ``jobs``; can fail; counts calls."""

    region = "eu-west-1"

    def __init__(self, jobs: dict[str, dict[str, Any]] | None = None) -> None:
        self.jobs = jobs or {}
        self.describe_calls: list[list[str]] = []
        self.failing = False
        self.tails: list[LogLocation] = []
        self.facts: QueueFacts | None = QueueFacts("q", Platform.EC2, True, 4)

    def describe(self, job_ids: list[str]) -> list[dict[str, Any]]:
        self.describe_calls.append(list(job_ids))
        if self.failing:
            raise BatchError("AWS Batch API DescribeJobs failed: ThrottlingException: slow down")
        return [self.jobs[i] for i in job_ids if i in self.jobs]

    def log_tail(self, location: LogLocation) -> list[str]:
        self.tails.append(location)
        return ["last line"]

    def queue(self, queue: str) -> QueueFacts:
        if self.facts is None:
            raise BatchError(f"AWS Batch job queue {queue!r} does not exist")
        return self.facts


def record(name: str, batch_id: str | None = None, **fields: Any) -> JobRecord:
    return JobRecord(name, "r", "q", Resources(Fraction(8), 4096, 1), batch_id=batch_id, **fields)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def watcher(service: FakeService, logger: RecordingLogger, clock: Clock) -> Watcher:
    return Watcher(service, logger, runnable_warning_after=60, missing_grace=30, clock=clock)


def run_round(target: Watcher, jobs: list[JobRecord]) -> dict[str, Verdict]:
    async def collect() -> dict[str, Verdict]:
        return {r.name: v async for r, v in target.round(jobs, contextlib.nullcontext)}

    return asyncio.run(collect())


def test_a_job_runnable_past_the_threshold_is_warned_about_once(logger):
    clock = Clock()
    service = FakeService({"id-a": {"jobId": "id-a", "jobName": "a", "status": "RUNNABLE"}})
    target = watcher(service, logger, clock)
    job = record("a", "id-a")
    for now in (0, 30, 59):
        clock.now = now
        assert run_round(target, [job])["a"].outcome is Outcome.RUNNING
    assert logger.at("warning") == []
    clock.now = 61
    run_round(target, [job])
    clock.now = 200
    run_round(target, [job])
    [warning] = logger.at("warning")
    assert "has been RUNNABLE for 61 s" in warning
    assert "requested 8 vCPU, 4096 MiB, 1 GPU on q in eu-west-1" in warning
    # The queue's facts name the cause: 8 vCPU on a queue of at most 4.
    assert "asks for 8 vCPU" in warning
    assert "at most 4" in warning


def test_leaving_runnable_restarts_the_wait(logger):
    clock = Clock()
    described = {"jobId": "id-a", "jobName": "a", "status": "RUNNABLE"}
    target = watcher(FakeService({"id-a": described}), logger, clock)
    job = record("a", "id-a")
    run_round(target, [job])
    clock.now = 50
    described["status"] = "STARTING"
    run_round(target, [job])
    assert job.runnable_since is None
    described["status"] = "RUNNABLE"
    clock.now = 100
    run_round(target, [job])
    clock.now = 150
    run_round(target, [job])
    assert logger.at("warning") == []


def test_runnable_warning_without_queue_facts_lists_the_usual_causes(logger):
    clock = Clock()
    service = FakeService({"id-a": {"jobId": "id-a", "jobName": "a", "status": "RUNNABLE"}})
    service.facts = None
    target = watcher(service, logger, clock)
    job = record("a", "id-a")
    run_round(target, [job])
    clock.now = 60
    run_round(target, [job])
    [warning] = logger.at("warning")
    assert "Likely causes:" in warning


def test_when_describe_fails_every_job_is_kept_running_and_asked_again(logger):
    service = FakeService({"id-a": {"jobId": "id-a", "status": "SUCCEEDED"}})
    service.failing = True
    target = watcher(service, logger, Clock())
    job = record("a", "id-a")
    assert run_round(target, [job]) == {"a": Verdict(Outcome.RUNNING)}
    service.failing = False
    assert run_round(target, [job])["a"].outcome is Outcome.SUCCEEDED
    assert service.describe_calls == [["id-a"], ["id-a"]]


def test_a_failed_job_gets_its_log_tail_in_the_message(logger):
    job_description = {
        "jobId": "id-a",
        "jobName": "a",
        "status": "FAILED",
        "statusReason": "Essential container in task exited",
        "container": {"exitCode": 3, "logStreamName": "s/1"},
    }
    service = FakeService({"id-a": job_description})
    verdict = run_round(watcher(service, logger, Clock()), [record("a", "id-a")])["a"]
    assert verdict.outcome is Outcome.FAILED
    assert "Exit code: 3" in verdict.message
    assert "    last line" in verdict.message
    assert service.tails == [LogLocation("/aws/batch/job", "s/1")]


def test_records_without_id_are_kept_or_failed_without_any_call(logger):
    service = FakeService()
    verdicts = run_round(
        watcher(service, logger, Clock()), [record("w"), record("e", error="refused")]
    )
    assert verdicts["w"].outcome is Outcome.RUNNING
    assert verdicts["e"] == Verdict(Outcome.FAILED, "refused\n")
    assert service.describe_calls == []


def test_a_job_missing_is_failed_only_after_the_grace_and_forgiven_when_it_returns(logger):
    clock = Clock()
    service = FakeService()
    target = watcher(service, logger, clock)
    job = record("a", "id-a")
    run_round(target, [job])
    clock.now = 20
    assert run_round(target, [job])["a"].outcome is Outcome.RUNNING
    service.jobs["id-a"] = {"jobId": "id-a", "status": "RUNNING"}
    run_round(target, [job])
    assert job.missing_since is None
    del service.jobs["id-a"]
    clock.now = 40
    run_round(target, [job])
    clock.now = 69
    assert run_round(target, [job])["a"].outcome is Outcome.RUNNING
    clock.now = 71
    verdict = run_round(target, [job])["a"]
    assert verdict.outcome is Outcome.FAILED
    assert "no longer knows job id-a (a)" in verdict.message


def test_one_describe_call_per_hundred_jobs(logger):
    service = FakeService(
        {f"id-{i}": {"jobId": f"id-{i}", "status": "RUNNING"} for i in range(201)}
    )
    jobs = [record(f"j{i}", f"id-{i}") for i in range(201)]
    verdicts = run_round(watcher(service, logger, Clock()), jobs)
    assert len(verdicts) == 201
    assert [len(call) for call in service.describe_calls] == [100, 100, 1]
