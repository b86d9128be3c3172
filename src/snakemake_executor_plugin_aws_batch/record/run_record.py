"""The run record of one run, in a folder of its own: ``jobs.tsv`` as jobs finish,
``summary.json`` and ``timeline.html`` at the end (see :mod:`.rows`, :mod:`.summary`)."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from snakemake_interface_common.exceptions import WorkflowError

from ..aws.boundary import BatchError
from ..resume.earlier_runs import write_run_file
from . import timeline
from .rows import Row, by_submission, cell, complete, now, tsv, with_description, with_durations
from .summary import summarize

RUN_RECORD = ".snakemake/aws-batch"  # where run records go, under the working directory


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
                self._rows[key].update({k: cell(v) for k, v in values.items()})

    def finished(self, key: object, job: Mapping[str, Any] | None = None, **values: object) -> None:
        """A job ended: its row from AWS's description and ``values``, appended to jobs.tsv."""
        with self._lock:
            row = self._rows.get(key)
            if row is None or key in self._finished:
                return
            if job is not None:
                row = with_description(row, job)
            row.update({k: cell(v) for k, v in values.items()})
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

    def write(self, title: str, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Write jobs.tsv (whole, by submission), summary.json (with ``extra``) and
        timeline.html."""
        with self._lock:
            rows = by_submission(with_durations(row) for row in self._rows.values())
        summary = {**summarize(rows), **(extra or {})}
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
    extra: Mapping[str, Any] | None = None,
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
    return record.write(title, extra)


def record_base(base: str | None) -> Path:
    """The folder the runs' records are in: ``base``, or :data:`RUN_RECORD`."""
    return Path(base or RUN_RECORD).resolve()


def open_run_record(base: str | None, warn: Callable[[str], None], *, workflow: str) -> RunRecord:
    """This run's record, in a new folder under ``base`` (or :data:`RUN_RECORD`), with
    the run file that says which workflow it is of (:mod:`.earlier_runs`)."""
    folder = record_base(base)
    started = now()
    try:
        record = RunRecord(run_folder(folder, started), warn)
        write_run_file(record.folder, workflow=workflow, started_ms=int(started.timestamp() * 1000))
        return record
    except OSError as exc:
        raise WorkflowError(
            f"Invalid value for setting --aws-batch-run-record (SNAKEMAKE_AWS_BATCH_RUN_RECORD): "
            f"{base!r}. The run record cannot be written under {folder}: {exc}."
        ) from None
