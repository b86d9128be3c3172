"""The Docker engine itself, job by job: what a container sees and how it ends."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from snakemake_aws_batch_local import LocalBatch

from ...conftest import client
from .conftest import IMAGE, job_containers

pytestmark = pytest.mark.timeout(300)


@pytest.fixture
def batch(local: LocalBatch) -> Any:
    return client(local, "batch")


def definition(batch: Any, command: str, *, image: str = IMAGE, memory_mib: int = 512) -> str:
    name = f"container-{uuid.uuid4().hex[:8]}"
    batch.register_job_definition(
        jobDefinitionName=name,
        type="container",
        containerProperties={
            "image": image,
            "command": ["/bin/sh", "-c", command],
            "resourceRequirements": [
                {"type": "VCPU", "value": "1"},
                {"type": "MEMORY", "value": str(memory_mib)},
            ],
        },
    )
    return name


def submit(batch: Any, local: LocalBatch, name: str, **fields: Any) -> str:
    answer = batch.submit_job(
        jobName=f"job-{uuid.uuid4().hex[:8]}",
        jobQueue=local.job_queue,
        jobDefinition=name,
        **fields,
    )
    return str(answer["jobId"])


def wait_for(batch: Any, job_id: str, statuses: tuple[str, ...] = ("SUCCEEDED", "FAILED")) -> Any:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        [job] = batch.describe_jobs(jobs=[job_id])["jobs"]
        if job["status"] in statuses:
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} never reached {statuses}: {job['status']}")


def log_lines(local: LocalBatch, job: dict[str, Any]) -> list[str]:
    stream = job["container"].get("logStreamName")
    if not stream:
        return []
    events = client(local, "logs").get_log_events(
        logGroupName="/aws/batch/job", logStreamName=stream, startFromHead=True
    )["events"]
    return [event["message"] for event in events]


def wait_for_line(local: LocalBatch, batch: Any, job_id: str, line: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        [job] = batch.describe_jobs(jobs=[job_id])["jobs"]
        if line in log_lines(local, job):
            return
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} never logged {line!r}")


def test_a_job_runs_in_its_image_with_a_containers_environment(
    batch: Any, local: LocalBatch, engine: Any
) -> None:
    key = f"from-a-container/{uuid.uuid4().hex}"
    put = (
        "import boto3; boto3.client('s3').put_object("
        f"Bucket='{local.bucket}', Key='{key}', Body=b'from a container')"
    )
    credentials = (
        "import boto3; c = boto3.Session().get_credentials(); "
        "print('CREDENTIALS', c.method, c.access_key)"
    )
    command = (
        'python -c "import sys; print(sys.executable)"; '
        "test -e /run/.containerenv && echo in-a-container; "
        f'python -c "{credentials}"; python -c "{put}"; '
        'echo "job $AWS_BATCH_JOB_ID attempt $AWS_BATCH_JOB_ATTEMPT queue $AWS_BATCH_JQ_NAME"; '
        'echo "pwd $(pwd)"; echo "nofile $(ulimit -n)"; '
        "echo 'to stderr' >&2; exit 4"
    )
    job_id = submit(batch, local, definition(batch, command))
    job = wait_for(batch, job_id)
    lines = log_lines(local, job)
    assert job["status"] == "FAILED", lines
    assert job["statusReason"] == "Essential container in task exited"
    assert job["container"]["exitCode"] == 4
    assert "reason" not in job["container"]
    assert lines[:2] == ["/opt/snakemake/bin/python", "in-a-container"]  # the image's Python
    # The job role's credentials, from the credentials URI, as in an ECS task.
    assert "CREDENTIALS container-role local-job" in lines
    assert f"job {job_id} attempt 1 queue {local.job_queue}" in lines
    assert "pwd /tmp" in lines  # the image's WORKDIR
    assert "nofile 1024" in lines  # podman/containers.conf's ulimits
    assert "to stderr" in lines
    body = client(local, "s3").get_object(Bucket=local.bucket, Key=key)["Body"].read()
    assert body == b"from a container"  # the endpoint, reached over the host's network
    assert job_containers(engine, job_id) == []  # removed once it ended


def test_a_container_over_its_memory_is_killed_as_on_aws(batch: Any, local: LocalBatch) -> None:
    job_id = submit(
        batch,
        local,
        definition(batch, "exec python -c 'b = bytearray(1024 * 1024 * 1024)'", memory_mib=64),
    )
    job = wait_for(batch, job_id)
    assert job["status"] == "FAILED"
    assert job["container"]["exitCode"] == 137
    assert job["container"]["reason"] == "OutOfMemoryError: Container killed due to memory usage"


def test_terminate_sends_sigterm_then_sigkill_after_the_stop_timeout(
    batch: Any, local: LocalBatch
) -> None:
    local.set_knobs(stop_timeout_seconds=3)
    loop = "echo ready; while true; do sleep 0.1; done"
    polite = submit(batch, local, definition(batch, f"trap 'echo got-term; exit 7' TERM; {loop}"))
    stubborn = submit(batch, local, definition(batch, f"trap '' TERM; {loop}"))
    for job_id in (polite, stubborn):
        wait_for_line(local, batch, job_id, "ready")
    terminated_at = time.time() * 1000
    for job_id in (polite, stubborn):
        batch.terminate_job(jobId=job_id, reason="stopped by the test")
    polite_job, stubborn_job = wait_for(batch, polite), wait_for(batch, stubborn)
    assert polite_job["statusReason"] == stubborn_job["statusReason"] == "stopped by the test"
    assert polite_job["container"]["exitCode"] == 7  # its TERM handler ran
    assert "got-term" in log_lines(local, polite_job)
    assert stubborn_job["container"]["exitCode"] == 137  # SIGKILL, once the timeout passed
    assert stubborn_job["stoppedAt"] - terminated_at >= 3000


def test_a_timed_out_container_is_stopped(batch: Any, local: LocalBatch) -> None:
    local.set_knobs(stop_timeout_seconds=1)
    job_id = submit(
        batch, local, definition(batch, "sleep 600"), timeout={"attemptDurationSeconds": 2}
    )
    job = wait_for(batch, job_id)
    assert job["status"] == "FAILED"
    assert job["statusReason"] == "Job attempt duration exceeded timeout"
    # The shell is the container's PID 1, which ignores SIGTERM: SIGKILL ends it.
    assert job["container"]["exitCode"] == 137


def test_a_missing_image_fails_with_the_pull_error(batch: Any, local: LocalBatch) -> None:
    image = "localhost/snakemake-aws-batch/missing:1"
    job_id = submit(batch, local, definition(batch, "true", image=image))
    job = wait_for(batch, job_id)
    assert job["status"] == "FAILED"
    assert job["statusReason"].startswith(f"CannotPullContainerError: failed to pull image {image}")
    assert job["container"]["reason"] == job["statusReason"]
    assert "exitCode" not in job["container"]
