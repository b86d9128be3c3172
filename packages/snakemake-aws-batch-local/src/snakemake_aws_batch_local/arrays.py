"""Array jobs: a parent that runs nothing and follows its children, each a job of its own.

moto 5.2.5 already makes the children (``<parent id>:<index>``, with the parent's request)
and runs each as a job, but it checks no size, keeps the parent in SUBMITTED (SUCCEEDED
once every child succeeded, never FAILED), lists the children among the queue's jobs,
ignores ``SEQUENTIAL`` and ``N_TO_N`` dependencies and leaves the children running when
the parent is terminated. Here an ``Array`` kept on the parent counts its children by
status as they move, which gives the parent's status and ``statusSummary`` at once.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime
from typing import Any, Protocol

from moto.batch.exceptions import ClientException

MIN_SIZE = 2
MAX_SIZE = 10_000
STATUSES = ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED", "FAILED")
FINAL = ("SUCCEEDED", "FAILED")
# CancelJob cancels only these (AWS leaves STARTING and RUNNING jobs alone).
BEFORE_STARTING = ("SUBMITTED", "PENDING", "RUNNABLE")
# ListJobs of an array's children: without a status AWS lists the RUNNING ones only.
DEFAULT_LIST_STATUS = "RUNNING"
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000

_ARRAY_ATTRIBUTE = "_snakemake_local_array"
_MEMBER_ATTRIBUTE = "_snakemake_local_array_member"


class EndListener(Protocol):
    def job_ended(self, job_id: str) -> None:
        """Wake the jobs that wait for ``job_id``."""


def _now_ms() -> int:
    return int(time.time() * 1000)


class Array:
    """An array parent's children and how many are in each status."""

    def __init__(self, parent: Any, size: int, listener: EndListener) -> None:
        self.parent = parent
        self.size = size
        self.children: list[Any] = []
        self._listener = listener
        self._lock = threading.Lock()
        self._counts = dict.fromkeys(STATUSES, 0)
        self._updated_at = _now_ms()

    def add(self, child: Any) -> None:
        with self._lock:
            self.children.append(child)
            self._counts[str(child._status)] += 1
            self._updated_at = _now_ms()

    def moved(self, previous: str | None, status: str) -> None:
        """A child went from ``previous`` to ``status``; the parent ends with the last one."""
        with self._lock:
            if previous in self._counts:
                self._counts[str(previous)] -= 1
            self._counts[status] = self._counts.get(status, 0) + 1
            self._updated_at = _now_ms()
            ended = self._ended()
        if ended and not self.parent.job_stopped:
            self.parent.job_stopped_at = datetime.now()
            self.parent.job_stopped = True
            self._listener.job_ended(self.parent.job_id)

    def _ended(self) -> bool:
        """Whether every child has ended (lock held)."""
        done = self._counts["SUCCEEDED"] + self._counts["FAILED"]
        return len(self.children) == self.size and done == self.size

    def status(self) -> str:
        """SUBMITTED until a child moves on, PENDING until all have ended, then the outcome."""
        with self._lock:
            if self._ended():
                return "FAILED" if self._counts["FAILED"] else "SUCCEEDED"
            if self._counts["SUBMITTED"] == len(self.children):
                return "SUBMITTED"
            return "PENDING"

    def ended(self) -> bool:
        with self._lock:
            return self._ended()

    def detail(self) -> dict[str, Any]:
        """The parent's ``arrayProperties`` in DescribeJobs and ListJobs."""
        with self._lock:
            return {
                "size": self.size,
                "statusSummary": dict(self._counts),
                "statusSummaryLastUpdatedAt": self._updated_at,
            }


def led_by(job: Any) -> Array | None:
    """The array whose parent ``job`` is (None for any other job)."""
    value: Array | None = getattr(job, _ARRAY_ATTRIBUTE, None)
    return value


def member_of(job: Any) -> Array | None:
    """The array ``job`` is a child of (None for any other job)."""
    value: Array | None = getattr(job, _MEMBER_ATTRIBUTE, None)
    return value


def index_of(job: Any) -> int | None:
    """A child's index in its array."""
    if member_of(job) is None:
        return None
    return int(job.array_properties["index"])


def check_request(request: dict[str, Any]) -> None:
    """Refuse an array size AWS refuses (``ClientException``, before anything is made)."""
    properties = request.get("arrayProperties")
    if not isinstance(properties, dict) or "size" not in properties:
        return
    size = properties["size"]
    if isinstance(size, bool) or not isinstance(size, int) or not MIN_SIZE <= size <= MAX_SIZE:
        raise ClientException(
            f"arrayProperties.size must be an integer from {MIN_SIZE} to {MAX_SIZE}, not "
            f"{size!r}; submit a single job (no arrayProperties) for one task, and split "
            f"more than {MAX_SIZE} tasks over several array jobs"
        )


def adopt(job: Any, listener: EndListener) -> None:
    """Called as moto makes a local job: make a parent's ``Array``, or join a child to it.

    moto stores the parent before it makes the children, each with the parent's
    ``dependsOn``; a child's ``SEQUENTIAL`` and ``N_TO_N`` dependencies become dependencies
    on the child before it and on the same index of the other array.
    """
    properties = job.array_properties or {}
    if "size" in properties:
        setattr(job, _ARRAY_ATTRIBUTE, Array(job, int(properties["size"]), listener))
        return
    if "index" not in properties:
        return
    parent_id = str(job.job_id).rpartition(":")[0]
    array = led_by(job.all_jobs.get(parent_id))
    if array is None:
        return
    index = int(properties["index"])
    job.array_properties = {"index": index}
    job.depends_on = child_dependencies(job.depends_on, parent_id, index, job.all_jobs)
    setattr(job, _MEMBER_ATTRIBUTE, array)
    array.add(job)


def child_dependencies(
    depends_on: list[dict[str, Any]] | None, parent_id: str, index: int, jobs: dict[str, Any]
) -> list[dict[str, Any]]:
    """Child ``index``'s dependencies, from its array's ``dependsOn``."""
    result = []
    for entry in depends_on or []:
        kind = str(entry.get("type") or "").upper()
        job_id = entry.get("jobId")
        if kind == "SEQUENTIAL" and not job_id:
            if index > 0:
                result.append({"jobId": f"{parent_id}:{index - 1}", "type": "SEQUENTIAL"})
        elif kind == "N_TO_N" and job_id and f"{job_id}:{index}" in jobs:
            result.append({"jobId": f"{job_id}:{index}", "type": "N_TO_N"})
        else:
            result.append(dict(entry))
    return result


def finish_submission(parent: Any) -> None:
    """After moto's SubmitJob: the ``Array`` stands in for moto's own list of children."""
    if led_by(parent) is not None:
        # moto's DescribeJobs would count them again (and mark the parent SUCCEEDED).
        parent._child_jobs = None


def terminate(array: Array, reason: str) -> None:
    """TerminateJob of the parent: every child that has not ended is terminated."""
    if array.ended():
        return
    parent = array.parent
    if parent.job_stopped_reason is None:
        parent.job_stopped_reason = reason
    # Last child first: a child that ends cannot fail a later one (SEQUENTIAL) on the way.
    for child in reversed(array.children):
        if not child.job_stopped:
            child.terminate(reason)


def cancel(array: Array, reason: str) -> None:
    """CancelJob of the parent: the children that have not reached STARTING are cancelled."""
    if array.ended():
        return
    cancelled = False
    for child in reversed(array.children):
        if not child.job_stopped and child.status in BEFORE_STARTING:
            child.terminate(reason)
            cancelled = True
    if cancelled and array.parent.job_stopped_reason is None:
        array.parent.job_stopped_reason = reason


def _page_size(value: Any) -> int:
    if value is None:
        return DEFAULT_PAGE_SIZE
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ClientException(f"maxResults must be a positive integer, not {value!r}")
    return min(value, MAX_PAGE_SIZE)


def list_children(
    parent: Any, *, status: str | None, max_results: Any, next_token: Any
) -> dict[str, Any]:
    """ListJobs with ``arrayJobId``: one page of the children in ``status`` (RUNNING)."""
    status = status or DEFAULT_LIST_STATUS
    if status not in STATUSES:
        raise ClientException(f"jobStatus must be one of {' | '.join(STATUSES)}, not {status!r}")
    size = _page_size(max_results)
    token = next_token or "0"
    if not isinstance(token, str) or not token.isdigit():
        raise ClientException(f"invalid nextToken {token!r}: pass the one the last page gave")
    array = led_by(parent)
    children = [] if array is None else list(array.children)
    matching = [child for child in children if child.status == status]
    start = int(token)
    page: dict[str, Any] = {
        "jobSummaryList": [child.describe_short() for child in matching[start : start + size]]
    }
    if start + size < len(matching):
        page["nextToken"] = str(start + size)
    return page
