"""What the executor keeps per job, and the one book of jobs that have not finished."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from ..jobspec.platform import Resources


@dataclass(eq=False, slots=True)
class JobRecord:
    """One Snakemake job on AWS Batch: small, because there may be tens of thousands.

    Written by the submitter (``batch_id`` or ``error``) and by the status round
    (the ``*_since`` and ``runnable_warned`` fields); read by both and by cancel.
    Records are compared by identity: two jobs may share every value.
    """

    name: str
    rule: str
    queue: str
    resources: Resources
    batch_id: str | None = None
    error: str | None = None  # set when the job was not submitted
    runnable_since: float | None = None
    runnable_warned: bool = False
    missing_since: float | None = None
    array: ArrayJob | None = None  # set when the job runs as a child of an array job
    index: int | None = None  # its index in that array
    reclaims: int = 0  # times it was submitted again after its EC2 host was reclaimed

    def submitted(self, batch_id: str) -> None:
        self.batch_id = batch_id

    def refused(self, error: str) -> None:
        self.error = error


@dataclass(eq=False, slots=True)
class ArrayJob:
    """One AWS Batch array job: its children are the records in ``children``, in order.

    Written by the submitter (``batch_id`` or ``error``, copied into every child's
    record as ``parent:index``) and by the status round (the rest).
    """

    name: str
    rule: str
    queue: str
    resources: Resources
    children: list[JobRecord]
    batch_id: str | None = None
    error: str | None = None
    finished: set[int] = field(default_factory=set)  # indexes known to have finished
    runnable_since: float | None = None
    runnable_warned: bool = False
    missing_since: float | None = None

    @property
    def size(self) -> int:
        return len(self.children)

    def submitted(self, batch_id: str) -> None:
        self.batch_id = batch_id
        for index, child in enumerate(self.children):
            child.batch_id = f"{batch_id}:{index}"

    def refused(self, error: str) -> None:
        self.error = error
        for child in self.children:
            child.error = error


class JobBook:
    """The jobs handed to AWS Batch that have not finished: the only list of them."""

    def __init__(self) -> None:
        self._jobs: dict[int, JobRecord] = {}
        self._lock = threading.Lock()

    def add(self, record: JobRecord) -> None:
        with self._lock:
            self._jobs[id(record)] = record

    def finish(self, record: JobRecord) -> None:
        with self._lock:
            self._jobs.pop(id(record), None)

    def unfinished(self) -> list[JobRecord]:
        with self._lock:
            return list(self._jobs.values())

    def __len__(self) -> int:
        with self._lock:
            return len(self._jobs)
