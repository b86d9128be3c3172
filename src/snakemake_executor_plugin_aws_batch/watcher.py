"""One status round: which submitted jobs finished, how, and which still run."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

from snakemake_interface_common.exceptions import WorkflowError

from .aws import AwsError, Logger
from .batch import BatchService
from .status import Outcome, chunks, failure_message, log_location, outcome, runnable_warning
from .submission import Tracked


@dataclass(frozen=True, slots=True)
class Verdict:
    outcome: Outcome
    message: str | None = None


RUNNING = Verdict(Outcome.RUNNING)
SUCCEEDED = Verdict(Outcome.SUCCEEDED)


class Watcher:
    """Turns DescribeJobs answers into verdicts, ``ceil(n / 100)`` calls per round."""

    def __init__(
        self,
        service: BatchService,
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
        jobs: Sequence[Tracked],
        limiter: Callable[[], AbstractAsyncContextManager[Any]],
    ) -> AsyncIterator[tuple[Tracked, Verdict]]:
        """Yield a verdict for every job; each DescribeJobs call runs under ``limiter()``."""
        waiting = []
        by_id: dict[str, Tracked] = {}
        for tracked in jobs:
            if tracked.error is not None:
                yield tracked, Verdict(Outcome.FAILED, tracked.error + "\n")
            elif tracked.batch_id is None:
                waiting.append(tracked)  # still being submitted
            else:
                by_id[tracked.batch_id] = tracked
        for tracked in waiting:
            yield tracked, RUNNING
        for chunk in chunks(list(by_id)):
            async with limiter():
                try:
                    described = {job["jobId"]: job for job in self._service.describe(chunk)}
                except AwsError:
                    described = None  # AWS is in trouble: keep every job, ask again next round
            for batch_id in chunk:
                tracked = by_id[batch_id]
                if described is None:
                    yield tracked, RUNNING
                else:
                    yield tracked, self._verdict(tracked, described.get(batch_id))

    def _verdict(self, tracked: Tracked, job: Mapping[str, Any] | None) -> Verdict:
        now = self._clock()
        if job is None:
            return self._missing(tracked, now)
        tracked.missing_since = None
        result = outcome(job)
        if result is Outcome.RUNNING:
            self._watch_runnable(tracked, job, now)
            return RUNNING
        if result is Outcome.SUCCEEDED:
            return SUCCEEDED
        location = log_location(job)
        lines = self._service.log_tail(location) if location else []
        return Verdict(Outcome.FAILED, failure_message(job, lines, location))

    def _missing(self, tracked: Tracked, now: float) -> Verdict:
        if tracked.missing_since is None:
            tracked.missing_since = now
        waited = now - tracked.missing_since
        if waited < self._missing_grace:
            return RUNNING
        return Verdict(
            Outcome.FAILED,
            f"AWS Batch no longer knows job {tracked.batch_id} ({tracked.name}): DescribeJobs has "
            f"not returned it for {int(waited)} s. It may have been deleted or have expired; its "
            "outcome is unknown, so Snakemake treats it as failed.\n",
        )

    def _watch_runnable(self, tracked: Tracked, job: Mapping[str, Any], now: float) -> None:
        if job.get("status") != "RUNNABLE":
            tracked.runnable_since = None
            return
        if tracked.runnable_since is None:
            tracked.runnable_since = now
        waited = now - tracked.runnable_since
        if not tracked.runnable_warned and waited >= self._runnable_after:
            tracked.runnable_warned = True
            try:
                causes = self._service.queue(tracked.queue).likely_causes(tracked.vcpu)
            except WorkflowError:
                causes = []
            self._logger.warning(
                runnable_warning(job, waited, f"{tracked.request} on {tracked.queue}", causes)
            )
