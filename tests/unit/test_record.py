"""The run record's rows, TSV, summary arithmetic and folder."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from snakemake_executor_plugin_aws_batch.aws.boundary import BatchError
from snakemake_executor_plugin_aws_batch.record import rows, run_record, summary

T0 = 1_764_684_901_000  # 2025-12-02T14:15:01Z in ms


def described(**fields: Any) -> dict[str, Any]:
    job = {
        "jobId": "j-1",
        "status": "SUCCEEDED",
        "createdAt": T0,
        "startedAt": T0 + 12_500,
        "stoppedAt": T0 + 72_500,
        "attempts": [{"container": {"exitCode": 0, "logStreamName": "s/default/1"}}],
        "container": {"exitCode": 0, "logStreamName": "s/default/1"},
    }
    job.update(fields)
    return job


def row(**values: object) -> rows.Row:
    return rows.with_durations(rows.new_row(**values))


def test_a_row_has_exactly_the_columns_in_order_and_refuses_others() -> None:
    assert list(rows.new_row(rule="map")) == list(rows.COLUMNS)
    assert rows.COLUMNS[:7] == (
        "rule", "wildcards", "jobid", "batch_job_id", "job_name", "queue", "status",
    )  # fmt: skip
    with pytest.raises(ValueError, match="environment"):
        rows.new_row(environment="SECRET=1")


def test_a_description_fills_status_times_durations_attempts_and_log_stream() -> None:
    start = rows.new_row(rule="map", submitted_at="2025-12-02T14:15:00.000Z")
    updated = rows.with_description(start, described())
    assert updated["status"] == "SUCCEEDED"
    assert updated["batch_job_id"] == "j-1"
    assert updated["exit_code"] == "0"
    assert updated["attempts"] == "1"
    assert updated["log_stream"] == "s/default/1"
    # AWS's createdAt replaces the local hand-over time.
    assert updated["submitted_at"] == "2025-12-02T14:15:01.000Z"
    assert updated["started_at"] == "2025-12-02T14:15:13.500Z"
    assert updated["stopped_at"] == "2025-12-02T14:16:13.500Z"
    assert updated["queued_s"] == "12.500"
    assert updated["run_s"] == "60.000"


def test_a_failed_description_keeps_the_last_attempts_exit_code_and_reason() -> None:
    job = described(
        status="FAILED",
        statusReason="Essential container in task exited",
        container={},
        attempts=[
            {"container": {"exitCode": 137, "logStreamName": "a1"}},
            {"container": {"exitCode": 3, "logStreamName": "a2"}},
        ],
    )
    updated = rows.with_description(rows.new_row(rule="x"), job)
    assert (updated["status"], updated["exit_code"], updated["attempts"]) == ("FAILED", "3", "2")
    assert updated["status_reason"] == "Essential container in task exited"
    assert updated["log_stream"] == "a2"


def test_a_job_that_never_started_has_no_run_time() -> None:
    job = described(status="FAILED", startedAt=None, stoppedAt=T0 + 5_000, attempts=[])
    updated = rows.with_description(rows.new_row(rule="x"), job)
    assert updated["started_at"] == ""
    assert (updated["queued_s"], updated["run_s"]) == ("", "")
    assert rows.complete(updated)  # nothing more a final DescribeJobs could add


def test_tsv_values_never_break_a_line_or_a_column() -> None:
    text = rows.tsv([rows.new_row(rule="r", status_reason="two\nlines\tand a tab")])
    header, line = text.splitlines()
    assert header.split("\t") == list(rows.COLUMNS)
    cells = line.split("\t")
    assert len(cells) == len(rows.COLUMNS)
    assert cells[rows.COLUMNS.index("status_reason")] == "two lines and a tab"


def test_the_summary_adds_up_per_rule_and_in_total() -> None:
    given = [
        row(rule="map", vcpu=2, memory_mib=4096, gpu=0, status="SUCCEEDED",
            submitted_at="2025-12-02T14:00:00Z", started_at="2025-12-02T14:00:10Z",
            stopped_at="2025-12-02T14:30:10Z"),  # 1800 s
        row(rule="map", vcpu=2, memory_mib=4096, gpu=0, status="FAILED",
            submitted_at="2025-12-02T14:00:00Z", started_at="2025-12-02T14:00:30Z",
            stopped_at="2025-12-02T15:00:30Z"),  # 3600 s
        row(rule="gpu", vcpu=4, memory_mib=16384, gpu=1, status="SUCCEEDED",
            submitted_at="2025-12-02T14:00:00Z", started_at="2025-12-02T14:01:00Z",
            stopped_at="2025-12-02T16:01:00Z"),  # 7200 s
        row(rule="gpu", status=rows.NOT_SUBMITTED),
    ]  # fmt: skip
    usage = summary.summarize(given)
    mapped, gpu, total = usage["rules"]["map"], usage["rules"]["gpu"], usage["total"]
    assert (mapped["jobs"], mapped["failed"]) == (2, 1)
    assert mapped["median_queue_s"] == 20.0  # of 10 and 30
    assert mapped["median_run_s"] == 2700.0  # of 1800 and 3600
    assert mapped["vcpu_hours"] == 3.0  # 2 vCPU x 1.5 h
    assert mapped["memory_gib_hours"] == 6.0  # 4 GiB x 1.5 h
    assert mapped["gpu_hours"] == 0.0
    assert (gpu["jobs"], gpu["not_submitted"]) == (2, 1)
    assert (gpu["vcpu_hours"], gpu["memory_gib_hours"], gpu["gpu_hours"]) == (8.0, 32.0, 2.0)
    assert total["jobs"] == 4
    assert total["failed"] == 1
    assert total["vcpu_hours"] == 11.0
    assert total["memory_gib_hours"] == 38.0
    assert total["gpu_hours"] == 2.0
    assert total["median_run_s"] == 3600.0  # of 1800, 3600, 7200


def test_the_printed_table_is_a_few_lines_whatever_the_number_of_rules() -> None:
    given = [row(rule=f"r{i:03d}", status="SUCCEEDED") for i in range(250)]
    lines = summary.summary_table(summary.summarize(given))
    assert len(lines) == 1 + summary.SHOWN_RULES + 2  # header, rules, "more", total
    assert lines[0].split()[:3] == ["rule", "jobs", "failed"]
    assert "(230 more rules)" in lines[-2]
    assert lines[-1].split()[:3] == ["total", "250", "0"]


def test_run_folders_are_named_after_the_start_and_made_unique(tmp_path: Path) -> None:
    started = datetime(2026, 12, 2, 14, 15, 1, tzinfo=UTC)
    first = run_record.run_folder(tmp_path / "aws-batch", started)
    second = run_record.run_folder(tmp_path / "aws-batch", started)
    assert first.name == "2026-12-02T141501"
    assert second.name == "2026-12-02T141501-2"
    assert first.is_dir()
    assert second.is_dir()


def test_jobs_tsv_grows_as_jobs_finish_and_the_end_writes_everything(tmp_path: Path) -> None:
    run = run_record.RunRecord(tmp_path)
    first, second, never = object(), object(), object()
    run.started(first, rows.new_row(rule="a", jobid=1, submitted_at="2025-12-02T14:15:00Z"))
    run.started(second, rows.new_row(rule="a", jobid=2, submitted_at="2025-12-02T14:15:02Z"))
    run.started(never, rows.new_row(rule="b", jobid=3, status=rows.NOT_SUBMITTED))
    assert (tmp_path / "jobs.tsv").read_text().count("\n") == 1  # the header, at once
    run.finished(second, described(jobId="j-2", createdAt=T0 - 10_000))  # before job 1
    lines = (tmp_path / "jobs.tsv").read_text().splitlines()
    assert len(lines) == 2  # a killed run keeps what it knew
    assert "j-2" in lines[1]
    run.finished(second, described(jobId="j-2-again"))  # reported once only
    assert (tmp_path / "jobs.tsv").read_text().count("\n") == 2
    run.finished(first, batch_job_id="j-1", status=rows.CANCELLED)
    run.finished(never, status_reason="Invalid value")

    usage = run.write("a run")
    text = (tmp_path / "jobs.tsv").read_text()
    written = [
        dict(zip(rows.COLUMNS, line.split("\t"), strict=True)) for line in text.splitlines()[1:]
    ]
    assert [r["jobid"] for r in written] == ["2", "1", "3"]  # by submission (AWS's time for 2)
    assert [r["status"] for r in written] == ["SUCCEEDED", rows.CANCELLED, rows.NOT_SUBMITTED]
    assert json.loads((tmp_path / "summary.json").read_text()) == usage
    assert usage["total"]["cancelled"] == 1
    assert (tmp_path / "timeline.html").read_text().startswith("<!DOCTYPE html>")


def test_finish_completes_rows_with_one_describe_per_hundred_and_survives_a_failure(
    tmp_path: Path,
) -> None:
    run = run_record.RunRecord(tmp_path)
    keys = [object() for _ in range(250)]
    for number, key in enumerate(keys):
        run.started(key, rows.new_row(rule="a", jobid=number))
        run.finished(key, batch_job_id=f"p:{number}", status="SUCCEEDED")  # a listed child
    asked: list[list[str]] = []

    def describe(ids: list[str]) -> list[dict[str, Any]]:
        asked.append(list(ids))
        if len(asked) == 3:
            raise BatchError("AWS Batch API DescribeJobs failed: throttled")
        return [described(jobId=i) for i in ids]

    summary = run_record.finish(run, describe, title="t")
    assert [len(ids) for ids in asked] == [100, 100, 50]
    assert summary["total"]["jobs"] == 250
    text = (tmp_path / "jobs.tsv").read_text()
    assert text.count("s/default/1") == 200  # the first two calls' rows were completed
    (tmp_path / "empty").mkdir()
    assert (
        run_record.finish(run_record.RunRecord(tmp_path / "empty"), None, title="t")["total"][
            "jobs"
        ]
        == 0
    )


def test_a_record_that_cannot_be_written_warns_once_and_loses_no_job(tmp_path: Path) -> None:
    warnings: list[str] = []
    run = run_record.RunRecord(tmp_path, warnings.append)
    keys = [object(), object()]
    for key in keys:
        run.started(key, rows.new_row(rule="a"))
    (tmp_path / "jobs.tsv").unlink()
    (tmp_path / "jobs.tsv").mkdir()  # appending to it now fails
    for key in keys:
        run.finished(key, status="SUCCEEDED")
    assert len(warnings) == 1
    assert "cannot be written" in warnings[0]
    assert run.unfinished() == []


def test_an_unwritable_run_record_setting_is_refused_naming_it(tmp_path: Path) -> None:
    from snakemake_interface_common.exceptions import WorkflowError

    from snakemake_executor_plugin_aws_batch.record.run_record import open_run_record

    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    with pytest.raises(WorkflowError) as info:
        open_run_record(str(blocked), lambda message: None, workflow="w")
    message = str(info.value)
    assert "setting --aws-batch-run-record (SNAKEMAKE_AWS_BATCH_RUN_RECORD)" in message
    assert repr(str(blocked)) in message


def test_a_fractional_vcpu_is_written_as_a_decimal_and_counted() -> None:
    from fractions import Fraction
    from types import SimpleNamespace

    from snakemake_executor_plugin_aws_batch.jobspec.platform import Resources
    from snakemake_executor_plugin_aws_batch.tracking.jobs import JobRecord

    job = SimpleNamespace(name="small", jobid=7, wildcards_dict={"sample": "A"})
    fargate = JobRecord("snakejob-small-1", "small", "q", Resources(Fraction(1, 4), 512, 0))
    row = rows.row_for(job, record_of=fargate)
    assert (row["vcpu"], row["memory_mib"], row["wildcards"]) == ("0.25", "512", "sample=A")
    row.update(started_at="2025-12-02T14:00:00Z", stopped_at="2025-12-02T18:00:00Z")
    usage = summary.summarize([rows.with_durations(row)])
    assert usage["total"]["vcpu_hours"] == 1.0  # 0.25 vCPU x 4 h
