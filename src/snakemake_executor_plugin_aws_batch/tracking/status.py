"""What an AWS Batch job's state means for Snakemake: the one place that reads it.

A job's states, its outcome, exit code, container reason and log location, failure
messages with hints, the RUNNABLE warning. Pure functions; the round that asks AWS is
:mod:`.round`'s, and the run record, the cli and the resume of a run read states here.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, TypeVar

from ..logs import LogLocation
from ..states import FINISHED

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
    """Snakemake's view of a job: running until AWS Batch says it has finished."""
    status = job.get("status")
    if status == "SUCCEEDED":
        return Outcome.SUCCEEDED
    if status == "FAILED":
        return Outcome.FAILED
    return Outcome.RUNNING


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


def exit_code(job: Mapping[str, Any]) -> int | None:
    """The exit code of the job's container, or of its latest attempt that has one."""
    code = (job.get("container") or {}).get("exitCode")
    if code is None:
        for attempt in reversed(job.get("attempts") or []):
            code = (attempt.get("container") or {}).get("exitCode")
            if code is not None:
                break
    return code if isinstance(code, int) else None


def container_reason(job: Mapping[str, Any]) -> str | None:
    """Why the job's container (or its latest attempt's that says) stopped."""
    reason = (job.get("container") or {}).get("reason")
    if not reason:
        for attempt in reversed(job.get("attempts") or []):
            reason = (attempt.get("container") or {}).get("reason")
            if reason:
                break
    return reason or None


def host_reclaimed(job: Mapping[str, Any]) -> bool:
    """Whether the job failed because its EC2 host was terminated (a Spot reclaim or a
    scale-in): ``Host EC2 (instance i-...) terminated.``"""
    return _host_terminated(f"{job.get('statusReason') or ''} {container_reason(job) or ''}")


def _host_terminated(reason: str) -> bool:
    return "Host EC2" in reason and "terminated" in reason


def hint(status_reason: str, exit_code: int | None, container_reason: str | None) -> str | None:
    """A likely cause and a fix, for the failures users meet most."""
    reason = f"{status_reason} {container_reason or ''}"
    if _host_terminated(reason):
        return (
            "The EC2 instance was reclaimed (Spot interruption or scale-in). Retry it with "
            "--aws-batch-spot-retries, --retries or aws_batch_retry_strategy with "
            "onStatusReason 'Host EC2*'."
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
    code = exit_code(job)
    status_reason = str(job.get("statusReason") or "no status reason given")
    container = container_reason(job)
    attempts = len(job.get("attempts") or []) or 1
    lines = [
        f"AWS Batch job {job.get('jobId')} ({job.get('jobName')}) failed: {status_reason}.",
        f"Exit code: {'none' if code is None else code}. "
        f"Container reason: {container or 'none'}. Attempts: {attempts}.",
    ]
    advice = hint(status_reason, code, container)
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


# Array jobs ---------------------------------------------------------------------------


def children_may_have_finished(parent: Mapping[str, Any], known_finished: int) -> bool:
    """Whether a status round must look at an array's children, from its parent alone.

    The parent's ``statusSummary`` counts its children by state; AWS updates it a
    little after the children change (``statusSummaryLastUpdatedAt``), so it may lag.
    A parent that has itself finished (SUCCEEDED, or FAILED because a child failed)
    is looked at until every child is known, whatever its summary says.
    """
    summary = parent.get("arrayProperties", {}).get("statusSummary", {})
    finished = sum(int(summary.get(state, 0)) for state in FINISHED)
    size = int(parent.get("arrayProperties", {}).get("size", 0))
    if known_finished >= size > 0:
        return False
    return finished > known_finished or parent.get("status") in FINISHED


def unfinished_children(parent: Mapping[str, Any]) -> int:
    """How many children the parent's ``statusSummary`` counts as not finished."""
    summary = (parent.get("arrayProperties") or {}).get("statusSummary") or {}
    return sum(int(count) for state, count in summary.items() if state not in FINISHED)
