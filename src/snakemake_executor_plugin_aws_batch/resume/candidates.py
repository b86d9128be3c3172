"""The jobs of an earlier run of this workflow that the jobs of this run may take over,
read from AWS Batch's descriptions. Pure.

A job is a candidate when it carries this workflow's id and a fingerprint, when its
command is one the plugin wrote (an array's script reads back into its children's
commands), and when it is live or has succeeded: a live job is tracked instead of
submitted again, a succeeded one is reported at once. A failed job is no candidate.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..jobspec.payloads import SHELL
from ..states import LIVE, Finished, Live
from ..submission import arrays
from . import identity

ADOPTABLE: tuple[Live | Finished, ...] = (*LIVE, "SUCCEEDED")


@dataclass(frozen=True, slots=True)
class Candidate:
    """A job (or an array's child, ``parent:index``) of an earlier run of this workflow."""

    batch_id: str
    name: str
    status: str  # as it was found
    command: str
    fingerprint: str
    created_at: int  # ms since the epoch

    @property
    def parent(self) -> str | None:
        """The array job it is a child of, if it is one."""
        parent, colon, _ = self.batch_id.partition(":")
        return parent if colon else None


def is_array(job: Mapping[str, Any]) -> bool:
    """Whether ``job`` is an array's parent (a child has an index instead of a size)."""
    properties = job.get("arrayProperties") or {}
    return "size" in properties and "index" not in properties


def command_of(job: Mapping[str, Any]) -> str | None:
    """The text the plugin's ``/bin/sh -c`` command runs, or None for any other command."""
    command = (job.get("container") or {}).get("command") or []
    if len(command) != len(SHELL) + 1 or tuple(command[: len(SHELL)]) != SHELL:
        return None
    return str(command[-1])


def of_workflow(job: Mapping[str, Any], workflow: str) -> bool:
    return identity.carried(job)[0] == workflow


def candidates(
    job: Mapping[str, Any], workflow: str, children: Mapping[int, str] | None = None
) -> list[Candidate]:
    """The candidates ``job`` gives: itself, or for an array those of its children whose
    state (``children``, index to state) allows it."""
    found, fingerprint = identity.carried(job)
    text = command_of(job)
    if found != workflow or fingerprint is None or text is None:
        return []
    batch_id, name = str(job.get("jobId")), str(job.get("jobName"))
    created = int(job.get("createdAt") or 0)
    if not is_array(job):
        if job.get("status") not in ADOPTABLE:
            return []
        return [Candidate(batch_id, name, str(job["status"]), text, fingerprint, created)]
    commands = arrays.commands_of(text)
    if commands is None:
        return []
    states = children or {}
    return [
        Candidate(f"{batch_id}:{index}", name, states[index], command, fingerprint, created)
        for index, command in enumerate(commands)
        if states.get(index) in ADOPTABLE
    ]
