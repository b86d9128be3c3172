"""Starting and stopping LocalBatch, parallel jobs, dependencies, queues and array jobs."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from local_helpers import alive, client, definition, describe, log_lines, submit, wait_for
from snakemake_aws_batch_local import LocalBatch


def test_stop_kills_running_jobs_and_leaves_nothing() -> None:
    threads_before = set(threading.enumerate())
    local = LocalBatch(engine="process")
    with local:
        server = local._process
        assert server is not None
        batch = client(local, "batch")
        job_id = submit(batch, local, definition(batch, "echo $$; sleep 60"))
        deadline = time.monotonic() + 20
        lines: list[str] = []
        while not lines and time.monotonic() < deadline:
            stream = describe(batch, job_id)["container"].get("logStreamName")
            lines = log_lines(local, stream) if stream else []
            time.sleep(0.1)
        shell = int(lines[0])
        assert alive(shell)
    assert server.returncode == 0
    assert not alive(shell)
    assert not alive(server.pid)
    assert set(threading.enumerate()) <= threads_before


def test_attributes_need_a_started_server() -> None:
    with pytest.raises(RuntimeError, match="not started"):
        _ = LocalBatch().endpoint_url


def test_unknown_knob_is_rejected_before_starting() -> None:
    with pytest.raises(ValueError, match="unknown knob"):
        LocalBatch(no_such_knob=True)


@pytest.mark.parametrize("value", [0, -1, float("nan"), "1", True])
def test_bad_poll_seconds_are_rejected_before_starting(value: Any) -> None:
    with pytest.raises(ValueError, match="poll_seconds must be a positive number"):
        LocalBatch(poll_seconds=value)


def test_poll_seconds_reach_the_server() -> None:
    with LocalBatch(engine="process", poll_seconds=0.5) as local:
        assert local.health()["poll_seconds"] == 0.5
    with LocalBatch(engine="process") as local:
        assert local.health()["poll_seconds"] == 0.05


def test_jobs_run_in_parallel(batch: Any, local: LocalBatch) -> None:
    name = definition(batch, "sleep 1.5")
    started = time.monotonic()
    ids = [submit(batch, local, name) for _ in range(6)]
    assert [wait_for(batch, i)["status"] for i in ids] == ["SUCCEEDED"] * 6
    assert time.monotonic() - started < 5


def test_dependencies(batch: Any, local: LocalBatch) -> None:
    first = submit(batch, local, definition(batch, "sleep 0.5"))
    second = submit(batch, local, definition(batch, "true"), dependsOn=[{"jobId": first}])
    failing = submit(batch, local, definition(batch, "exit 1"))
    blocked = submit(batch, local, definition(batch, "true"), dependsOn=[{"jobId": failing}])
    done_first, done_second = wait_for(batch, first), wait_for(batch, second)
    assert done_second["status"] == "SUCCEEDED"
    assert done_second["startedAt"] >= done_first["stoppedAt"]
    never = wait_for(batch, blocked)
    assert (never["status"], never["statusReason"]) == ("FAILED", "Dependent Job failed")
    assert never["attempts"] == []


def test_fargate_queue(batch: Any, local: LocalBatch) -> None:
    name = definition(
        batch,
        "echo $AWS_BATCH_JQ_NAME $AWS_BATCH_CE_NAME",
        executionRoleArn=local.execution_role_arn,
        jobRoleArn=local.job_role_arn,
        networkConfiguration={"assignPublicIp": "ENABLED"},
    )
    answer = batch.submit_job(
        jobName="fargate", jobQueue=local.fargate_job_queue, jobDefinition=name
    )
    job = wait_for(batch, answer["jobId"])
    assert job["status"] == "SUCCEEDED"
    assert job["container"]["executionRoleArn"] == local.execution_role_arn
    [line] = log_lines(local, job["container"]["logStreamName"])
    assert line.startswith(f"{local.fargate_job_queue} ")


def test_array_job(batch: Any, local: LocalBatch) -> None:
    name = definition(batch, 'exit "$AWS_BATCH_JOB_ARRAY_INDEX"')
    parent = submit(batch, local, name, arrayProperties={"size": 2})
    children = [wait_for(batch, f"{parent}:{index}") for index in range(2)]
    assert [child["status"] for child in children] == ["SUCCEEDED", "FAILED"]
    assert describe(batch, parent)["status"] == "FAILED"


def test_dependency_on_an_array_job(batch: Any, local: LocalBatch) -> None:
    parent = submit(batch, local, definition(batch, "sleep 0.3"), arrayProperties={"size": 2})
    after = submit(batch, local, definition(batch, "true"), dependsOn=[{"jobId": parent}])
    job = wait_for(batch, after, timeout=30)
    assert job["status"] == "SUCCEEDED"
    assert describe(batch, parent)["status"] == "SUCCEEDED"


def test_many_held_jobs_cost_no_threads(batch: Any, local: LocalBatch) -> None:
    local.set_knobs(hold_jobs=True, status_pace_seconds=0)
    threads = local.health()["threads"]
    name = definition(batch, "true")
    ids = [submit(batch, local, name) for _ in range(300)]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = batch.describe_jobs(jobs=ids[:100])["jobs"]
        if {job["status"] for job in found} == {"RUNNABLE"}:
            break
        time.sleep(0.1)
    health = local.health()
    assert health["active_jobs"] >= 300
    assert health["threads"] <= threads + 5
    local.set_knobs(hold_jobs=False, instant_jobs=True)
    for start in range(0, len(ids), 100):
        while True:
            found = batch.describe_jobs(jobs=ids[start : start + 100])["jobs"]
            if all(job["status"] == "SUCCEEDED" for job in found):
                break
            assert time.monotonic() < deadline + 30
            time.sleep(0.1)
    while local.health()["active_jobs"]:  # the scheduler lets go just after the last status
        assert time.monotonic() < deadline + 30
        time.sleep(0.05)
