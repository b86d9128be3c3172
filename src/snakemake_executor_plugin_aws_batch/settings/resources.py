"""The rule resources the plugin reads: their names, how each is checked, and reading them.

This is the one list of resource names. Values are read from a job's evaluated
resources, or at start-up from a rule's resources that are plain values.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping, Sequence
from fractions import Fraction
from typing import Any

from snakemake_interface_common.exceptions import WorkflowError

from . import container_options, validation
from .validation import Origin, invalid

# The per-rule resources of the user guide, and the names of the earlier plugin
# that are accepted as aliases.
VCPU = "aws_batch_vcpu"
MEM_MB = "aws_batch_mem_mb"
GPU = "aws_batch_gpu"
JOB_QUEUE = "aws_batch_job_queue"
SECRETS = "aws_batch_secrets"
CONTAINER_IMAGE = "aws_batch_container_image"
CONSUMABLE_RESOURCES = "aws_batch_consumable_resources"
TIMEOUT = "aws_batch_timeout"
JOB_NAME_SUFFIX = "aws_batch_job_name_suffix"
JOB_UUID = "aws_batch_job_uuid"
RETRY_STRATEGY = "aws_batch_retry_strategy"
SCHEDULING_PRIORITY = "aws_batch_scheduling_priority"
SHARE_IDENTIFIER = "aws_batch_share_identifier"
TAGS = "aws_batch_tags"
JOB_DEFINITION = "aws_batch_job_definition"
SHARED_MEMORY_MB = container_options.SHARED_MEMORY_MB
VOLUMES = container_options.VOLUMES
ULIMITS = container_options.ULIMITS
PRIVILEGED = container_options.PRIVILEGED
CPU_ARCHITECTURE = container_options.CPU_ARCHITECTURE
ALIASES = {
    "batch_queue": JOB_QUEUE,
    "aws_batch_task_timeout": TIMEOUT,
    "shared_memory_size_mb": SHARED_MEMORY_MB,
}


def _vcpu(origin: Origin, value: object) -> Fraction:
    try:
        vcpu = Fraction(str(value).strip()) if isinstance(value, (int, str)) else None
    except (ValueError, ZeroDivisionError):
        vcpu = None
    if vcpu is None or isinstance(value, bool) or vcpu <= 0:
        raise invalid(
            origin,
            value,
            "Expected a positive number of vCPUs, e.g. 4 (or '0.25', '0.5' on Fargate).",
        )
    return vcpu


def _queue(origin: Origin, value: object) -> str:
    return validation.non_empty_string(origin, value, "a job queue name or ARN")


def _image(origin: Origin, value: object) -> str:
    return validation.non_empty_string(origin, value, "a container image, e.g. 'my-image:tag'")


def _job_definition(origin: Origin, value: object) -> str:
    return validation.non_empty_string(origin, value, "a job definition name, name:revision or ARN")


def _name_part(origin: Origin, value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)) or not str(value).strip():
        raise invalid(origin, value, "Expected a non-empty string of letters, digits, '-' and '_'.")
    return str(value).strip()


# How each resource is checked and converted. Used for every job, and at start-up
# for every value that is not a function of wildcards.
PARSERS: dict[str, Callable[[Origin, object], Any]] = {
    VCPU: _vcpu,
    MEM_MB: lambda o, v: validation.integer(o, v, minimum=1),
    GPU: lambda o, v: validation.integer(o, v, minimum=0),
    JOB_QUEUE: _queue,
    SECRETS: validation.secrets,
    CONTAINER_IMAGE: _image,
    CONSUMABLE_RESOURCES: validation.consumable_resources,
    TIMEOUT: validation.timeout_seconds,
    JOB_NAME_SUFFIX: _name_part,
    JOB_UUID: _name_part,
    RETRY_STRATEGY: validation.retry_strategy,
    SCHEDULING_PRIORITY: validation.scheduling_priority,
    SHARE_IDENTIFIER: validation.share_identifier,
    TAGS: validation.tags,
    JOB_DEFINITION: _job_definition,
    SHARED_MEMORY_MB: container_options.shared_memory_mb,
    VOLUMES: container_options.volumes,
    ULIMITS: container_options.ulimits,
    PRIVILEGED: container_options.privileged,
    CPU_ARCHITECTURE: container_options.cpu_architecture,
}


# Snakemake's standard resources that the plugin also reads.
STANDARD = ("mem_mb", "gpu", "runtime", "disk_mb")
# Every resource read from each job.
JOB_RESOURCES = (*PARSERS, *ALIASES, *STANDARD)
# Resources whose values are checked when the workflow starts.
CHECKED = (*PARSERS, *ALIASES)
PREFIX = "aws_batch_"


def check_names(rule: str, names: Iterable[str]) -> None:
    """Refuse a resource named like the plugin's that the plugin does not know.

    A misspelled name would otherwise be ignored and its job run with defaults.
    """
    known = sorted(name for name in JOB_RESOURCES if name.startswith(PREFIX))
    for name in names:
        if name.startswith(PREFIX) and name not in JOB_RESOURCES:
            close = closest(name, known)
            guess = f"Did you mean {close}? " if close else ""
            raise WorkflowError(
                f"Rule {rule!r} sets the resource {name}, which the aws-batch executor does "
                f"not know. {guess}The known ones are: {', '.join(known)}.\n"
            )


# Words users write for the plugin's resources, e.g. aws_batch_memory.
_SYNONYMS = {"memory": MEM_MB, "image": CONTAINER_IMAGE, "cpu": VCPU, "retries": RETRY_STRATEGY}


def closest(name: str, known: Sequence[str]) -> str | None:
    """The known name ``name`` most likely misspells: a synonym, one it begins, else the most alike."""
    short = name.removeprefix(PREFIX)
    for word, meant in _SYNONYMS.items():
        if word in short:
            return meant
    shorts = {candidate.removeprefix(PREFIX): candidate for candidate in known}
    begun = [full for part, full in shorts.items() if part.startswith(short) and short]
    if len(begun) == 1:
        return begun[0]
    alike = difflib.get_close_matches(short, list(shorts), n=1, cutoff=0.6)
    return shorts[alike[0]] if alike else None


def read_values(rule: str, raw: Mapping[str, object]) -> dict[str, Any]:
    """Check and convert the plugin's resources among ``raw``; aliases resolved.

    ``raw`` holds values only (functions already evaluated, or left out).
    """
    values: dict[str, Any] = {}
    for alias, name in ALIASES.items():
        if raw.get(alias) is not None and raw.get(name) is None:
            values[name] = PARSERS[name](Origin(alias, rule), raw[alias])
    for name, parse in PARSERS.items():
        if raw.get(name) is not None:
            values[name] = parse(Origin(name, rule), raw[name])
    return values


def resource_names(rule: Any) -> list[str]:
    """The names of every resource the rule sets (Snakemake 8: a dict; 9: a mapping)."""
    return [str(name) for name in getattr(rule, "resources", None) or {}]


THREADS = "_cores"  # how Snakemake keeps a rule's threads among its resources


def static_values(rule: Any) -> dict[str, object]:
    """The resources the plugin reads that the rule gives as plain values, and its threads.

    Functions of wildcards are left out. Snakemake's standard resources are kept only
    as whole numbers (Snakemake 9 has already parsed ``"2h"`` or ``"4GB"`` by then).
    """
    resources: Any = getattr(rule, "resources", None) or {}
    values: dict[str, object] = {}
    for name in (*CHECKED, *STANDARD, THREADS):
        try:
            value: Any = resources.get(name)
        except (KeyError, AttributeError):
            continue
        if hasattr(value, "is_evaluable"):  # Snakemake 9: a Resource object
            if value.is_evaluable():
                continue
            value = value.value
        if value is None or callable(value):
            continue
        if name not in CHECKED and (not isinstance(value, int) or isinstance(value, bool)):
            continue
        values[name] = value
    return values
