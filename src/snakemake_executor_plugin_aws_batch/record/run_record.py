"""The run record: one row per Snakemake job, a usage summary per rule, a timeline page.

Rows are built from what the plugin already knows (the job it handed over, the
description AWS Batch gave when the job finished); :class:`RunRecord` appends each
finished row to ``jobs.tsv`` as the run goes and writes the whole record at the end.
Nothing secret goes in: no environment, no command, no secret value.
"""

from __future__ import annotations

import json
import os
import statistics
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from snakemake_interface_common.exceptions import WorkflowError
from snakemake_interface_executor_plugins.jobs import JobExecutorInterface

from ..aws.boundary import BatchError
from ..tracking.jobs import JobRecord
from ..tracking.status import Outcome
from . import timeline

COLUMNS = timeline.COLUMNS  # the columns of jobs.tsv, in order
Row = dict[str, str]
NOT_SUBMITTED = "NOT_SUBMITTED"
CANCELLED = "CANCELLED"
SHOWN_RULES = 20  # rules in the table printed at the end; summary.json has them all


# Rows ---------------------------------------------------------------------------------


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
    return {column: _text(values.get(column)) for column in COLUMNS}


def _text(value: object) -> str:
    if value is None:
        return ""
    text = str(value)
    return " ".join(text.split()) if any(c in text for c in "\t\n\r") else text


def with_description(row: Mapping[str, str], job: Mapping[str, Any]) -> Row:
    """``row`` brought up to date from a DescribeJobs description (or a ListJobs summary)."""
    updated = dict(row)
    container = job.get("container") or {}
    attempts = job.get("attempts")
    exit_code = container.get("exitCode")
    if exit_code is None and attempts:
        exit_code = (attempts[-1].get("container") or {}).get("exitCode")
    stream = container.get("logStreamName")
    if not stream and attempts:
        stream = (attempts[-1].get("container") or {}).get("logStreamName")
    found = {
        "batch_job_id": job.get("jobId"),
        "status": job.get("status"),
        "exit_code": exit_code,
        "status_reason": job.get("statusReason"),
        "attempts": len(attempts) if attempts is not None else None,
        "log_stream": stream,
    }
    for column, value in found.items():
        if value is not None and value != "":
            updated[column] = _text(value)
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


# Summary ----------------------------------------------------------------------------


def summarize(rows: Sequence[Mapping[str, str]]) -> dict[str, Any]:
    """Per rule and in total: jobs, failed, median queue wait and run time, resource-hours."""
    rules: dict[str, list[Mapping[str, str]]] = {}
    for row in rows:
        rules.setdefault(row["rule"], []).append(row)
    return {
        "rules": {rule: _usage(members) for rule, members in sorted(rules.items())},
        "total": _usage(rows),
    }


def _usage(rows: Sequence[Mapping[str, str]]) -> dict[str, Any]:
    waits = [float(row["queued_s"]) for row in rows if row["queued_s"]]
    runs = [float(row["run_s"]) for row in rows if row["run_s"]]

    def hours(column: str, scale: float = 1.0) -> float:
        total = sum(
            _number_or_zero(row[column]) * float(row["run_s"]) for row in rows if row["run_s"]
        )
        return round(total / scale / 3600, 4)

    return {
        "jobs": len(rows),
        "failed": sum(row["status"] == "FAILED" for row in rows),
        "not_submitted": sum(row["status"] == NOT_SUBMITTED for row in rows),
        "cancelled": sum(row["status"] == CANCELLED for row in rows),
        "median_queue_s": round(statistics.median(waits), 3) if waits else None,
        "median_run_s": round(statistics.median(runs), 3) if runs else None,
        "vcpu_hours": hours("vcpu"),
        "memory_gib_hours": hours("memory_mib", 1024),
        "gpu_hours": hours("gpu"),
    }


def _number_or_zero(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return 0.0


def summary_table(summary: Mapping[str, Any]) -> list[str]:
    """The lines printed at the end of the run: one per rule (the largest first), a total."""
    header = (
        "rule",
        "jobs",
        "failed",
        "median queue",
        "median run",
        "vCPU-h",
        "mem GiB-h",
        "GPU-h",
    )
    rules = sorted(summary["rules"].items(), key=lambda item: -item[1]["vcpu_hours"])
    rows = [(rule, usage) for rule, usage in rules[:SHOWN_RULES]]
    body = [_cells(name, usage) for name, usage in rows]
    if len(rules) > SHOWN_RULES:
        body.append((f"({len(rules) - SHOWN_RULES} more rules)", "", "", "", "", "", "", ""))
    body.append(_cells("total", summary["total"]))
    widths = [max(len(line[i]) for line in (header, *body)) for i in range(len(header))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
            for line in (header, *body)]  # fmt: skip


def _cells(name: str, usage: Mapping[str, Any]) -> tuple[str, ...]:
    def duration(seconds: float | None) -> str:
        return "-" if seconds is None else f"{seconds:.1f} s"

    return (
        name,
        str(usage["jobs"]),
        str(usage["failed"]),
        duration(usage["median_queue_s"]),
        duration(usage["median_run_s"]),
        f"{usage['vcpu_hours']:.3f}",
        f"{usage['memory_gib_hours']:.3f}",
        f"{usage['gpu_hours']:.3f}",
    )


# The folder -----------------------------------------------------------------------------


def run_folder(base: Path, started: datetime) -> Path:
    """A new folder ``base/<start time>``, e.g. ``2026-12-02T141501``, made unique."""
    stem = started.astimezone(UTC).strftime("%Y-%m-%dT%H%M%S")
    base.mkdir(parents=True, exist_ok=True)
    for suffix in ("", *(f"-{n}" for n in range(2, 10_000))):
        folder = base / f"{stem}{suffix}"
        try:
            folder.mkdir()
        except FileExistsError:
            continue
        return folder
    raise RuntimeError(f"no free run record folder under {base}")


class RunRecord:
    """The record of one run; ``jobs.tsv`` grows as jobs finish.

    Rows are kept by a key per job: its :class:`~.jobs.JobRecord` (compared by
    identity), or any object for a job that was never handed over.
    """

    def __init__(self, folder: Path, warn: Callable[[str], None] = lambda message: None) -> None:
        self.folder = folder
        self._rows: dict[object, Row] = {}
        self._finished: set[object] = set()
        self._lock = threading.Lock()
        self._tsv = folder / "jobs.tsv"
        self._tsv.write_text(tsv([]))
        self._warn = warn
        self._write_failed = False

    def started(self, key: object, row: Row) -> None:
        """A job handed over (or refused before it could be): its row so far."""
        with self._lock:
            self._rows[key] = row

    def set(self, key: object, **values: object) -> None:
        with self._lock:
            if key in self._rows:
                self._rows[key].update({k: _text(v) for k, v in values.items()})

    def finished(self, key: object, job: Mapping[str, Any] | None = None, **values: object) -> None:
        """A job ended: its row from AWS's description and ``values``, appended to jobs.tsv."""
        with self._lock:
            row = self._rows.get(key)
            if row is None or key in self._finished:
                return
            if job is not None:
                row = with_description(row, job)
            row.update({k: _text(v) for k, v in values.items()})
            row = with_durations(row)
            self._rows[key] = row
            self._finished.add(key)
            try:
                with self._tsv.open("a") as stream:
                    stream.write(tsv([row], header=False))
            except OSError as exc:  # a full disk must not fail a job: warn once, go on
                if not self._write_failed:
                    self._write_failed = True
                    self._warn(f"The run record {self._tsv} cannot be written: {exc}")

    def unfinished(self) -> list[object]:
        with self._lock:
            return [key for key in self._rows if key not in self._finished]

    def incomplete(self) -> dict[str, object]:
        """Batch ids of finished rows a final DescribeJobs would complete, by id."""
        with self._lock:
            return {
                row["batch_job_id"]: key
                for key, row in self._rows.items()
                if key in self._finished and row["batch_job_id"] and not complete(row)
            }

    def complete_with(
        self, described: Iterable[Mapping[str, Any]], keys: Mapping[str, object]
    ) -> None:
        with self._lock:
            for job in described:
                key = keys.get(str(job.get("jobId")))
                if key is not None:
                    self._rows[key] = with_description(self._rows[key], job)

    def write(self, title: str) -> dict[str, Any]:
        """Write jobs.tsv (whole, by submission), summary.json and timeline.html."""
        with self._lock:
            rows = by_submission(with_durations(row) for row in self._rows.values())
        summary = summarize(rows)
        _replace(self._tsv, tsv(rows))
        _replace(self.folder / "summary.json", json.dumps(summary, indent=2) + "\n")
        _replace(self.folder / "timeline.html", timeline.render(rows, title=title))
        return summary


def _replace(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` at once: a reader never sees half a file."""
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text)
    os.replace(partial, path)


def finish(
    record: RunRecord,
    describe: Callable[[Sequence[str]], list[dict[str, Any]]] | None,
    *,
    title: str,
    batch: int = 100,
) -> dict[str, Any]:
    """Complete the rows that need it (one DescribeJobs per ``batch``; none without
    ``describe``) and write the record."""
    if describe is not None:
        keys = record.incomplete()
        ids = list(keys)
        for start in range(0, len(ids), batch):
            try:
                record.complete_with(describe(ids[start : start + batch]), keys)
            except BatchError:  # the record is written with what is known
                break
    return record.write(title)


# From the executor's jobs ----------------------------------------------------------------

RUN_RECORD = ".snakemake/aws-batch"  # where run records go, under the working directory


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
    status = "SUCCEEDED" if result is Outcome.SUCCEEDED else "FAILED"
    return {"status": status, "status_reason": first_line(message or "")}


def open_run_record(base: str | None, warn: Callable[[str], None]) -> RunRecord:
    """This run's record, in a new folder under ``base`` (or :data:`RUN_RECORD`)."""
    folder = Path(base or RUN_RECORD).resolve()
    try:
        return RunRecord(run_folder(folder, now()), warn)
    except OSError as exc:
        raise WorkflowError(
            f"Invalid value for setting --aws-batch-run-record (SNAKEMAKE_AWS_BATCH_RUN_RECORD): "
            f"{base!r}. The run record cannot be written under {folder}: {exc}."
        ) from None
