"""Executor.cancel_jobs: what it terminates and what it tells the user."""

from __future__ import annotations

import types

from snakemake_executor_plugin_aws_batch.executor import Executor
from snakemake_executor_plugin_aws_batch.submission import Tracked

from .fakes import RecordingLogger


class StoppingSubmitter:
    def __init__(self, idle: bool) -> None:
        self.idle = idle

    def stop(self, timeout: float) -> bool:
        return self.idle


class TerminatingService:
    def __init__(self) -> None:
        self.terminated: list[str] = []

    def terminate(self, batch_id: str, reason: str) -> None:
        self.terminated.append(batch_id)


def executor(idle: bool, jobs: list[Tracked]) -> tuple[Executor, TerminatingService]:
    """An Executor with only what cancel_jobs uses (no Snakemake workflow behind it)."""
    instance = Executor.__new__(Executor)
    service = TerminatingService()
    instance.submitter = StoppingSubmitter(idle)
    instance.service = service
    instance.logger = RecordingLogger()
    instance.live = {job.marker: job for job in jobs}
    return instance, service


def job(name: str, batch_id: str | None = None, error: str | None = None) -> Tracked:
    return Tracked(
        name=name, rule="r", queue="q", request="", marker=name, batch_id=batch_id, error=error
    )


def infos(jobs: list[Tracked]) -> list[object]:
    return [types.SimpleNamespace(aux={"tracked": j}) for j in jobs]


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
