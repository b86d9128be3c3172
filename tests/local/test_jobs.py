"""Jobs really run: exit codes, reasons, logs and the container environment."""

from __future__ import annotations

from typing import Any

from snakemake_executor_plugin_aws_batch.local import LocalBatch

from .conftest import definition, describe, log_lines, submit, wait_for


def test_failed_job_reports_exit_code_reason_and_attempt(batch: Any, local: LocalBatch) -> None:
    job_id = submit(batch, local, definition(batch, "echo hi; exit 3"))
    job = wait_for(batch, job_id)
    assert job["status"] == "FAILED"
    assert job["statusReason"] == "Essential container in task exited"
    assert job["container"]["exitCode"] == 3
    assert job["startedAt"] <= job["stoppedAt"]
    [attempt] = job["attempts"]
    assert attempt["container"]["exitCode"] == 3
    assert attempt["container"]["logStreamName"] == job["container"]["logStreamName"]
    assert attempt["statusReason"] == "Essential container in task exited"
    assert attempt["startedAt"] <= attempt["stoppedAt"]


def test_successful_job_logs_are_readable(batch: Any, local: LocalBatch) -> None:
    name = definition(batch, "echo first line; echo to stderr >&2")
    job_id = submit(batch, local, name)
    job = wait_for(batch, job_id)
    assert job["status"] == "SUCCEEDED"
    assert job["container"]["exitCode"] == 0
    stream = job["container"]["logStreamName"]
    assert stream == f"{name}/default/{job_id}"
    assert log_lines(local, stream) == ["first line", "to stderr"]


def test_statuses_pass_in_order(batch: Any, local: LocalBatch) -> None:
    local.set_knobs(status_pace_seconds=0.3)
    job_id = submit(batch, local, definition(batch, "sleep 1"))
    seen = []
    while not seen or seen[-1] not in ("SUCCEEDED", "FAILED"):
        status = describe(batch, job_id)["status"]
        if not seen or seen[-1] != status:
            seen.append(status)
    assert seen == ["SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED"]
