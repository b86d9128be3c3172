"""Finding an earlier run's jobs on AWS Batch: the live jobs of the run's queues, and
those created since the earlier run started, described 100 a call; an array's children
listed by state.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from ..states import Finished, Live
from ..tracking.status import chunks
from .candidates import ADOPTABLE, Candidate, candidates, is_array, of_workflow


class FinderService(Protocol):
    """What finding an earlier run's jobs asks of the AWS Batch service."""

    def jobs_in(self, queue: str, status: Live | Finished) -> list[str]: ...

    def jobs_created_since(self, queue: str, created_at_ms: int) -> list[str]: ...

    def describe(self, job_ids: Sequence[str]) -> list[dict[str, Any]]: ...

    def children(self, array_id: str, status: Live | Finished) -> list[int]: ...


def find(
    service: FinderService, *, workflow: str, queues: Iterable[str], since_ms: int | None
) -> list[Candidate]:
    """The candidates of ``workflow`` on ``queues``: the live jobs, and those created since
    ``since_ms`` (when an earlier run's start is known; else since the oldest live one of
    the workflow, so that what succeeded after it is found too)."""
    queues = sorted(set(queues))
    ids = _ids(service, queues, since_ms)
    ours = [job for job in _described(service, ids) if of_workflow(job, workflow)]
    if since_ms is None and ours:
        oldest = min(int(job.get("createdAt") or 0) for job in ours)
        seen = set(ids)
        more = [i for i in _ids(service, queues, oldest, live=False) if i not in seen]
        ours += [job for job in _described(service, more) if of_workflow(job, workflow)]
    found = []
    for job in ours:
        children = _children_states(service, str(job["jobId"])) if is_array(job) else None
        found += candidates(job, workflow, children)
    return found


def _ids(
    service: FinderService, queues: Sequence[str], since_ms: int | None, *, live: bool = True
) -> list[str]:
    ids: dict[str, None] = {}
    for queue in queues:
        for state in ADOPTABLE[:-1] if live else ():
            ids.update(dict.fromkeys(service.jobs_in(queue, state)))
        if since_ms is not None:
            ids.update(dict.fromkeys(service.jobs_created_since(queue, since_ms)))
    return list(ids)


def _described(service: FinderService, ids: Sequence[str]) -> list[dict[str, Any]]:
    return [job for chunk in chunks(ids) for job in service.describe(chunk)]


def _children_states(service: FinderService, array_id: str) -> dict[int, str]:
    return {index: state for state in ADOPTABLE for index in service.children(array_id, state)}
