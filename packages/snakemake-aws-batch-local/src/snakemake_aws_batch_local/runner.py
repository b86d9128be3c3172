"""The life of one job: statuses, dependencies, attempts, retries and termination.

``JobRun.step`` is called by the scheduler whenever the job is due or woken; it moves the
job as far as it can and says when it wants to be called again. The attempts themselves
run in ``attempt.AttemptRun`` threads.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from . import consumables, interruptions, retry
from .attempt import (
    EXITED_REASON,
    SHUTDOWN_REASON,
    AttemptRun,
    Outcome,
    close_record,
    container_environment,
    interrupted,
    milliseconds,
    new_record,
    open_log,
    start_failure,
)
from .joblog import LogStartError
from .runtime import JobExtras
from .secrets import SecretError

DEPENDENCY_REASON = "Dependent Job failed"
NOT_A_CONTAINER_REASON = "The local AWS Batch runs container jobs only"
# A job waiting for a dependency is woken when it ends; this re-check is a safety net.
DEPENDENCY_RECHECK_SECONDS = 1.0


def status_of(job: Any) -> str | None:
    """A job's status; an array parent's follows its children.

    A local parent's ``status`` does that itself (see ``arrays``); moto never moves the
    parent of an array made without the local server.
    """
    children = job._child_jobs
    if not children or not all(child.job_stopped for child in children):
        status: str | None = job.status
        return status
    failed = any(child.status == "FAILED" for child in children)
    return "FAILED" if failed else "SUCCEEDED"


class JobRun:
    """Drives one moto Job through AWS Batch's statuses."""

    def __init__(self, job: Any, extras: JobExtras) -> None:
        self.job = job
        self.job_id: str = job.job_id
        self.extras = extras
        self.runtime = extras.runtime
        self.due: float | None = None  # the scheduler's
        self.since = time.monotonic()  # when the current status began
        self.strategy: dict[str, Any] | None = (
            extras.request.get("retryStrategy") or job.job_definition.retry_strategy
        )
        self.number = 0  # the current attempt
        self.executing = False
        self.outcome: Outcome | None = None
        # The consumable resources held from the first STARTING until the job ends.
        self.registry: consumables.Registry | None = None
        self.held: consumables.Holding | None = None

    def halted(self) -> bool:
        return bool(self.job.stop) or self.runtime.stopping.is_set()

    # -- the state machine ---------------------------------------------------------------
    def step(self, now: float) -> float | None:
        while not self.job.job_stopped:
            if self.executing:
                return None  # the attempt wakes us when it ends
            if self.outcome is not None:
                self._after_attempt(self.outcome, now)
                continue
            if self.halted():
                self.finish(success=False)
                return None
            due = self.since + self.runtime.knobs.pace()
            if now < due:
                return due
            moved, wake_at = self._leave(self.job.status, now)
            if not moved:
                return wake_at
        return None

    def _leave(self, status: str, now: float) -> tuple[bool, float | None]:
        """Go on from ``status`` if the job may: (whether it did, when to look again)."""
        job = self.job
        if status == "SUBMITTED":
            if job.job_definition.container_properties is None:
                self.finish(success=False, reason=NOT_A_CONTAINER_REASON)
                return False, None
            self._move("PENDING", now)
        elif status == "PENDING":
            waiting = self._dependencies()
            if waiting is not None or job.job_stopped:
                return False, waiting
            self._move("RUNNABLE", now)
        elif status == "RUNNABLE":
            if self.runtime.knobs.holding():
                if self.registry is not None:
                    self.registry.cancel(self)  # a held job waits for nothing else
                return False, None  # woken when the knobs change
            if not self._take_consumables():
                return False, None  # woken when what it asks for is granted
            self._move("STARTING", now)
        elif status == "STARTING":
            self._start_attempt(now)
        else:  # RUNNING without an attempt: cannot happen; end the job rather than spin
            self.finish(success=False, reason="Local AWS Batch error: lost attempt")
        return True, None

    def _move(self, status: str, now: float) -> None:
        self.job.status = status
        self.since = now

    def _dependencies(self) -> float | None:
        """None once every dependency SUCCEEDED (or one FAILED: then the job ends)."""
        wanted = [str(d.get("jobId", "")) for d in self.job.depends_on or []]
        jobs = self.job.all_jobs
        statuses = {i: status_of(jobs[i]) if i in jobs else None for i in wanted}
        if "FAILED" in statuses.values():
            self.finish(success=False, reason=DEPENDENCY_REASON)
            return None
        pending = [i for i, status in statuses.items() if status != "SUCCEEDED"]
        if not pending:
            return None
        self.runtime.scheduler.wait_for(self, pending)
        return time.monotonic() + DEPENDENCY_RECHECK_SECONDS

    def _take_consumables(self) -> bool:
        """Whether the job holds the consumable resources it asks for (else it waits)."""
        if self.held is not None:
            return True
        wanted = consumables.requested(self.extras.request, self.job.job_definition)
        if not wanted:
            self.held = ()
            return True
        if self.registry is None:
            self.registry = consumables.registry_of(self.job.backend)
        self.held = self.registry.acquire(self, wanted, self._wake)
        return self.held is not None

    def _wake(self) -> None:
        self.runtime.scheduler.wake(self)

    def _start_attempt(self, now: float) -> None:
        job = self.job
        self.number += 1
        record = new_record(job, self.number)
        job.attempts.append(record)
        try:
            environment = container_environment(job, self.extras, self.number)
        except SecretError as err:
            self.outcome = close_record(record, Outcome(None, str(err), reason=str(err)))
            return
        try:
            log = open_log(job, self.number)
        except LogStartError as err:
            self.outcome = close_record(record, start_failure(err))
            return
        job.log_stream_name = log.stream
        if log.stream is not None:
            record["container"]["logStreamName"] = log.stream
        job.job_started_at = datetime.now()
        record["startedAt"] = milliseconds(job.job_started_at)
        job.latest_attempt = record
        self.extras.started = True
        self._move("RUNNING", now)
        if self.runtime.knobs.snapshot().instant_jobs:
            if interruptions.claim(self.runtime.knobs, job, self.extras):
                self.outcome = close_record(record, interrupted(job, self.number))
            else:
                self.outcome = close_record(record, Outcome(0, EXITED_REASON, success=True))
            return
        self.executing = True
        AttemptRun(
            job,
            self.extras,
            number=self.number,
            environment=environment,
            log=log,
            record=record,
            on_done=self._attempt_ended,
        ).start()

    def _attempt_ended(self, outcome: Outcome) -> None:
        """Called from the attempt's thread."""
        self.outcome = outcome
        self.executing = False
        self.runtime.scheduler.wake(self)

    def _after_attempt(self, outcome: Outcome, now: float) -> None:
        self.outcome = None
        self.extras.exit_code = outcome.exit_code
        self.extras.reason = outcome.reason
        if outcome.success:
            self.finish(success=True)
            return
        allowed = retry.max_attempts(self.strategy)
        if (
            self.number >= allowed
            or not outcome.retryable
            or self.halted()
            or not retry.should_retry(
                self.strategy,
                exit_code=outcome.exit_code,
                status_reason=outcome.status_reason,
                reason=outcome.reason,
            )
        ):
            self.finish(success=False, reason=outcome.status_reason)
            return
        self._move("RUNNABLE", now)

    # -- the end -------------------------------------------------------------------------
    def fail(self, reason: str) -> None:
        self.finish(success=False, reason=reason)

    def finish(self, *, success: bool, reason: str | None = None) -> None:
        """End the job for good; a termination's reason wins over ours."""
        job = self.job
        if job.job_stopped:
            return
        if job.stop and job.job_stopped_reason:
            reason = job.job_stopped_reason
        elif reason is None and self.runtime.stopping.is_set():
            reason = SHUTDOWN_REASON
        if reason is not None:
            job.job_stopped_reason = reason
        job.exit_code = self.extras.exit_code
        job.job_stopped_at = datetime.now()
        job.job_stopped = True
        job.status = "SUCCEEDED" if success else "FAILED"
        if self.registry is not None:
            self.registry.cancel(self)
            if self.held:
                self.registry.release(self.held)
            self.held = ()
        self.runtime.scheduler.finished(self)
