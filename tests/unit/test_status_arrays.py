"""The status round over array jobs: parents described with the single jobs, children
listed only when the parent says some may have finished, on a fake AWS Batch service."""

from __future__ import annotations

import asyncio
import collections
import contextlib
from collections.abc import AsyncIterator, Sequence
from fractions import Fraction
from typing import Any

from snakemake_executor_plugin_aws_batch.aws.boundary import BatchError
from snakemake_executor_plugin_aws_batch.aws.queues import QueueFacts
from snakemake_executor_plugin_aws_batch.jobspec.platform import Platform, Resources
from snakemake_executor_plugin_aws_batch.logs import LogLocation
from snakemake_executor_plugin_aws_batch.states import FINISHED, Finished
from snakemake_executor_plugin_aws_batch.tracking.jobs import ArrayJob, JobRecord
from snakemake_executor_plugin_aws_batch.tracking.round import Verdict, Watcher
from snakemake_executor_plugin_aws_batch.tracking.status import Outcome

from ..fakes import RecordingLogger

GRACE = 30
RUNNABLE_AFTER = 60
RESOURCES = Resources(Fraction(8), 4096, 0)


class FakeService:
    """AWS Batch as a status round sees it: DescribeJobs answers from ``jobs``, ListJobs
    of an array's children from ``listed``; either can be made to fail."""

    region = "eu-west-1"

    def __init__(self) -> None:
        self.jobs: dict[str, dict[str, Any]] = {}
        self.listed: dict[tuple[str, str], list[int]] = {}
        self.describe_calls: list[list[str]] = []
        self.children_calls: list[tuple[str, str]] = []
        self.tails: list[LogLocation] = []
        self.failing_children = False
        self.failing_describe: set[str] = set()  # ids whose DescribeJobs call fails
        self.facts = QueueFacts("q", Platform.EC2, True, 4)

    def describe(self, job_ids: Sequence[str]) -> list[dict[str, Any]]:
        self.describe_calls.append(list(job_ids))
        if self.failing_describe & set(job_ids):
            raise BatchError("AWS Batch API DescribeJobs failed: ThrottlingException: slow down")
        return [self.jobs[i] for i in job_ids if i in self.jobs]

    def children(self, array_id: str, status: Finished) -> list[int]:
        self.children_calls.append((array_id, status))
        if self.failing_children:
            raise BatchError("AWS Batch API ListJobs failed: ThrottlingException: slow down")
        return list(self.listed.get((array_id, status), []))

    def log_tail(self, location: LogLocation) -> list[str]:
        self.tails.append(location)
        return [f"last line of {location.stream}"]

    def queue(self, queue: str) -> QueueFacts:
        return self.facts

    # What the tests set up ------------------------------------------------------
    def put_single(self, batch_id: str, status: str) -> None:
        self.jobs[batch_id] = {"jobId": batch_id, "jobName": batch_id, "status": status}

    def put_array(
        self,
        array: ArrayJob,
        statuses: Sequence[str],
        *,
        status: str | None = None,
        summary: dict[str, int] | None = None,
        unlisted: Sequence[int] = (),
    ) -> None:
        """The array's parent and children as AWS would show them when its children are
        in ``statuses``; ``status``, ``summary`` and ``unlisted`` say where AWS lags."""
        parent_id = str(array.batch_id)
        if status is None:
            done = all(s in FINISHED for s in statuses)
            status = ("FAILED" if "FAILED" in statuses else "SUCCEEDED") if done else "PENDING"
        self.jobs[parent_id] = {
            "jobId": parent_id,
            "jobName": array.name,
            "status": status,
            "statusReason": "Waiting for compute",
            "arrayProperties": {
                "size": len(statuses),
                "statusSummary": dict(collections.Counter(statuses))
                if summary is None
                else summary,
            },
        }
        for index, child_status in enumerate(statuses):
            self.jobs[f"{parent_id}:{index}"] = child(array, index, child_status)
        for state in FINISHED:
            self.listed[(parent_id, state)] = [
                i for i, s in enumerate(statuses) if s == state and i not in unlisted
            ]


def child(array: ArrayJob, index: int, status: str) -> dict[str, Any]:
    """A child's description; a failed one exited with 3 + its index and has a log."""
    job_id = f"{array.batch_id}:{index}"
    described: dict[str, Any] = {
        "jobId": job_id,
        "jobName": array.name,
        "status": status,
        "arrayProperties": {"index": index},
    }
    if status == "FAILED":
        described["statusReason"] = "Essential container in task exited"
        described["container"] = {"exitCode": 3 + index, "logStreamName": f"s/{job_id}"}
    return described


def array_job(batch_id: str | None, size: int, name: str = "snakejob-map-1") -> ArrayJob:
    """An array of ``size`` children as the executor builds it, submitted as ``batch_id``."""
    array = ArrayJob(name, "map", "q", RESOURCES, children=[])
    for index in range(size):
        array.children.append(JobRecord(name, "map", "q", RESOURCES, array=array, index=index))
    if batch_id is not None:
        array.submitted(batch_id)
    return array


def single(batch_id: str) -> JobRecord:
    return JobRecord(batch_id, "r", "q", RESOURCES, batch_id=batch_id)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Limiter:
    """Counts the AWS calls made under it."""

    def __init__(self) -> None:
        self.entered = 0

    @contextlib.asynccontextmanager
    async def __call__(self) -> AsyncIterator[None]:
        self.entered += 1
        yield


class Round:
    """A watcher on the fake service, and what each round yielded."""

    def __init__(self) -> None:
        self.service = FakeService()
        self.logger = RecordingLogger()
        self.clock = Clock()
        self.limiter = Limiter()
        self.watcher = Watcher(
            self.service,
            self.logger,
            runnable_warning_after=RUNNABLE_AFTER,
            missing_grace=GRACE,
            clock=self.clock,
        )

    def run(self, records: Sequence[JobRecord]) -> list[tuple[JobRecord, Verdict]]:
        async def collect() -> list[tuple[JobRecord, Verdict]]:
            return [pair async for pair in self.watcher.round(records, self.limiter)]

        pairs = asyncio.run(collect())
        assert sorted(id(r) for r, _ in pairs) == sorted(id(r) for r in records)
        return pairs

    def outcomes(self, records: Sequence[JobRecord]) -> dict[str | None, Outcome]:
        return {record.batch_id: verdict.outcome for record, verdict in self.run(records)}

    def calls(self) -> int:
        return len(self.service.describe_calls) + len(self.service.children_calls)


def unfinished(
    records: Sequence[JobRecord], pairs: Sequence[tuple[JobRecord, Verdict]]
) -> list[JobRecord]:
    """What the executor passes to the next round: the records still running."""
    running = {id(r) for r, v in pairs if v.outcome is Outcome.RUNNING}
    return [r for r in records if id(r) in running]


def test_unchanged_summaries_take_one_describe_call_for_a_hundred_parents_and_singles() -> None:
    test = Round()
    arrays = [array_job(f"arr-{n}", 3) for n in range(50)]
    singles = [single(f"id-{n}") for n in range(50)]
    for array in arrays:
        test.service.put_array(array, ["RUNNING", "RUNNABLE", "RUNNING"])
    for record in singles:
        test.service.put_single(str(record.batch_id), "RUNNING")
    records = [*singles, *(c for a in arrays for c in a.children)]
    outcomes = test.outcomes(records)
    assert len(outcomes) == 200
    assert set(outcomes.values()) == {Outcome.RUNNING}
    [call] = test.service.describe_calls
    assert sorted(call) == sorted(
        [*(f"id-{n}" for n in range(50)), *(f"arr-{n}" for n in range(50))]
    )
    assert test.service.children_calls == []
    assert test.limiter.entered == 1


def test_finished_children_are_listed_succeeded_reported_and_failed_ones_described() -> None:
    test = Round()
    array = array_job("arr", 250)
    statuses = ["FAILED" if i % 2 else "SUCCEEDED" for i in range(240)] + ["RUNNING"] * 10
    test.service.put_array(array, statuses)
    pairs = test.run(array.children)
    assert test.service.children_calls == [("arr", "SUCCEEDED"), ("arr", "FAILED")]
    # The parent, then the 120 failed children: one DescribeJobs per 100 of them.
    assert [len(call) for call in test.service.describe_calls] == [1, 100, 20]
    assert test.service.describe_calls[0] == ["arr"]
    assert test.service.describe_calls[1][0] == "arr:1"
    assert test.limiter.entered == test.calls()
    verdicts = {record.index: verdict for record, verdict in pairs}
    for index in range(240):
        if statuses[index] == "SUCCEEDED":
            assert verdicts[index] == Verdict(Outcome.SUCCEEDED)
            continue
        message = verdicts[index].message
        assert verdicts[index].outcome is Outcome.FAILED
        assert message is not None
        assert message.startswith(f"AWS Batch job arr:{index} (snakejob-map-1) failed: ")
        assert f"Exit code: {3 + index}." in message
        assert f"    last line of s/arr:{index}" in message
    assert {verdicts[i].outcome for i in range(240, 250)} == {Outcome.RUNNING}
    assert [location.stream for location in test.service.tails] == [
        f"s/arr:{i}" for i in range(1, 240, 2)
    ]
    assert array.finished == set(range(240))


def test_children_reported_are_not_listed_again_while_the_summary_says_nothing_new() -> None:
    test = Round()
    array = array_job("arr", 3)
    test.service.put_array(array, ["SUCCEEDED", "RUNNING", "RUNNING"])
    pairs = test.run(array.children)
    assert [v.outcome for _, v in pairs] == [Outcome.SUCCEEDED, Outcome.RUNNING, Outcome.RUNNING]
    left = unfinished(array.children, pairs)
    test.service.children_calls.clear()
    assert set(test.outcomes(left).values()) == {Outcome.RUNNING}
    assert test.service.children_calls == []
    test.service.put_array(array, ["SUCCEEDED", "SUCCEEDED", "RUNNING"])
    assert test.outcomes(left) == {"arr:1": Outcome.SUCCEEDED, "arr:2": Outcome.RUNNING}
    assert len(test.service.children_calls) == 2


def test_a_lagging_summary_delays_the_look_at_the_children_but_loses_none() -> None:
    test = Round()
    array = array_job("arr", 3)
    statuses = ["SUCCEEDED", "SUCCEEDED", "RUNNING"]
    test.service.put_array(array, statuses, summary={"RUNNING": 3})
    assert set(test.outcomes(array.children).values()) == {Outcome.RUNNING}
    assert test.service.children_calls == []
    # The parent has finished, its summary not yet: the children are looked at.
    test.service.put_array(array, ["SUCCEEDED"] * 3, status="SUCCEEDED", summary={"RUNNING": 3})
    assert set(test.outcomes(array.children).values()) == {Outcome.SUCCEEDED}


def test_a_failed_child_does_not_fail_its_siblings() -> None:
    test = Round()
    array = array_job("arr", 3)
    test.service.put_array(array, ["RUNNING", "FAILED", "RUNNING"], status="PENDING")
    pairs = test.run(array.children)
    assert {r.batch_id: v.outcome for r, v in pairs} == {
        "arr:0": Outcome.RUNNING,
        "arr:1": Outcome.FAILED,
        "arr:2": Outcome.RUNNING,
    }
    left = unfinished(array.children, pairs)
    test.clock.now = GRACE * 10
    test.service.put_array(array, ["SUCCEEDED", "FAILED", "SUCCEEDED"])
    assert test.outcomes(left) == {"arr:0": Outcome.SUCCEEDED, "arr:2": Outcome.SUCCEEDED}


def test_children_still_running_under_a_failed_parent_are_not_failed() -> None:
    test = Round()
    array = array_job("arr", 3)
    statuses = ["RUNNING", "FAILED", "RUNNING"]
    test.service.put_array(array, statuses, status="FAILED")
    pairs = test.run(array.children)
    assert {r.batch_id: v.outcome for r, v in pairs} == {
        "arr:0": Outcome.RUNNING,
        "arr:1": Outcome.FAILED,
        "arr:2": Outcome.RUNNING,
    }
    left = unfinished(array.children, pairs)
    # The summary still counts them as running, well past the missing-job grace.
    for now in (GRACE - 1, GRACE + 1, GRACE * 10):
        test.clock.now = now
        assert test.outcomes(left) == {"arr:0": Outcome.RUNNING, "arr:2": Outcome.RUNNING}
    test.service.put_array(array, ["SUCCEEDED", "FAILED", "FAILED"])
    outcomes = test.outcomes(left)
    assert outcomes == {"arr:0": Outcome.SUCCEEDED, "arr:2": Outcome.FAILED}


def test_a_child_a_finished_parent_never_lists_is_failed_only_after_the_grace() -> None:
    test = Round()
    array = array_job("arr", 3)
    test.service.put_array(array, ["SUCCEEDED"] * 3, unlisted=[2])
    pairs = test.run(array.children)
    assert [v.outcome for _, v in pairs] == [Outcome.SUCCEEDED, Outcome.SUCCEEDED, Outcome.RUNNING]
    left = unfinished(array.children, pairs)
    test.clock.now = GRACE - 1
    assert test.outcomes(left) == {"arr:2": Outcome.RUNNING}
    test.clock.now = GRACE + 1
    [(_, verdict)] = test.run(left)
    assert verdict.outcome is Outcome.FAILED
    assert verdict.message is not None
    assert "no longer knows job arr:2 (snakejob-map-1)" in verdict.message
    assert f"for {GRACE + 1} s" in verdict.message
    # A finished parent's children are listed every round until all are known.
    assert test.service.children_calls == [("arr", s) for s in FINISHED] * 3


def test_a_child_listed_late_within_the_grace_is_reported_as_it_finished() -> None:
    test = Round()
    array = array_job("arr", 2)
    test.service.put_array(array, ["SUCCEEDED", "FAILED"], unlisted=[1])
    left = unfinished(array.children, test.run(array.children))
    test.clock.now = GRACE - 1
    test.service.put_array(array, ["SUCCEEDED", "FAILED"])
    [(record, verdict)] = test.run(left)
    assert record.index == 1
    assert verdict.outcome is Outcome.FAILED
    assert verdict.message is not None
    assert "AWS Batch job arr:1 (snakejob-map-1) failed" in verdict.message
    assert record.missing_since is None


def test_a_missing_parent_fails_all_its_children_after_the_grace() -> None:
    test = Round()
    array = array_job("arr", 4)
    assert set(test.outcomes(array.children).values()) == {Outcome.RUNNING}
    test.clock.now = GRACE - 1
    assert set(test.outcomes(array.children).values()) == {Outcome.RUNNING}
    test.clock.now = GRACE + 1
    pairs = test.run(array.children)
    assert [r.index for r, _ in pairs] == [0, 1, 2, 3]
    for _, verdict in pairs:
        assert verdict.outcome is Outcome.FAILED
        assert verdict.message is not None
        assert "no longer knows job arr (snakejob-map-1)" in verdict.message
    assert test.service.children_calls == []
    assert test.service.describe_calls == [["arr"]] * 3


def test_a_parent_that_comes_back_within_the_grace_is_forgiven() -> None:
    test = Round()
    array = array_job("arr", 2)
    test.run(array.children)
    test.clock.now = GRACE - 1
    test.service.put_array(array, ["RUNNING", "RUNNING"])
    test.run(array.children)
    assert array.missing_since is None
    del test.service.jobs["arr"]
    test.clock.now = GRACE + 1
    assert set(test.outcomes(array.children).values()) == {Outcome.RUNNING}


def test_when_list_jobs_fails_the_children_are_kept_running_and_asked_for_again() -> None:
    test = Round()
    array = array_job("arr", 3)
    test.service.put_array(array, ["SUCCEEDED", "FAILED", "SUCCEEDED"])
    test.service.failing_children = True
    for now in (0, GRACE * 10):  # however long it lasts: the children are not missing
        test.clock.now = now
        assert set(test.outcomes(array.children).values()) == {Outcome.RUNNING}
    assert array.finished == set()
    test.service.failing_children = False
    assert test.outcomes(array.children) == {
        "arr:0": Outcome.SUCCEEDED,
        "arr:1": Outcome.FAILED,
        "arr:2": Outcome.SUCCEEDED,
    }
    assert test.service.children_calls[-2:] == [("arr", "SUCCEEDED"), ("arr", "FAILED")]
    assert test.limiter.entered == test.calls()


def test_when_describing_the_failed_children_fails_they_are_kept_and_described_again() -> None:
    test = Round()
    array = array_job("arr", 2)
    test.service.put_array(array, ["SUCCEEDED", "FAILED"])  # the parent has finished
    test.service.failing_describe = {"arr:1"}
    pairs = test.run(array.children)
    assert {r.batch_id: v.outcome for r, v in pairs} == {
        "arr:0": Outcome.SUCCEEDED,
        "arr:1": Outcome.RUNNING,
    }
    assert array.finished == {0}
    left = unfinished(array.children, pairs)
    test.clock.now = GRACE * 10  # listed as FAILED all along: not missing
    assert test.outcomes(left) == {"arr:1": Outcome.RUNNING}
    test.service.failing_describe = set()
    [(_, verdict)] = test.run(left)
    assert verdict.outcome is Outcome.FAILED
    assert verdict.message is not None
    assert "AWS Batch job arr:1 (snakejob-map-1) failed" in verdict.message
    assert test.service.describe_calls[-1] == ["arr:1"]


def test_when_describing_the_parents_fails_every_child_is_kept_running() -> None:
    test = Round()
    array = array_job("arr", 2)
    test.service.put_array(array, ["SUCCEEDED", "SUCCEEDED"])
    test.service.failing_describe = {"arr"}
    assert set(test.outcomes(array.children).values()) == {Outcome.RUNNING}
    assert test.service.children_calls == []


def test_children_of_an_array_refused_or_under_way_need_no_call() -> None:
    test = Round()
    refused = array_job(None, 2)
    refused.refused("AWS Batch refused job snakejob-map-1: ClientException: bad queue")
    under_way = array_job(None, 2, name="snakejob-map-9")
    pairs = test.run([*refused.children, *under_way.children])
    assert [v for _, v in pairs[:2]] == [
        Verdict(
            Outcome.FAILED, "AWS Batch refused job snakejob-map-1: ClientException: bad queue\n"
        )
    ] * 2
    assert [v.outcome for _, v in pairs[2:]] == [Outcome.RUNNING] * 2
    assert test.calls() == 0


def test_children_waiting_with_none_started_are_warned_about_once() -> None:
    test = Round()
    array = array_job("arr", 5)
    test.service.put_array(array, ["RUNNABLE"] * 5)
    for now in (0, 30, RUNNABLE_AFTER - 1):
        test.clock.now = now
        test.run(array.children)
    assert test.logger.at("warning") == []
    for now in (RUNNABLE_AFTER + 1, RUNNABLE_AFTER * 10):
        test.clock.now = now
        test.run(array.children)
    [warning] = test.logger.at("warning")
    assert warning.startswith(
        f"5 of the 5 children of AWS Batch array job arr (snakejob-map-1) have been RUNNABLE "
        f"for {RUNNABLE_AFTER + 1} s (requested 8 vCPU, 4096 MiB on q in eu-west-1)."
    )
    assert "AWS says: Waiting for compute." in warning
    assert "asks for 8 vCPU" in warning  # the queue's facts: at most 4


def test_a_child_that_starts_restarts_the_wait() -> None:
    test = Round()
    array = array_job("arr", 3)
    test.service.put_array(array, ["RUNNABLE"] * 3)
    test.run(array.children)
    test.clock.now = RUNNABLE_AFTER - 1
    test.service.put_array(array, ["RUNNABLE", "STARTING", "RUNNABLE"])
    test.run(array.children)
    assert array.runnable_since is None
    test.service.put_array(array, ["RUNNABLE"] * 3)
    test.clock.now = RUNNABLE_AFTER + 1
    test.run(array.children)
    assert test.logger.at("warning") == []
    test.clock.now = 2 * RUNNABLE_AFTER + 1  # a full wait since the restart
    test.run(array.children)
    assert len(test.logger.at("warning")) == 1
