"""Finding an earlier run's jobs: which AWS Batch listings are asked for, which jobs they
give, an array's children."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from snakemake_executor_plugin_aws_batch.aws.boundary import BatchError
from snakemake_executor_plugin_aws_batch.resume.finder import find
from snakemake_executor_plugin_aws_batch.states import LIVE

from .test_resume_candidates import WORKFLOW, array_command, described


class FakeBatch:
    """The AWS Batch service finding and taking over ask of: jobs by queue and state or by
    creation time, descriptions, an array's children, terminations (some refused)."""

    def __init__(
        self,
        jobs: Sequence[dict[str, Any]] = (),
        children: dict[str, dict[int, str]] | None = None,
        *,
        refuse: Sequence[str] = (),
        fail: BatchError | None = None,
    ) -> None:
        self.jobs = {str(job["jobId"]): job for job in jobs}
        self._children = children or {}
        self._refuse = set(refuse)
        self._fail = fail
        self.listed: list[tuple[str, str]] = []  # (queue, state)
        self.since: list[tuple[str, int]] = []  # (queue, created_at_ms)
        self.described: list[list[str]] = []
        self.terminated: list[tuple[str, str]] = []

    def jobs_in(self, queue: str, status: str) -> list[str]:
        if self._fail is not None:
            raise self._fail
        self.listed.append((queue, status))
        return [i for i, j in self.jobs.items() if (j["jobQueue"], j["status"]) == (queue, status)]

    def jobs_created_since(self, queue: str, created_at_ms: int) -> list[str]:
        self.since.append((queue, created_at_ms))
        return [
            i
            for i, j in self.jobs.items()
            if j["jobQueue"] == queue and j["createdAt"] >= created_at_ms
        ]

    def describe(self, job_ids: Sequence[str]) -> list[dict[str, Any]]:
        assert len(job_ids) <= 100
        self.described.append(list(job_ids))
        return [copy.deepcopy(self.jobs[i]) for i in job_ids]

    def children(self, array_id: str, status: str) -> list[int]:
        states = self._children.get(array_id, {})
        return [index for index, state in states.items() if state == status]

    def terminate(self, job_id: str, reason: str) -> None:
        if job_id in self._refuse:
            raise BatchError(f"TerminateJob failed: refused {job_id}")
        self.terminated.append((job_id, reason))


def found_ids(service: FakeBatch, since_ms: int | None, queues: Sequence[str] = ("q",)) -> set[str]:
    return {c.batch_id for c in find(service, workflow=WORKFLOW, queues=queues, since_ms=since_ms)}


def test_every_live_state_of_every_queue_is_listed_once():
    service = FakeBatch()
    assert found_ids(service, 500, queues=["q2", "q1", "q2"]) == set()
    assert service.listed == [(q, state) for q in ("q1", "q2") for state in LIVE]
    assert service.since == [("q1", 500), ("q2", 500)]


def test_live_jobs_and_those_created_in_the_window_are_found():
    service = FakeBatch(
        [
            described("live-old", status="RUNNING", created=100),
            described("done-old", status="SUCCEEDED", created=100),
            described("done-new", status="SUCCEEDED", created=600),
            described("failed-new", status="FAILED", created=600),
            described("other-workflow", status="RUNNING", created=600, workflow="workflow-2"),
            described("other-queue", status="RUNNING", created=600, queue="elsewhere"),
        ]
    )
    assert found_ids(service, 500) == {"live-old", "done-new"}


def test_without_a_window_it_starts_at_the_oldest_live_job_of_the_workflow():
    service = FakeBatch(
        [
            described("others", status="RUNNING", created=50, workflow="workflow-2"),
            described("done-before", status="SUCCEEDED", created=150),
            described("live", status="RUNNABLE", created=200),
            described("done-between", status="SUCCEEDED", created=250),
            described("live-newer", status="RUNNING", created=300),
        ]
    )
    assert found_ids(service, None) == {"live", "done-between", "live-newer"}
    assert service.since == [("q", 200)]
    described_once = sorted(i for ids in service.described for i in ids)
    assert described_once == ["done-between", "live", "live-newer", "others"]


def test_without_a_window_or_a_live_job_nothing_more_is_listed():
    service = FakeBatch([described("done", status="SUCCEEDED", created=300)])
    assert found_ids(service, None) == set()
    assert service.since == []


def test_jobs_are_described_once_and_a_hundred_at_most_a_call():
    jobs = [described(f"job-{n}", status="RUNNING", created=1_000 + n) for n in range(150)]
    service = FakeBatch(jobs)
    assert len(found_ids(service, 0)) == 150  # each listed live and created since 0
    assert [len(ids) for ids in service.described] == [100, 50]


def test_an_array_gives_its_adoptable_children():
    commands = [f"snakemake --target-jobs 'work:i={i}'" for i in range(4)]
    parent = described("arr", status="RUNNING", command=array_command(commands), size=4)
    children = {"arr": {0: "SUCCEEDED", 1: "RUNNING", 2: "FAILED", 3: "PENDING"}}
    service = FakeBatch([parent], children)
    found = find(service, workflow=WORKFLOW, queues=["q"], since_ms=None)
    assert [(c.batch_id, c.status, c.command) for c in found] == [
        ("arr:0", "SUCCEEDED", commands[0]),
        ("arr:1", "RUNNING", commands[1]),
        ("arr:3", "PENDING", commands[3]),
    ]
