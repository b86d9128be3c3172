"""The book of an earlier run's jobs: which job of this run takes over which. Pure.

A job of this run takes over a candidate with the same command (up to the order of an
option's values, see :func:`.identity.command_key`) and the same fingerprint
(the same rule, wildcards, attempt, and everything it runs with), each candidate at most
once. A candidate with the same command but another fingerprint is stale: what the job
runs with has changed (its definition, image, resources, queue, ...), so it is never
adopted, and cancelled.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass

from .candidates import Candidate
from .identity import command_key


@dataclass(frozen=True, slots=True)
class Claim:
    """What handing over one job found: the candidate it adopts, and those it made stale."""

    adopted: Candidate | None = None
    stale: tuple[Candidate, ...] = ()


class Earlier:
    """The candidates no job has taken over yet, by command."""

    def __init__(self, found: Iterable[Candidate] = ()) -> None:
        self._by_command: dict[str, list[Candidate]] = {}
        self._lock = threading.Lock()
        for candidate in found:
            self._by_command.setdefault(command_key(candidate.command), []).append(candidate)

    def claim(self, command: str, fingerprint: str) -> Claim:
        """Take over the candidate that runs ``command`` with ``fingerprint``, if any. The
        other candidates of that command leave the book too, as stale: those with another
        fingerprint, and any second one of the same (an earlier run's duplicate)."""
        with self._lock:
            same = self._by_command.pop(command_key(command), [])
        adopted = _best([c for c in same if c.fingerprint == fingerprint])
        return Claim(adopted, tuple(c for c in same if c is not adopted))

    def unclaimed(self) -> list[Candidate]:
        """The candidates no job took over; they leave the book."""
        with self._lock:
            left = [c for same in self._by_command.values() for c in same]
            self._by_command.clear()
        return left

    def __len__(self) -> int:
        with self._lock:
            return sum(len(same) for same in self._by_command.values())


def _best(matching: list[Candidate]) -> Candidate | None:
    """Of candidates that run the same, the one to take over: a succeeded one first (its
    work is done), then the one furthest on, then the newest."""
    order = {"SUCCEEDED": 6, "RUNNING": 5, "STARTING": 4, "RUNNABLE": 3, "PENDING": 2}
    return max(matching, key=lambda c: (order.get(c.status, 1), c.created_at), default=None)
