"""Job status: what an AWS Batch job description means for Snakemake. Pure functions.

Outcome, log location, failure messages with hints, the RUNNABLE warning; the round
that asks AWS is :mod:`.watcher`'s.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")

DESCRIBE_JOBS_MAX_IDS = 100
DEFAULT_LOG_GROUP = "/aws/batch/job"


class Outcome(enum.Enum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


def chunks(items: Sequence[T], size: int = DESCRIBE_JOBS_MAX_IDS) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def outcome(job: Mapping[str, Any]) -> Outcome:
    status = job.get("status")
    if status == "SUCCEEDED":
        return Outcome.SUCCEEDED
    if status == "FAILED":
        return Outcome.FAILED
    return Outcome.RUNNING


@dataclass(frozen=True, slots=True)
class LogLocation:
    group: str
    stream: str


def log_location(job: Mapping[str, Any]) -> LogLocation | None:
    """The CloudWatch log stream of the job's last attempt, if it got one."""
    container = job.get("container") or {}
    stream = container.get("logStreamName")
    if not stream:
        for attempt in reversed(job.get("attempts") or []):
            stream = (attempt.get("container") or {}).get("logStreamName")
            if stream:
                break
    if not stream:
        return None
    options = (container.get("logConfiguration") or {}).get("options") or {}
    return LogLocation(options.get("awslogs-group", DEFAULT_LOG_GROUP), stream)


def _exit_code(job: Mapping[str, Any]) -> int | None:
    code = (job.get("container") or {}).get("exitCode")
    if code is None:
        for attempt in reversed(job.get("attempts") or []):
            code = (attempt.get("container") or {}).get("exitCode")
            if code is not None:
                break
    return code if isinstance(code, int) else None


def _container_reason(job: Mapping[str, Any]) -> str | None:
    reason = (job.get("container") or {}).get("reason")
    if not reason:
        for attempt in reversed(job.get("attempts") or []):
            reason = (attempt.get("container") or {}).get("reason")
            if reason:
                break
    return reason or None


def hint(status_reason: str, exit_code: int | None, container_reason: str | None) -> str | None:
    """A likely cause and a fix, for the failures users meet most."""
    reason = f"{status_reason} {container_reason or ''}"
    if "Host EC2" in reason and "terminated" in reason:
        return (
            "The EC2 instance was reclaimed (Spot interruption or scale-in). Retry it with "
            "--retries or aws_batch_retry_strategy with onStatusReason 'Host EC2*'."
        )
    # Start-up failures first: their reasons often end in a network "i/o timeout".
    network = (
        " The subnet may have no route to it: add a NAT gateway or VPC endpoints."
        if "i/o timeout" in reason
        else ""
    )
    if "CannotPullContainer" in reason:
        return (
            "The image could not be pulled: check --container-image / "
            "aws_batch_container_image and the execution role." + network
        )
    if "ResourceInitializationError" in reason:
        return (
            "Check the execution role's access to the job's secrets and to the image "
            "registry." + network
        )
    if "timeout" in reason.lower() or "duration exceeded" in reason.lower():
        return "The attempt ran past its time limit: raise aws_batch_timeout (seconds) or runtime (minutes)."
    if exit_code == 137 or "OutOfMemory" in reason:
        return (
            "Exit code 137: the container was killed, usually for using more memory than "
            "requested. Raise aws_batch_mem_mb (or mem_mb)."
        )
    if "secret" in reason.lower():
        return "Check the execution role's access to the job's secrets and to the image registry."
    return None


def failure_message(
    job: Mapping[str, Any], log_lines: Sequence[str], log: LogLocation | None
) -> str:
    """The error Snakemake shows for a FAILED job: everything needed to act on it."""
    exit_code = _exit_code(job)
    status_reason = str(job.get("statusReason") or "no status reason given")
    container_reason = _container_reason(job)
    attempts = len(job.get("attempts") or []) or 1
    lines = [
        f"AWS Batch job {job.get('jobId')} ({job.get('jobName')}) failed: {status_reason}.",
        f"Exit code: {'none' if exit_code is None else exit_code}. "
        f"Container reason: {container_reason or 'none'}. Attempts: {attempts}.",
    ]
    advice = hint(status_reason, exit_code, container_reason)
    if advice:
        lines.append(advice)
    if log is None:
        lines.append("No log stream: the job never reached RUNNING.")
    elif log_lines:
        lines.append(f"Last {len(log_lines)} log lines ({log.group}, stream {log.stream}):")
        lines.extend(f"    {line}" for line in log_lines)
    else:
        lines.append(
            f"The log stream {log.group} {log.stream} holds no lines (or could not be read)."
        )
    return "\n".join(lines) + "\n"


def runnable_warning(
    job: Mapping[str, Any],
    waited: float,
    request: str,
    causes: Sequence[str],
    subject: str | None = None,
) -> str:
    """The warning for a job (or ``subject``: array children) that stays RUNNABLE."""
    reason = job.get("statusReason")
    if subject is None:
        subject = f"AWS Batch job {job.get('jobId')} ({job.get('jobName')}) has"
    lines = [f"{subject} been RUNNABLE for {int(waited)} s (requested {request})."]
    if reason:
        lines.append(f"AWS says: {reason}.")
    if causes:
        lines.append("Found: " + "; ".join(causes) + ".")
    else:
        lines.append(
            "Likely causes: no compute environment of the queue can fit the request (instance "
            "types or maximum vCPUs too small, e.g. MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE), "
            "exhausted consumable resources, or EC2/Spot capacity not available."
        )
    return " ".join(lines)
