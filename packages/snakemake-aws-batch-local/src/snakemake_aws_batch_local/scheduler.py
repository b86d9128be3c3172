"""One thread that moves every job forward when it is due, instead of one thread per job.

A job waiting in a status (the status pace, ``hold_jobs``, its dependencies) costs an
entry in a heap, not a thread: ten thousand held jobs cost nothing until they are woken.
Only an attempt whose command runs has a thread of its own (see ``attempt``).
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from typing import Protocol

logger = logging.getLogger(__name__)


class Steppable(Protocol):
    """A job's state machine, as the scheduler sees it."""

    due: float | None
    job_id: str

    def step(self, now: float) -> float | None:
        """Move on as far as possible; the monotonic time to be called again, or None to
        wait until woken."""

    def fail(self, reason: str) -> None:
        """End the job as FAILED after an unexpected error in ``step``."""


class Scheduler:
    """Calls each job's ``step`` when it is due or woken, one job at a time."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._heap: list[tuple[float, int, Steppable]] = []
        self._order = itertools.count()
        self._active: set[Steppable] = set()
        self._waiting_on: dict[str, set[Steppable]] = {}
        self._stopping = False
        self._thread = threading.Thread(
            target=self._loop, name="snakemake-local-batch-scheduler", daemon=True
        )
        self._thread.start()

    def _push(self, run: Steppable, due: float) -> None:
        """Schedule ``run`` at ``due`` unless it is already due earlier (lock held)."""
        if run.due is not None and run.due <= due:
            return
        run.due = due
        heapq.heappush(self._heap, (due, next(self._order), run))
        self._condition.notify()

    def add(self, run: Steppable) -> None:
        """Start driving a new job."""
        with self._condition:
            self._active.add(run)
            self._push(run, time.monotonic())

    def wake(self, run: Steppable) -> None:
        """Step ``run`` now (it was terminated, or its attempt ended)."""
        with self._condition:
            if run in self._active:
                self._push(run, time.monotonic())

    def wake_all(self) -> None:
        """Step every job now (the knobs changed, or the server stops)."""
        with self._condition:
            now = time.monotonic()
            for run in self._active:
                self._push(run, now)

    def wait_for(self, run: Steppable, job_ids: list[str]) -> None:
        """Wake ``run`` when any of ``job_ids`` ends."""
        with self._condition:
            for job_id in job_ids:
                self._waiting_on.setdefault(job_id, set()).add(run)

    def finished(self, run: Steppable) -> None:
        """``run`` has ended: forget it, wake the jobs that depend on it."""
        with self._condition:
            self._active.discard(run)
            self._wake_waiting(run.job_id)

    def job_ended(self, job_id: str) -> None:
        """A job that has no run of its own (an array parent) has ended: wake its dependents."""
        with self._condition:
            self._wake_waiting(job_id)

    def _wake_waiting(self, job_id: str) -> None:
        """Step the jobs waiting for ``job_id`` now (lock held)."""
        now = time.monotonic()
        for waiting in self._waiting_on.pop(job_id, set()):
            if waiting in self._active:
                self._push(waiting, now)

    def count(self) -> int:
        """How many jobs have not ended."""
        with self._condition:
            return len(self._active)

    def stop(self, timeout: float = 10.0) -> None:
        with self._condition:
            self._stopping = True
            self._condition.notify()
        self._thread.join(timeout)

    def _next(self) -> Steppable | None:
        """The next job that is due, waiting for it; None once stopping."""
        with self._condition:
            while not self._stopping:
                if not self._heap:
                    self._condition.wait()
                    continue
                due, _, run = self._heap[0]
                if run.due != due:  # superseded by an earlier wake-up
                    heapq.heappop(self._heap)
                    continue
                delay = due - time.monotonic()
                if delay > 0:
                    self._condition.wait(delay)
                    continue
                heapq.heappop(self._heap)
                run.due = None
                return run
            return None

    def _loop(self) -> None:
        while (run := self._next()) is not None:
            try:
                due = run.step(time.monotonic())
            except Exception as err:
                logger.exception("local job %s failed in the scheduler", run.job_id)
                run.fail(f"Local AWS Batch error: {err}")
                due = None
            if due is not None:
                with self._condition:
                    if run in self._active:
                        self._push(run, due)
