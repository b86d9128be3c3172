"""Names AWS Batch accepts: 1-128 characters of letters, digits, '-' and '_',
starting with a letter or digit."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from typing import Any

from ..settings.validation import Origin, invalid

MAX_NAME_LENGTH = 128
_NOT_ALLOWED = re.compile(r"[^A-Za-z0-9_-]+")
_VALID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")
JOB_PREFIX = "snakejob"
DEFINITION_PREFIX = "snakemake"


def is_valid(name: str) -> bool:
    return bool(_VALID.fullmatch(name))


def sanitise(part: str) -> str:
    """Replace every run of characters AWS does not allow with a single '-'."""
    return _NOT_ALLOWED.sub("-", part).strip("-")


def job_name(rule: str, *, suffix: str | None = None, job_uuid: str | None = None) -> str:
    """``snakejob-{rule}[-{suffix}]-{uuid}``, always a valid AWS Batch job name.

    The rule part is shortened when the whole would be too long; the suffix and
    the identifier are the user's own and are never shortened: too long is an error.
    """
    tail_parts = []
    if suffix is not None:
        tail_parts.append(_user_part(Origin("aws_batch_job_name_suffix", rule), suffix))
    identifier = str(uuid.uuid4()) if job_uuid is None else job_uuid
    tail_parts.append(_user_part(Origin("aws_batch_job_uuid", rule), identifier))
    tail = "-".join(tail_parts)
    room = MAX_NAME_LENGTH - len(JOB_PREFIX) - len(tail) - 2
    if room < 1:
        raise invalid(
            Origin("aws_batch_job_name_suffix/aws_batch_job_uuid", rule),
            tail,
            f"Together they must leave room in AWS Batch's {MAX_NAME_LENGTH}-character job "
            "name limit; shorten them.",
        )
    rule_part = (sanitise(rule)[:room].rstrip("-_") or "rule")[:room]
    return f"{JOB_PREFIX}-{rule_part}-{tail}"


def _user_part(origin: Origin, value: object) -> str:
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise invalid(origin, value, "Expected a string of letters, digits, '-' and '_'.")
    cleaned = sanitise(str(value))
    if not cleaned:
        raise invalid(
            origin,
            value,
            "It must contain letters or digits (AWS Batch job names allow "
            "only letters, digits, '-' and '_').",
        )
    return cleaned


def definition_name(content: dict[str, Any]) -> str:
    """A job definition name derived from the definition's content.

    Equal content gives the same name, so a definition is registered once and
    reused by later jobs and later runs.
    """
    digest = hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()
    return f"{DEFINITION_PREFIX}-{digest[:32]}"
