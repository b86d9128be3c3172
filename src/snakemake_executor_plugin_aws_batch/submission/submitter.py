"""Submission off the scheduler's thread: a worker pool paced below AWS's SubmitJob limit."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from snakemake_interface_common.exceptions import WorkflowError

from ..aws.service import Pace
from ..jobspec import payloads
from ..jobspec.spec import DefinitionSpec, JobSpec

PACING_MARGIN = 0.95
NOT_SUBMITTED = "Not submitted: the workflow was cancelled."


class RateLimiter:
    """A token bucket that slows down when AWS throttles, and recovers after.

    At most ``rate`` acquisitions per second, in bursts of ``burst``. :meth:`throttled`
    lowers the rate to ``THROTTLE_FACTOR`` of what it is (once per ``THROTTLE_WINDOW``
    seconds: one crowded second answers several calls in flight with a throttle); the
    rate then climbs back to ``rate`` by ``RECOVERY`` of it per second. So the account's
    limit is shared with whatever else submits in it, instead of being fought over
    with back-offs.
    """

    THROTTLE_FACTOR = 0.9
    THROTTLE_WINDOW = 1.0
    RECOVERY = 0.02
    FLOOR = 0.05  # of ``rate``: never slower than this

    def __init__(
        self, rate: float, burst: float | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self._ceiling = rate
        self._rate = rate
        self._burst = burst if burst is not None else max(1.0, rate / 5)
        self._tokens = self._burst
        self._clock = clock
        self._last = clock()
        self._throttled_at: float | None = None
        self._lock = threading.Lock()

    @property
    def rate(self) -> float:
        """The rate in force now."""
        return self._rate

    def acquire(self, sleep: Callable[[float], None] = time.sleep) -> None:
        """Take a token, sleeping until it is due.

        A caller reserves its token at once (the bucket may go below zero) and sleeps
        for exactly its share: there is no re-check loop that float rounding could
        keep spinning.
        """
        with self._lock:
            now = self._clock()
            elapsed = max(0.0, now - self._last)
            self._tokens = min(self._burst, self._tokens + elapsed * self._rate)
            self._rate = min(self._ceiling, self._rate + elapsed * self._ceiling * self.RECOVERY)
            self._last = now
            self._tokens -= 1
            wait = -self._tokens / self._rate if self._tokens < 0 else 0.0
        if wait > 0:
            sleep(wait)

    def throttled(self) -> None:
        """AWS answered a call with a throttle: slow down, once per window."""
        with self._lock:
            now = self._clock()
            if self._throttled_at is not None and now - self._throttled_at < self.THROTTLE_WINDOW:
                return
            self._throttled_at = now
            self._rate = max(self._ceiling * self.FLOOR, self._rate * self.THROTTLE_FACTOR)


class Service(Protocol):
    """What the submitter asks of the AWS Batch service."""

    def submit(self, request: Mapping[str, Any], *, rule: str, pace: Pace | None = None) -> str: ...


class Submission(Protocol):
    """Where a submission's outcome goes: a job's record, or an array job."""

    def submitted(self, batch_id: str) -> None: ...

    def refused(self, error: str) -> None: ...


class Definitions(Protocol):
    def arn(self, definition: DefinitionSpec | str) -> str: ...


class Submitter:
    """Sends SubmitJob requests from a small thread pool, paced by a :class:`RateLimiter`.

    Results are written into the job's :class:`JobRecord`, which the status loop
    reads: a submission is never lost, whatever happens to the request.
    """

    def __init__(
        self, *, service: Service, definitions: Definitions, rate: float, workers: int = 16
    ) -> None:
        self._service = service
        self._definitions = definitions
        # Evenly spaced, a little under the limit: AWS counts calls per second, and a
        # burst or a small clock skew would otherwise be answered with 429s and back-off.
        self._limiter = RateLimiter(rate * PACING_MARGIN, burst=1)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="aws-batch-submit")
        self._stopping = threading.Event()
        self._in_flight = 0
        self._idle = threading.Condition()

    @property
    def rate(self) -> float:
        """SubmitJob calls per second in force now (lower for a while after throttles)."""
        return self._limiter.rate

    def submit(
        self,
        target: Submission,
        job: JobSpec,
        *,
        command: str,
        environment: Mapping[str, str],
        array_size: int | None = None,
    ) -> None:
        """Queue the submission of a job (or array job); its outcome is written into ``target``."""
        if self._stopping.is_set():
            target.refused(NOT_SUBMITTED)
            return
        with self._idle:
            self._in_flight += 1
        self._pool.submit(self._run, target, job, command, environment, array_size)

    def _run(
        self,
        target: Submission,
        job: JobSpec,
        command: str,
        environment: Mapping[str, str],
        array_size: int | None,
    ) -> None:
        try:
            if self._stopping.is_set():
                target.refused(NOT_SUBMITTED)
                return
            request = payloads.submit_job(
                job,
                job_definition=self._definitions.arn(job.definition),
                command=command,
                environment=environment,
                array_size=array_size,
            )
            self._limiter.acquire()
            target.submitted(self._service.submit(request, rule=job.rule, pace=self._limiter))
        except WorkflowError as exc:  # BatchError among them
            target.refused(str(exc))
        except Exception as exc:  # a bug must fail the job, not lose it
            target.refused(f"Submission failed unexpectedly: {type(exc).__name__}: {exc}")
        finally:
            with self._idle:
                self._in_flight -= 1
                self._idle.notify_all()

    def stop(self, timeout: float) -> bool:
        """Send nothing new; wait up to ``timeout`` s for requests under way. True if idle."""
        self._stopping.set()
        with self._idle:
            idle = self._idle.wait_for(lambda: self._in_flight == 0, timeout=timeout)
        # Requests still queued are not cancelled: each one runs, sees the stop and
        # records that it was not submitted, so no job is left without an answer.
        self._pool.shutdown(wait=False)
        return idle
