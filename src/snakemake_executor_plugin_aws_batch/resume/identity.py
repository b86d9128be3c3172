"""What a submitted job carries so that a later run can recognise it. Pure.

Every SubmitJob request carries two variables in its environment: the workflow's id
(where its outputs go, and its Snakefile) and the request's fingerprint (everything the
job will run with but its name, command and tags, and the content of the workflow's
sources). A later run adopts a job only when both are its own and the command is the
same but for where its sources are fetched from.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
from collections.abc import Iterable, Mapping
from typing import Any

WORKFLOW_VARIABLE = "SNAKEMAKE_AWS_BATCH_WORKFLOW"
REQUEST_VARIABLE = "SNAKEMAKE_AWS_BATCH_REQUEST"
# Left out of the fingerprint: what differs between runs of one job without changing
# what it computes (tags may name a coordinator's job id).
UNFINGERPRINTED = ("jobName", "tags", "propagateTags")
# Where one command of a shell line ends and the next begins.
SHELL_OPERATORS = frozenset({"&&", "||", ";", "|"})
TARGETS_OPTION = "--target-jobs"
# The options whose values Snakemake writes from sets, in no set order.
SET_OPTIONS = frozenset({"--rerun-triggers", "--allowed-rules", TARGETS_OPTION, "--wait-for-files"})
# The options whose values do not say which job a command runs: where the workflow's
# sources are fetched from (Snakemake's archive, named by a checksum of the tar file,
# which changes with the files' order and times: their content is in the fingerprint
# instead), and the attempt (a job that succeeded at its second attempt did the work).
UNMATCHED_OPTIONS = frozenset({"--deploy-sources", "--attempt"})


def _digest(value: object) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def workflow_id(*, storage_prefix: str | None, workdir: str, snakefile: str) -> str:
    """The workflow's id: its default storage prefix when it has one (a detached run's
    coordinator works in a new folder each time), else its working directory; and its
    Snakefile, relative to that folder."""
    place = f"storage:{storage_prefix.rstrip('/')}" if storage_prefix else f"dir:{workdir}"
    return _digest([place, os.path.relpath(snakefile, workdir)])


def sources_digest(paths: Iterable[str]) -> str:
    """A digest of the content of the workflow's source files (their paths and bytes, in
    sorted order); a file that cannot be read makes it unique to this run, so that
    nothing is adopted on a guess."""
    digest = hashlib.sha256()
    for path in sorted(set(paths)):
        try:
            with open(path, "rb") as stream:
                content = hashlib.file_digest(stream, "sha256").hexdigest()
        except OSError:
            content = os.urandom(16).hex()
        digest.update(f"{path}\0{content}\0".encode())
    return digest.hexdigest()[:32]


def fingerprint(request: Mapping[str, Any], *, rule: str, sources: str) -> str:
    """What a job's request asks for but its name, command and tags, with its rule and
    the sources' digest: two jobs with the same fingerprint and command run the same.
    Snakemake's attempt is left out: what it changes (resources that grow with it) is in
    the request."""
    overrides = {k: v for k, v in request["containerOverrides"].items() if k != "command"}
    rest = {k: v for k, v in request.items() if k not in (*UNFINGERPRINTED, "containerOverrides")}
    return _digest([rule, sources, overrides, rest])


def _runs(command: str) -> list[tuple[str, list[str]]] | None:
    """The command's words as the shell reads them, in runs: each option (or shell
    operator) with the values that follow it, the words before the first under ""; None
    when the shell cannot read it."""
    try:
        words = shlex.split(command)
    except ValueError:
        return None
    runs: list[tuple[str, list[str]]] = [("", [])]
    for word in words:
        if word.startswith("-") or word in SHELL_OPERATORS:
            runs.append((word, []))
        else:
            runs[-1][1].append(word)
    return runs


def command_key(command: str) -> str:
    """What of a job's command says which job it runs: the command with the values of the
    options Snakemake writes from sets in sorted order (their order changes from one run
    to the next), and without its attempt and where the sources are fetched from. The
    words are compared as the shell reads them: Snakemake quotes every value."""
    runs = _runs(command)
    if runs is None:
        return command
    key: list[str] = []
    for option, values in runs:
        key.extend([option] if option else [])
        if option in SET_OPTIONS:
            key.extend(sorted(values))
        elif option not in UNMATCHED_OPTIONS:
            key.extend(values)
    return shlex.join(key)


def targets(command: str) -> str:
    """Which jobs a command runs: the value of its ``--target-jobs`` (rule and wildcards of
    each), in sorted order; the whole command's key when it names none."""
    runs = _runs(command)
    if runs is None:
        return command
    named = [values for option, values in runs if option == TARGETS_OPTION]
    return shlex.join(sorted(named[0])) if named else command_key(command)


def variables(workflow: str, request: str) -> dict[str, str]:
    """The environment variables a job carries for a later run to recognise it."""
    return {WORKFLOW_VARIABLE: workflow, REQUEST_VARIABLE: request}


def carried(job: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """The workflow id and fingerprint a described job carries (None where it has none)."""
    environment = (job.get("container") or {}).get("environment") or []
    found = {e.get("name"): e.get("value") for e in environment if isinstance(e, Mapping)}
    return found.get(WORKFLOW_VARIABLE), found.get(REQUEST_VARIABLE)
