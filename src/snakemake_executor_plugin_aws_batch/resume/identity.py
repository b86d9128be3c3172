"""What a submitted job carries so that a later run can recognise it. Pure.

Every SubmitJob request carries two variables in its environment: the workflow's id
(where its outputs go, and its Snakefile) and the request's fingerprint (everything the
job will run with but its name, command and tags). A later run adopts a job only when
both are its own and the command is the same.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
from collections.abc import Mapping
from typing import Any

WORKFLOW_VARIABLE = "SNAKEMAKE_AWS_BATCH_WORKFLOW"
REQUEST_VARIABLE = "SNAKEMAKE_AWS_BATCH_REQUEST"
# Left out of the fingerprint: what differs between runs of one job without changing
# what it computes (tags may name a coordinator's job id).
UNFINGERPRINTED = ("jobName", "tags", "propagateTags")
# Where one command of a shell line ends and the next begins.
SHELL_OPERATORS = frozenset({"&&", "||", ";", "|"})


def _digest(value: object) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def workflow_id(*, storage_prefix: str | None, workdir: str, snakefile: str) -> str:
    """The workflow's id: its default storage prefix when it has one (a detached run's
    coordinator works in a new folder each time), else its working directory; and its
    Snakefile, relative to that folder."""
    place = f"storage:{storage_prefix.rstrip('/')}" if storage_prefix else f"dir:{workdir}"
    return _digest([place, os.path.relpath(snakefile, workdir)])


def fingerprint(request: Mapping[str, Any], *, rule: str, attempt: int) -> str:
    """What a job's request asks for but its name, command and tags, with its rule and
    Snakemake attempt: two jobs with the same fingerprint and command run the same."""
    overrides = {k: v for k, v in request["containerOverrides"].items() if k != "command"}
    rest = {k: v for k, v in request.items() if k not in (*UNFINGERPRINTED, "containerOverrides")}
    return _digest([rule, attempt, overrides, rest])


def command_key(command: str) -> str:
    """What of a job's command says which job it runs: the command with the values of each
    option in sorted order. Snakemake writes some options' values from sets (the rerun
    triggers, a group's rules and targets), whose order changes from one run to the next."""
    try:
        words = shlex.split(command)
    except ValueError:
        return command
    key: list[str] = []
    values: list[str] = []
    for word in [*words, "--"]:
        if word.startswith("-") or word in SHELL_OPERATORS:
            key.extend(sorted(values))
            values = []
            key.append(word)
        else:
            values.append(word)
    return shlex.join(key[:-1])


def variables(workflow: str, request: str) -> dict[str, str]:
    """The environment variables a job carries for a later run to recognise it."""
    return {WORKFLOW_VARIABLE: workflow, REQUEST_VARIABLE: request}


def carried(job: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """The workflow id and fingerprint a described job carries (None where it has none)."""
    environment = (job.get("container") or {}).get("environment") or []
    found = {e.get("name"): e.get("value") for e in environment if isinstance(e, Mapping)}
    return found.get(WORKFLOW_VARIABLE), found.get(REQUEST_VARIABLE)
