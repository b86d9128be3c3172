"""Every knob, driven in-process and over HTTP, and the /_local endpoints."""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request
from typing import Any

import botocore.exceptions
import pytest

from local_helpers import FINAL, client, definition, describe, submit, unique, wait_for
from snakemake_aws_batch_local import KNOB_NAMES, LocalBatch

NO_RETRY = {"retries": {"total_max_attempts": 1}}
DROPPED = (botocore.exceptions.ConnectionError, botocore.exceptions.HTTPClientError)


def http(local: LocalBatch, method: str, route: str, document: Any = None) -> Any:
    data = None if document is None else json.dumps(document).encode()
    request = urllib.request.Request(f"{local.endpoint_url}/_local/{route}", data, method=method)
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())


def test_knobs_over_http(local: LocalBatch) -> None:
    knobs = http(local, "POST", "knobs", {"latency_ms": 5, "forget_jobs": ["a"]})
    assert set(knobs) == set(KNOB_NAMES)
    assert (knobs["latency_ms"], knobs["forget_jobs"]) == (5, ["a"])
    assert http(local, "GET", "knobs") == knobs == local.knobs()
    defaults = http(local, "POST", "reset-knobs", {})
    assert (defaults["latency_ms"], defaults["forget_jobs"]) == (0, [])
    with pytest.raises(urllib.error.HTTPError) as error:
        http(local, "POST", "knobs", {"no_such_knob": 1})
    assert error.value.code == 400
    with pytest.raises(ValueError, match="fraction"):
        local.set_knobs(throttle_rate=2)


def test_calls_and_requests(batch: Any, local: LocalBatch) -> None:
    name = definition(batch, "true")
    job_id = submit(
        batch,
        local,
        name,
        retryStrategy={"attempts": 2, "evaluateOnExit": [{"onExitCode": "1", "action": "EXIT"}]},
        schedulingPriorityOverride=5,
        shareIdentifier="teamA",
        propagateTags=True,
        consumableResourcePropertiesOverride={
            "consumableResourceList": [{"consumableResource": "licence", "quantity": 1}]
        },
    )
    wait_for(batch, job_id)
    client(local, "logs").describe_log_groups()
    calls = http(local, "GET", "calls")
    assert calls["RegisterJobDefinition"] == 1
    assert calls["SubmitJob"] == 1
    assert calls["DescribeJobs"] >= 1
    assert calls["logs.DescribeLogGroups"] == 1
    [sent] = http(local, "GET", "requests?op=SubmitJob")
    assert sent["retryStrategy"]["evaluateOnExit"] == [{"onExitCode": "1", "action": "EXIT"}]
    assert sent["schedulingPriorityOverride"] == 5
    assert sent["shareIdentifier"] == "teamA"
    assert sent["propagateTags"] is True
    assert (
        sent["consumableResourcePropertiesOverride"]["consumableResourceList"][0]["quantity"] == 1
    )
    job = describe(batch, job_id)
    assert (job["schedulingPriority"], job["shareIdentifier"]) == (5, "teamA")
    http(local, "POST", "reset-calls", {})
    assert http(local, "GET", "calls") == {}
    assert http(local, "GET", "requests?op=SubmitJob") == []


def test_latency(batch: Any, local: LocalBatch) -> None:
    batch.describe_job_queues()
    local.set_knobs(latency_ms=400)
    started = time.monotonic()
    batch.describe_job_queues()
    assert time.monotonic() - started >= 0.4


def test_submit_rate_limit(local: LocalBatch) -> None:
    batch = client(local, "batch", **NO_RETRY)
    name = definition(batch, "true")
    local.set_knobs(submit_rate_limit=2, instant_jobs=True)
    outcomes = []
    for _ in range(5):
        try:
            submit(batch, local, name)
            outcomes.append("ok")
        except botocore.exceptions.ClientError as err:
            status = err.response["ResponseMetadata"]["HTTPStatusCode"]
            outcomes.append(f"{status} {err.response['Error']['Code']}")
    assert outcomes[:2] == ["ok", "ok"]
    assert set(outcomes[2:]) == {"429 TooManyRequestsException"}
    time.sleep(1.1)
    submit(batch, local, name)


@pytest.mark.parametrize(
    ("knob", "status", "code"),
    [
        ("throttle_rate", 429, "TooManyRequestsException"),
        ("throttle_400_rate", 400, "ThrottlingException"),
        ("server_error_rate", 500, "ServerException"),
    ],
)
def test_error_rates(local: LocalBatch, knob: str, status: int, code: str) -> None:
    batch = client(local, "batch", **NO_RETRY)
    local.set_knobs(**{knob: 1.0})
    with pytest.raises(botocore.exceptions.ClientError) as error:
        batch.describe_jobs(jobs=["x"])
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    assert error.value.response["Error"]["Code"] == code
    client(local, "logs", **NO_RETRY).describe_log_groups()  # only Batch calls fail
    local.set_knobs(**{knob: 0.0})
    batch.describe_jobs(jobs=["x"])


def test_fault_rate_and_other_spellings(local: LocalBatch) -> None:
    knobs = local.set_knobs(
        fault_rate={"throttle": 0.25, "throttle_400": 0.5, "server_error": 0.125},
        fault_after_rate=0.75,
        outage=0,
    )
    assert (knobs["throttle_rate"], knobs["throttle_400_rate"]) == (0.25, 0.5)
    assert (knobs["server_error_rate"], knobs["ambiguous_rate"]) == (0.125, 0.75)
    assert "fault_rate" not in knobs
    with pytest.raises(ValueError, match="fault_rate"):
        local.set_knobs(fault_rate={"timeout": 0.1})
    with pytest.raises(urllib.error.HTTPError) as error:
        http(local, "POST", "knobs", {"fault_rate": {"throttle": 3}})
    assert error.value.code == 400


def test_ambiguous_faults_hit_every_batch_operation(local: LocalBatch) -> None:
    batch = client(local, "batch", **NO_RETRY)
    local.set_knobs(fault_after_rate=1.0)
    name = unique("def")
    with pytest.raises((botocore.exceptions.ClientError, *DROPPED)):
        batch.register_job_definition(
            jobDefinitionName=name,
            type="container",
            containerProperties={"image": "x", "command": ["true"], "vcpus": 1, "memory": 512},
        )
    local.set_knobs(fault_after_rate=0.0)
    [registered] = batch.describe_job_definitions(jobDefinitionName=name)["jobDefinitions"]
    assert registered["revision"] == 1


def test_ambiguous_submit_creates_the_job(local: LocalBatch) -> None:
    batch = client(local, "batch", **NO_RETRY)
    name = definition(batch, "true")
    local.set_knobs(ambiguous_rate=1.0)
    job_name = unique("ambiguous")
    errors = []
    for _ in range(4):
        with pytest.raises((botocore.exceptions.ClientError, *DROPPED)):
            batch.submit_job(jobName=job_name, jobQueue=local.job_queue, jobDefinition=name)
        errors.append(True)
    local.set_knobs(ambiguous_rate=0.0)
    listed = batch.list_jobs(
        jobQueue=local.job_queue, filters=[{"name": "JOB_NAME", "values": [job_name]}]
    )["jobSummaryList"]
    assert len(listed) == len(errors)
    assert local.calls()["SubmitJob"] == 4


def test_outage_refuses_and_resets_connections(local: LocalBatch) -> None:
    batch = client(local, "batch", **NO_RETRY)
    batch.describe_job_queues()  # opens a kept-alive connection
    local.set_knobs(outage_seconds=1.5)
    assert 0 < local.knobs()["outage_seconds"] <= 1.5
    # A request on a connection opened before the outage is reset: an ambiguous failure.
    with pytest.raises(botocore.exceptions.ConnectionClosedError):
        batch.describe_job_queues()
    with pytest.raises(DROPPED):
        client(local, "s3", **NO_RETRY).list_buckets()
    time.sleep(0.3)  # the port closes within 0.1 s
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", local.port), timeout=2).close()
    time.sleep(1.6)
    batch.describe_job_queues()
    local.set_knobs(outage_seconds=30)
    local.set_knobs(outage_seconds=0)  # ends it early
    batch.describe_job_queues()


def test_outage_reset_mode_spares_the_jobs(batch: Any, local: LocalBatch) -> None:
    key = f"during-outage/{unique('object')}"
    script = f"import boto3; boto3.client('s3').put_object(Bucket='snakemake-local', Key='{key}')"
    job_id = submit(batch, local, definition(batch, f'sleep 0.5; python -c "{script}"'))
    wait_for(batch, job_id, ("RUNNING",))
    local.set_knobs(outage_mode="reset", outage_seconds=60)
    with pytest.raises(botocore.exceptions.ConnectionClosedError):
        client(local, "batch", **NO_RETRY).describe_jobs(jobs=[job_id])
    # Requests signed with the jobs' key come from inside AWS: they are served.
    inside = client(local, "batch", key="local-job", **NO_RETRY)
    job = wait_for(inside, job_id, timeout=60)
    assert local.knobs()["outage_seconds"] > 0
    assert job["status"] == "SUCCEEDED"
    local.set_knobs(outage_seconds=0)
    client(local, "s3").head_object(Bucket=local.bucket, Key=key)


def test_status_pace(batch: Any, local: LocalBatch) -> None:
    local.set_knobs(status_pace_seconds=0.5)
    job_id = submit(batch, local, definition(batch, "true"))
    started = time.monotonic()
    wait_for(batch, job_id)
    # SUBMITTED -> PENDING -> RUNNABLE -> STARTING -> RUNNING: four steps
    assert time.monotonic() - started >= 1.9


def test_hold_jobs_then_release(batch: Any, local: LocalBatch) -> None:
    local.set_knobs(hold_jobs=True)
    name = definition(batch, "true")
    ids = [submit(batch, local, name) for _ in range(3)]
    time.sleep(0.6)
    assert {describe(batch, i)["status"] for i in ids} == {"RUNNABLE"}
    batch.terminate_job(jobId=ids[0], reason="cancelled while held")
    assert wait_for(batch, ids[0], timeout=3)["status"] == "FAILED"
    local.set_knobs(hold_jobs=False)
    assert [wait_for(batch, i)["status"] for i in ids[1:]] == ["SUCCEEDED", "SUCCEEDED"]


def test_forget_jobs(batch: Any, local: LocalBatch) -> None:
    name = definition(batch, "true")
    kept, forgotten = submit(batch, local, name), submit(batch, local, name)
    local.set_knobs(forget_jobs=[forgotten])
    found = batch.describe_jobs(jobs=[kept, forgotten])["jobs"]
    assert [job["jobId"] for job in found] == [kept]
    local.set_knobs(forget_jobs=[])
    assert len(batch.describe_jobs(jobs=[kept, forgotten])["jobs"]) == 2


def test_instant_jobs(batch: Any, local: LocalBatch) -> None:
    local.set_knobs(instant_jobs=True, status_pace_seconds=0)
    name = definition(batch, "exit 1")
    ids = [submit(batch, local, name) for _ in range(50)]
    jobs = []
    for start in range(0, len(ids), 100):
        deadline = time.monotonic() + 10
        while True:
            found = batch.describe_jobs(jobs=ids[start : start + 100])["jobs"]
            if all(job["status"] in FINAL for job in found) or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        jobs += found
    assert {job["status"] for job in jobs} == {"SUCCEEDED"}
    assert {job["container"]["exitCode"] for job in jobs} == {0}


def test_timeout_scale_shortens_the_time_limit_only(batch: Any, local: LocalBatch) -> None:
    local.set_knobs(timeout_scale=0.05)
    name = definition(batch, "sleep 60")
    job_id = submit(batch, local, name, timeout={"attemptDurationSeconds": 60})
    started = time.monotonic()
    job = wait_for(batch, job_id)
    assert time.monotonic() - started < 30  # 3 s, and the stop: far below the 60 given
    assert job["status"] == "FAILED"
    assert job["statusReason"] == "Job attempt duration exceeded timeout"
    assert job["timeout"] == {"attemptDurationSeconds": 60}
    with pytest.raises(ValueError, match="above 0"):
        local.set_knobs(timeout_scale=0)
    with pytest.raises(ValueError, match="fraction"):
        local.set_knobs(timeout_scale=1.5)
