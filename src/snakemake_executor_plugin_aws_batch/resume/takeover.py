"""Taking over an earlier run's jobs: found at start, claimed job by job as Snakemake hands
them over, and at the end of the run the ones no job took over terminated (unless turned
off); what happened is said, and counted for the run record.
"""

from __future__ import annotations

import collections
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

from ..aws.boundary import BatchError
from ..logs import Logger
from .candidates import Candidate
from .earlier import Earlier
from .earlier_runs import Window
from .finder import FinderService, find

STALE_REASON = (
    "Terminated by Snakemake: a new run of this workflow runs this job with another "
    "command or request."
)
UNNEEDED_REASON = (
    "Terminated by Snakemake: the new run of this workflow that found this job did not need it."
)
TERMINATE_WORKERS = 8


class TakeoverService(FinderService, Protocol):
    def terminate(self, job_id: str, reason: str) -> None: ...


class Takeover:
    """An earlier run's jobs, for this run to take over."""

    def __init__(self, service: TakeoverService, logger: Logger, *, cancel: bool) -> None:
        self._service = service
        self._logger = logger
        self._cancel = cancel
        self._earlier = Earlier()
        self.found = self.adopted = self.cancelled = self.left = 0

    def find(self, *, workflow: str, queues: Iterable[str], window: Window) -> None:
        """Look for the earlier run's jobs on ``queues``; a failure only means that every
        job is submitted."""
        for note in window.notes:
            self._logger.warning(note)
        try:
            found = find(self._service, workflow=workflow, queues=queues, since_ms=window.since_ms)
        except BatchError as exc:
            self._logger.warning(
                f"The jobs of an earlier run of this workflow could not be looked for ({exc}); "
                "every job is submitted."
            )
            return
        self._earlier = Earlier(found)
        self.found = len(found)
        if found:
            states = collections.Counter(candidate.status for candidate in found)
            said = ", ".join(f"{count} {state}" for state, count in sorted(states.items()))
            self._logger.info(
                f"Resuming: {len(found)} AWS Batch jobs of an earlier run of this workflow "
                f"({said}). A job of this run that matches one takes it over instead of "
                "being submitted again."
            )

    def claim(self, command: str, fingerprint: str) -> Candidate | None:
        """The earlier job a job of this run takes over; a stale one is terminated."""
        claim = self._earlier.claim(command, fingerprint)
        for stale, why in claim.stale:
            self._logger.warning(
                f"Not adopted: AWS Batch job {stale.batch_id} ({stale.name}, {stale.status}) "
                f"of an earlier run {why.value}"
                + ("; it is terminated." if stale.status != "SUCCEEDED" else ".")
            )
        self.cancelled += self._terminate([stale for stale, _ in claim.stale], STALE_REASON)
        if claim.adopted is not None:
            self.adopted += 1
            self._logger.info(
                f"Adopting AWS Batch job {claim.adopted.batch_id} ({claim.adopted.name}, "
                f"{claim.adopted.status}) of an earlier run instead of submitting it again."
            )
        return claim.adopted

    def finish(self) -> None:
        """The end of the run: the earlier run's jobs no job took over are terminated
        (unless turned off), and what happened is said."""
        left = self._earlier.unclaimed()
        live = [candidate for candidate in left if candidate.status != "SUCCEEDED"]
        if self._cancel:
            self.cancelled += self._terminate(live, UNNEEDED_REASON)
        else:
            self.left += len(live)
        if self.found:
            kept = f", {self.left} left running (--aws-batch-keep-unmatched)" if self.left else ""
            self._logger.info(
                f"Resumed an earlier run of this workflow: {self.adopted} AWS Batch jobs "
                f"adopted, {self.cancelled} cancelled{kept}."
            )

    def counts(self) -> dict[str, int]:
        return {
            "found": self.found,
            "adopted": self.adopted,
            "cancelled": self.cancelled,
            "left_running": self.left,
        }

    def _terminate(self, candidates: Iterable[Candidate], reason: str) -> int:
        """Terminate the live ones of ``candidates`` (an array's child by itself); how many
        were terminated."""
        chosen = [c for c in candidates if c.status != "SUCCEEDED"]
        if not chosen:
            return 0
        failed = []
        with ThreadPoolExecutor(TERMINATE_WORKERS, thread_name_prefix="aws-batch-takeover") as pool:
            futures = {
                pool.submit(self._service.terminate, candidate.batch_id, reason): candidate
                for candidate in chosen
            }
            for future, candidate in futures.items():
                try:
                    future.result()
                except BatchError as exc:
                    failed.append(f"{candidate.batch_id} ({candidate.name}): {exc}")
        if failed:
            self._logger.warning(
                "These AWS Batch jobs of an earlier run could not be terminated; stop them in "
                "the AWS console or with 'aws batch terminate-job':\n  " + "\n  ".join(failed)
            )
        return len(chosen) - len(failed)
