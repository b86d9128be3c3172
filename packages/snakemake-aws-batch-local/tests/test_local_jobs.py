"""Jobs really run: exit codes, reasons, logs and the container environment."""

from __future__ import annotations

import importlib.metadata
import json
import time
import urllib.error
import urllib.request
from typing import Any

import pytest

from local_helpers import alive, client, definition, describe, log_lines, submit, unique, wait_for
from snakemake_aws_batch_local import LocalBatch


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


def test_job_environment_reaches_emulated_s3_without_host_credentials(
    batch: Any, local: LocalBatch, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "PLANTED-HOST-SECRET")
    monkeypatch.setenv("HOST_ONLY_VARIABLE", "host-only")
    key = f"from-job/{unique('object')}"
    script = (
        "import boto3; boto3.client('s3').put_object("
        f"Bucket='snakemake-local', Key='{key}', Body=b'written by a job'); "
        "c = boto3.Session().get_credentials(); print('CREDENTIALS', c.method, c.access_key)"
    )
    name = definition(
        batch,
        f'env; pwd; ls -A; python -c "{script}"',
        environment=[{"name": "FROM_DEFINITION", "value": "definition"}],
        jobRoleArn=local.job_role_arn,
    )
    job_id = submit(
        batch,
        local,
        name,
        containerOverrides={"environment": [{"name": "FROM_OVERRIDE", "value": "override"}]},
    )
    job = wait_for(batch, job_id, timeout=60)
    lines = log_lines(local, job["container"]["logStreamName"])
    assert job["status"] == "SUCCEEDED", lines
    body = client(local, "s3").get_object(Bucket=local.bucket, Key=key)["Body"].read()
    assert body == b"written by a job"
    environment = dict(line.split("=", 1) for line in lines if "=" in line)
    assert environment["FROM_DEFINITION"] == "definition"
    assert environment["FROM_OVERRIDE"] == "override"
    assert environment["AWS_ENDPOINT_URL"] == local.endpoint_url
    # The job role's credentials come as a container's do: from a URI of its own.
    uri = environment["AWS_CONTAINER_CREDENTIALS_FULL_URI"]
    assert uri.startswith(f"{local.control_url}/_local/credentials/")
    assert "AWS_ACCESS_KEY_ID" not in environment
    assert "AWS_SECRET_ACCESS_KEY" not in environment
    assert "CREDENTIALS container-role local-job" in lines
    with urllib.request.urlopen(uri, timeout=10) as answer:
        credentials = json.load(answer)
    assert credentials["RoleArn"] == local.job_role_arn
    assert credentials["AccessKeyId"] == "local-job"
    assert credentials["Token"]
    assert credentials["Expiration"].endswith("Z")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{local.control_url}/_local/credentials/guessed", timeout=10)
    assert refused.value.code == 404
    assert environment["AWS_BATCH_JOB_ID"] == job_id
    assert environment["AWS_BATCH_JOB_ATTEMPT"] == "1"
    assert environment["AWS_BATCH_JQ_NAME"] == local.job_queue
    assert environment["AWS_BATCH_CE_NAME"]
    assert environment["HOME"] == environment["PWD"]
    assert "HOST_ONLY_VARIABLE" not in environment
    assert all("PLANTED-HOST-SECRET" not in line for line in lines)
    # The working directory starts empty: `ls -A` printed nothing between pwd and python.
    after_pwd = lines[lines.index(environment["PWD"]) + 1 :]
    assert after_pwd == ["CREDENTIALS container-role local-job"]


def test_resource_requirement_overrides_are_described(batch: Any, local: LocalBatch) -> None:
    job_id = submit(
        batch,
        local,
        definition(batch, "true"),
        containerOverrides={
            "resourceRequirements": [
                {"type": "VCPU", "value": "4"},
                {"type": "GPU", "value": "1"},
            ]
        },
    )
    job = wait_for(batch, job_id)
    requirements = {r["type"]: r["value"] for r in job["container"]["resourceRequirements"]}
    assert requirements == {"VCPU": "4", "MEMORY": "1024", "GPU": "1"}
    [sent] = local.requests("SubmitJob")
    assert sent["containerOverrides"]["resourceRequirements"][0] == {"type": "VCPU", "value": "4"}


def test_terminate_before_running_never_runs_the_command(batch: Any, local: LocalBatch) -> None:
    local.set_knobs(hold_jobs=True)
    job_id = submit(batch, local, definition(batch, "echo ran; sleep 30"))
    wait_for(batch, job_id, ("RUNNABLE",))
    started = time.monotonic()
    batch.terminate_job(jobId=job_id, reason="stopped by the test")
    job = wait_for(batch, job_id)
    assert time.monotonic() - started < 2
    assert job["status"] == "FAILED"
    assert job["statusReason"] == "stopped by the test"
    assert job["attempts"] == []
    assert "startedAt" not in job
    assert "logStreamName" not in job["container"]


def test_cancel_before_running(batch: Any, local: LocalBatch) -> None:
    local.set_knobs(hold_jobs=True)
    job_id = submit(batch, local, definition(batch, "sleep 30"))
    wait_for(batch, job_id, ("RUNNABLE",))
    batch.cancel_job(jobId=job_id, reason="cancelled by the test")
    job = wait_for(batch, job_id, timeout=5)
    assert (job["status"], job["statusReason"]) == ("FAILED", "cancelled by the test")


def test_terminate_while_running_kills_the_process_group(batch: Any, local: LocalBatch) -> None:
    job_id = submit(batch, local, definition(batch, "sleep 60 & echo child $!; wait"))
    job = wait_for(batch, job_id, ("RUNNING",))
    stream = job["container"]["logStreamName"]
    deadline = time.monotonic() + 10
    while not log_lines(local, stream) and time.monotonic() < deadline:
        time.sleep(0.1)
    child = int(log_lines(local, stream)[0].split()[1])
    started = time.monotonic()
    batch.terminate_job(jobId=job_id, reason="terminated while running")
    job = wait_for(batch, job_id)
    assert time.monotonic() - started < 5
    assert (job["status"], job["statusReason"]) == ("FAILED", "terminated while running")
    [attempt] = job["attempts"]
    assert attempt["container"]["exitCode"] == 143
    assert not alive(child)


def test_timeout_stops_the_job(batch: Any, local: LocalBatch) -> None:
    job_id = submit(
        batch,
        local,
        definition(batch, "sleep 30"),
        timeout={"attemptDurationSeconds": 1},
        retryStrategy={"attempts": 3},
    )
    job = wait_for(batch, job_id, timeout=15)
    assert job["status"] == "FAILED"
    assert job["statusReason"] == "Job attempt duration exceeded timeout"
    assert len(job["attempts"]) == 1  # a timed-out attempt is not retried


def test_missing_command_fails_to_start(batch: Any, local: LocalBatch) -> None:
    name = definition(batch, "unused")
    job_id = submit(
        batch, local, name, containerOverrides={"command": ["/no/such/program", "--flag"]}
    )
    job = wait_for(batch, job_id)
    assert job["status"] == "FAILED"
    assert job["container"]["reason"].startswith("CannotStartContainerError")
    assert "exitCode" not in job["container"]


def test_a_job_deploys_the_hosts_storage_plugin_with_no_package_index(
    batch: Any, local: LocalBatch
) -> None:
    """As Snakemake's jobs do (``pip install --target``), from the engine's wheels alone."""
    version = importlib.metadata.version("snakemake-storage-plugin-s3")
    name = definition(
        batch,
        "env; pip install --target deployed snakemake-storage-plugin-s3 && "
        "cat deployed/snakemake_storage_plugin_s3-*.dist-info/METADATA",
    )
    job = wait_for(batch, submit(batch, local, name), timeout=60)
    lines = log_lines(local, job["container"]["logStreamName"])
    assert job["status"] == "SUCCEEDED", lines
    environment = dict(line.split("=", 1) for line in lines if "=" in line)
    assert environment["PIP_NO_INDEX"] == "1"
    assert f"Version: {version}" in lines
    assert f"Successfully installed snakemake-storage-plugin-s3-{version}" in lines
