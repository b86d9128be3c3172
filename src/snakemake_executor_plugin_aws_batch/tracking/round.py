"""The status round: a verdict for every job from as few AWS calls as the API allows.

Single jobs and array parents are described together, 100 a call; an array's children
are looked at only when its parent's ``statusSummary`` says some may have finished.
What a description means is :mod:`.status`'s.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from ..aws.boundary import BatchError
from ..aws.queues import QueueFacts
from ..jobspec.platform import Resources
from ..logs import Logger, LogLocation
from ..states import FINISHED, Finished
from .jobs import ArrayJob, JobRecord
from .status import (
    Outcome,
    children_may_have_finished,
    chunks,
    failure_message,
    log_location,
    outcome,
    runnable_warning,
    unfinished_children,
)


@dataclass(frozen=True, slots=True)
class Verdict:
    outcome: Outcome
    message: str | None = None
    job: Mapping[str, Any] | None = None  # the description it was read from, when there was one


RUNNING = Verdict(Outcome.RUNNING)
SUCCEEDED = Verdict(Outcome.SUCCEEDED)


class StatusService(Protocol):
    """What a status round asks of the AWS Batch service."""

    @property
    def region(self) -> str: ...  # the region its jobs run in, for the messages

    def describe(self, job_ids: Sequence[str]) -> list[dict[str, Any]]: ...

    def children(self, array_id: str, status: Finished) -> list[int]: ...

    def log_tail(self, location: LogLocation) -> list[str]: ...

    def queue(self, queue: str) -> QueueFacts: ...


class Watcher:
    """Turns DescribeJobs answers into verdicts, ``ceil(n / 100)`` calls per round."""

    def __init__(
        self,
        service: StatusService,
        logger: Logger,
        *,
        runnable_warning_after: float,
        missing_grace: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._service = service
        self._logger = logger
        self._runnable_after = runnable_warning_after
        self._missing_grace = missing_grace
        self._clock = clock

    async def round(
        self,
        jobs: Sequence[JobRecord],
        limiter: Callable[[], AbstractAsyncContextManager[Any]],
    ) -> AsyncIterator[tuple[JobRecord, Verdict]]:
        """Yield a verdict for every job; each AWS call runs under ``limiter()``.

        Single jobs and array parents are described together, 100 a call; an array's
        children are looked at only when its parent says some may have finished.
        """
        waiting = []
        singles: dict[str, JobRecord] = {}
        arrays: dict[str, tuple[ArrayJob, list[JobRecord]]] = {}
        for record in jobs:
            if record.error is not None:
                yield record, Verdict(Outcome.FAILED, record.error + "\n")
            elif record.batch_id is None:
                waiting.append(record)  # still being submitted
            elif record.array is not None and record.array.batch_id is not None:
                arrays.setdefault(record.array.batch_id, (record.array, []))[1].append(record)
            else:
                singles[record.batch_id] = record
        for record in waiting:
            yield record, RUNNING
        for chunk in chunks([*singles, *arrays]):
            async with limiter():
                try:
                    described = {job["jobId"]: job for job in self._service.describe(chunk)}
                except BatchError:
                    described = None  # AWS is in trouble: keep every job, ask again next round
            for batch_id in chunk:
                async for pair in self._answer(batch_id, described, singles, arrays, limiter):
                    yield pair

    async def _answer(
        self,
        batch_id: str,
        described: Mapping[str, Mapping[str, Any]] | None,
        singles: Mapping[str, JobRecord],
        arrays: Mapping[str, tuple[ArrayJob, list[JobRecord]]],
        limiter: Callable[[], AbstractAsyncContextManager[Any]],
    ) -> AsyncIterator[tuple[JobRecord, Verdict]]:
        """The verdicts for one described id: a single job, or an array's children."""
        single = singles.get(batch_id)
        if single is not None:
            yield (
                single,
                RUNNING if described is None else self._verdict(single, described.get(batch_id)),
            )
            return
        array, members = arrays[batch_id]
        if described is None:
            for record in members:
                yield record, RUNNING
            return
        async for pair in self._array_round(array, members, described.get(batch_id), limiter):
            yield pair

    def _verdict(self, record: JobRecord, job: Mapping[str, Any] | None) -> Verdict:
        now = self._clock()
        if job is None:
            return self._missing(record, now)
        record.missing_since = None
        result = outcome(job)
        if result is Outcome.RUNNING:
            self._watch_runnable(record, job, now)
            return RUNNING
        if result is Outcome.SUCCEEDED:
            return Verdict(Outcome.SUCCEEDED, job=job)
        return self._failed(job)

    def _failed(self, job: Mapping[str, Any]) -> Verdict:
        location = log_location(job)
        lines = self._service.log_tail(location) if location else []
        return Verdict(Outcome.FAILED, failure_message(job, lines, location), job)

    def _missing(self, record: JobRecord | ArrayJob, now: float) -> Verdict:
        if record.missing_since is None:
            record.missing_since = now
        waited = now - record.missing_since
        if waited < self._missing_grace:
            return RUNNING
        return Verdict(
            Outcome.FAILED,
            f"AWS Batch no longer knows job {record.batch_id} ({record.name}): DescribeJobs has "
            f"not returned it for {int(waited)} s. It may have been deleted or have expired; its "
            "outcome is unknown, so Snakemake treats it as failed.\n",
        )

    # Array jobs ------------------------------------------------------------------
    async def _array_round(
        self,
        array: ArrayJob,
        members: Sequence[JobRecord],
        parent: Mapping[str, Any] | None,
        limiter: Callable[[], AbstractAsyncContextManager[Any]],
    ) -> AsyncIterator[tuple[JobRecord, Verdict]]:
        """Verdicts for an array's unfinished children, from its parent's description."""
        now = self._clock()
        if parent is None:
            verdict = self._missing(array, now)
            for record in members:
                yield record, verdict
            return
        array.missing_since = None
        self._watch_runnable_children(array, parent, now)
        verdicts: dict[int, Verdict] = {}
        listed: set[int] = set()
        if children_may_have_finished(parent, len(array.finished)):
            found = await self._finished_children(array, limiter)
            if found is None:  # AWS is in trouble: keep every child, ask again next round
                for record in members:
                    yield record, RUNNING
                return
            verdicts, listed = found
        # The parent and its summary say every child has finished: a child that ListJobs
        # does not name is missing.
        settled = outcome(parent) is not Outcome.RUNNING and not unfinished_children(parent)
        for record in members:
            index = int(record.index or 0)
            finished = verdicts.get(index)
            if finished is not None:
                record.missing_since = None
                yield record, finished
            elif settled and index not in array.finished and index not in listed:
                yield record, self._missing(record, now)
            else:
                yield record, RUNNING

    async def _finished_children(
        self, array: ArrayJob, limiter: Callable[[], AbstractAsyncContextManager[Any]]
    ) -> tuple[dict[int, Verdict], set[int]] | None:
        """Verdicts of the children that finished since the last look, and the indexes
        ListJobs named (None when it failed): two ListJobs calls, then DescribeJobs of
        the failed ones only (for their messages)."""
        parent_id = str(array.batch_id)
        found: dict[str, list[int]] = {}
        for state in FINISHED:
            async with limiter():
                try:
                    found[state] = self._service.children(parent_id, state)
                except BatchError:
                    return None  # ask again next round
        verdicts = {index: SUCCEEDED for index in found["SUCCEEDED"] if index not in array.finished}
        failed = [f"{parent_id}:{i}" for i in found["FAILED"] if i not in array.finished]
        for chunk in chunks(failed):
            async with limiter():
                try:
                    described = self._service.describe(chunk)
                except BatchError:
                    continue  # these children are looked at again next round
            for job in described:
                verdicts[_index(job)] = self._failed(job)
        array.finished.update(verdicts)
        return verdicts, {*found["SUCCEEDED"], *found["FAILED"]}

    def _watch_runnable_children(
        self, array: ArrayJob, parent: Mapping[str, Any], now: float
    ) -> None:
        """Warn once when children wait in RUNNABLE and none has started for a while."""
        summary = (parent.get("arrayProperties") or {}).get("statusSummary") or {}
        waiting = int(summary.get("RUNNABLE", 0))
        started = sum(int(summary.get(s, 0)) for s in ("STARTING", "RUNNING"))
        waited = self._runnable_wait(array, bool(waiting) and not started, now)
        if waited is not None:
            subject = (
                f"{waiting} of the {array.size} children of AWS Batch array job "
                f"{array.batch_id} ({array.name}) have"
            )
            self._warn_runnable(parent, waited, array.queue, array.resources, subject)

    def _watch_runnable(self, record: JobRecord, job: Mapping[str, Any], now: float) -> None:
        waited = self._runnable_wait(record, job.get("status") == "RUNNABLE", now)
        if waited is not None:
            subject = f"AWS Batch job {job.get('jobId')} ({job.get('jobName')}) has"
            self._warn_runnable(job, waited, record.queue, record.resources, subject)

    def _runnable_wait(
        self, holder: JobRecord | ArrayJob, waiting: bool, now: float
    ) -> float | None:
        """How long ``holder`` has been waiting, when that is the time to warn (once)."""
        if not waiting:
            holder.runnable_since = None
            return None
        if holder.runnable_since is None:
            holder.runnable_since = now
        waited = now - holder.runnable_since
        if holder.runnable_warned or waited < self._runnable_after:
            return None
        holder.runnable_warned = True
        return waited

    def _warn_runnable(
        self,
        job: Mapping[str, Any],
        waited: float,
        queue: str,
        resources: Resources,
        subject: str,
    ) -> None:
        try:
            causes = self._service.queue(queue).likely_causes(float(resources.vcpu))
        except BatchError:
            causes = []
        self._logger.warning(
            runnable_warning(
                job,
                waited,
                f"{resources.describe()} on {queue} in {self._service.region}",
                causes,
                subject,
            )
        )


def _index(job: Mapping[str, Any]) -> int:
    """An array child's index, from its description (or its ``parent:index`` id)."""
    index = (job.get("arrayProperties") or {}).get("index")
    return int(index) if index is not None else int(str(job["jobId"]).rpartition(":")[2])
