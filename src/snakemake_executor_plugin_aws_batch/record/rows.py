"""The rows of a run record: one per Snakemake job, from what the plugin read.

A row starts when a job is handed over (or refused) and is brought up to date from
the description AWS Batch gave when the job finished. Nothing secret goes in: no
environment, no command, no secret value. Pure functions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from snakemake_interface_executor_plugins.jobs import JobExecutorInterface

from ..tracking import status
from ..tracking.jobs import JobRecord
from ..tracking.status import Outcome
from . import timeline

COLUMNS = timeline.COLUMNS  # the columns of jobs.tsv, in order
Row = dict[str, str]
NOT_SUBMITTED = "NOT_SUBMITTED"
CANCELLED = "CANCELLED"


def iso(moment: datetime | None) -> str:
    """ISO 8601 in UTC with milliseconds, ``2026-12-02T14:15:01.123Z``; empty for None."""
    if moment is None:
        return ""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _from_ms(value: object) -> datetime | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    return None


def new_row(**values: object) -> Row:
    """A row with every column, the ones given filled in."""
    unknown = set(values) - set(COLUMNS)
    if unknown:
        raise ValueError(f"not record columns: {sorted(unknown)}")
    return {column: cell(values.get(column)) for column in COLUMNS}


def cell(value: object) -> str:
    """``value`` as one cell of jobs.tsv: no tab or line break."""
    if value is None:
        return ""
    text = str(value)
    return " ".join(text.split()) if any(c in text for c in "\t\n\r") else text


def with_description(row: Mapping[str, str], job: Mapping[str, Any]) -> Row:
    """``row`` brought up to date from a DescribeJobs description (or a ListJobs summary)."""
    updated = dict(row)
    attempts = job.get("attempts")
    log = status.log_location(job)
    found = {
        "batch_job_id": job.get("jobId"),
        "status": job.get("status"),
        "exit_code": status.exit_code(job),
        "status_reason": job.get("statusReason"),
        "attempts": len(attempts) if attempts is not None else None,
        "log_stream": log.stream if log is not None else None,
    }
    for column, value in found.items():
        if value is not None and value != "":
            updated[column] = cell(value)
    created, started, stopped = (
        _from_ms(job.get(k)) for k in ("createdAt", "startedAt", "stoppedAt")
    )
    if created is not None:
        updated["submitted_at"] = iso(created)
    if started is not None:
        updated["started_at"] = iso(started)
    if stopped is not None:
        updated["stopped_at"] = iso(stopped)
    return with_durations(updated)


def with_durations(row: Mapping[str, str]) -> Row:
    """``queued_s`` (submission to start) and ``run_s`` (start to stop), where known."""
    updated = dict(row)
    submitted, started, stopped = (
        _parse(row[k]) for k in ("submitted_at", "started_at", "stopped_at")
    )
    updated["queued_s"] = _seconds(submitted, started)
    updated["run_s"] = _seconds(started, stopped)
    return updated


def _parse(text: str) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def _seconds(start: datetime | None, end: datetime | None) -> str:
    if start is None or end is None:
        return ""
    return f"{max(0.0, (end - start).total_seconds()):.3f}"


def complete(row: Mapping[str, str]) -> bool:
    """Whether a finished row came from a full description: only DescribeJobs gives
    attempts (a ListJobs summary, for an array child, does not)."""
    return bool(row["attempts"])


def tsv(rows: Iterable[Mapping[str, str]], *, header: bool = True) -> str:
    lines = ["\t".join(COLUMNS)] if header else []
    lines += ["\t".join(row[column] for column in COLUMNS) for row in rows]
    return "".join(line + "\n" for line in lines)


def by_submission(rows: Iterable[Row]) -> list[Row]:
    return sorted(rows, key=lambda row: (row["submitted_at"] or "~", _number(row["jobid"])))


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return float("inf")


def now() -> datetime:
    return datetime.now(UTC)


def first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


def row_for(
    job: JobExecutorInterface, *, record_of: JobRecord | None = None, **values: object
) -> Row:
    """A job's first row: what is known when it is handed over (or refused)."""
    wildcards = getattr(job, "wildcards_dict", None) or {}
    facts: dict[str, object] = {}
    if record_of is not None:
        facts = {
            "job_name": record_of.name,
            "queue": record_of.queue,
            "vcpu": f"{float(record_of.resources.vcpu):g}",  # 0.25, not 1/4
            "memory_mib": record_of.resources.memory_mib,
            "gpu": record_of.resources.gpu,
            "submitted_at": iso(now()),
        }
    return new_row(
        rule=job.name,
        wildcards=",".join(f"{k}={v}" for k, v in wildcards.items()),
        jobid=job.jobid,
        **facts,
        **values,
    )


def status_without_description(
    job: JobRecord, result: Outcome, message: str | None, described: Mapping[str, Any] | None
) -> dict[str, object]:
    """The status columns of a job that ended without a description to read them from."""
    if described is not None:
        return {}
    if job.error is not None:
        return {"status": NOT_SUBMITTED, "status_reason": first_line(job.error)}
    status_text = "SUCCEEDED" if result is Outcome.SUCCEEDED else "FAILED"
    return {"status": status_text, "status_reason": first_line(message or "")}
