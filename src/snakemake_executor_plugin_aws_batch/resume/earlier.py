"""The book of an earlier run's jobs: which job of this run takes over which. Pure.

The jobs of the two runs are paired by the Snakemake jobs they run (their rules and
wildcards, the ``--target-jobs`` of the command). A job of this run takes over the
candidate of its Snakemake job that runs the same command (as
:func:`.identity.command_key` compares them) with the same fingerprint (everything it
runs with), each candidate at most once. The other candidates of its Snakemake job are
stale: another command (Snakemake's arguments changed), another fingerprint (the
workflow's sources, its definition, image, resources, queue, ...), or a second copy;
they are never adopted, and cancelled.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Iterable
from dataclasses import dataclass

from .candidates import Candidate
from .identity import command_key, targets


class Why(enum.Enum):
    """Why a candidate of a job is not taken over."""

    COMMAND = "runs another command (Snakemake's arguments changed)"
    REQUEST = (
        "runs with another request or code (the workflow's sources, definition, image, "
        "resources, queue or environment changed)"
    )
    COPY = "runs the same as another job of the earlier run, which is taken over"


@dataclass(frozen=True, slots=True)
class Claim:
    """What handing over one job found: the candidate it adopts, and those it made stale."""

    adopted: Candidate | None = None
    stale: tuple[tuple[Candidate, Why], ...] = ()


class Earlier:
    """The candidates no job has taken over yet, by the Snakemake jobs they run."""

    def __init__(self, found: Iterable[Candidate] = ()) -> None:
        self._by_target: dict[str, list[Candidate]] = {}
        self._lock = threading.Lock()
        for candidate in found:
            self._by_target.setdefault(targets(candidate.command), []).append(candidate)

    def claim(self, command: str, fingerprint: str) -> Claim:
        """Take over the candidate that runs ``command`` with ``fingerprint``, if any. The
        other candidates of the same Snakemake job leave the book too, as stale."""
        with self._lock:
            same = self._by_target.pop(targets(command), [])
        key = command_key(command)
        alike = [c for c in same if command_key(c.command) == key]
        adopted = _best([c for c in alike if c.fingerprint == fingerprint])
        stale = tuple((c, _why(c, alike, fingerprint)) for c in same if c is not adopted)
        return Claim(adopted, stale)

    def unclaimed(self) -> list[Candidate]:
        """The candidates no job took over; they leave the book."""
        with self._lock:
            left = [c for same in self._by_target.values() for c in same]
            self._by_target.clear()
        return left

    def __len__(self) -> int:
        with self._lock:
            return sum(len(same) for same in self._by_target.values())


def _why(candidate: Candidate, alike: list[Candidate], fingerprint: str) -> Why:
    if candidate not in alike:
        return Why.COMMAND
    return Why.REQUEST if candidate.fingerprint != fingerprint else Why.COPY


def _best(matching: list[Candidate]) -> Candidate | None:
    """Of candidates that run the same, the one to take over: a succeeded one first (its
    work is done), then the one furthest on, then the newest."""
    order = {"SUCCEEDED": 6, "RUNNING": 5, "STARTING": 4, "RUNNABLE": 3, "PENDING": 2}
    return max(matching, key=lambda c: (order.get(c.status, 1), c.created_at), default=None)
