"""Array jobs as AWS runs them: children with their index, the parent's status and summary,
ListJobs of the children, termination, cancellation, retries, timeouts and dependencies."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from botocore.exceptions import ClientError

from local_helpers import alive, definition, describe, log_lines, submit, unique, wait_for
from snakemake_aws_batch_local import LocalBatch
from snakemake_aws_batch_local.arrays import Array, child_dependencies

STATUSES = ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED", "FAILED")
INDEX = "$AWS_BATCH_JOB_ARRAY_INDEX"


def counts(**given: int) -> dict[str, int]:
    """A full statusSummary: the given counts, 0 for every other status."""
    return {status: given.get(status, 0) for status in STATUSES}


def summary(batch: Any, parent: str) -> dict[str, int]:
    return dict(describe(batch, parent)["arrayProperties"]["statusSummary"])


def eventually(check: Callable[[], bool], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


def wait_for_go(directory: Path) -> str:
    """Shell that stops until the test creates ``go`` (exit 9 after about 20 s)."""
    return f'n=0; until [ -e "{directory}/go" ]; do n=$((n+1)); [ $n -gt 400 ] && exit 9; sleep 0.05; done'


def command(script: str) -> dict[str, Any]:
    return {"command": ["/bin/sh", "-c", script]}


def child_ids(page: dict[str, Any]) -> list[str]:
    return [job["jobId"] for job in page["jobSummaryList"]]


def test_children_run_in_parallel_with_their_index(
    batch: Any, local: LocalBatch, tmp_path: Path
) -> None:
    script = (
        f'touch "{tmp_path}/started-{INDEX}"; {wait_for_go(tmp_path)}; '
        f'echo {INDEX} > "{tmp_path}/index-{INDEX}"; echo child {INDEX}'
    )
    marker = {"name": "SNAKEMAKE_SUBMISSION", "value": unique("marker")}
    job_name = unique("array")
    answer = batch.submit_job(
        jobName=job_name,
        jobQueue=local.job_queue,
        jobDefinition=definition(batch, "unused"),
        arrayProperties={"size": 4},
        containerOverrides={**command(script), "environment": [marker]},
    )
    parent = answer["jobId"]
    seen = [describe(batch, parent)["status"]]
    # Every child runs at once: each waits for the test, which waits for all four.
    eventually(lambda: len(list(tmp_path.glob("started-*"))) == 4)
    eventually(lambda: summary(batch, parent)["RUNNING"] == 4)
    running = describe(batch, parent)
    assert running["status"] == "PENDING"
    assert running["arrayProperties"]["size"] == 4
    assert running["arrayProperties"]["statusSummary"] == counts(RUNNING=4)
    assert abs(running["arrayProperties"]["statusSummaryLastUpdatedAt"] / 1000 - time.time()) < 60
    assert "startedAt" not in running
    assert "stoppedAt" not in running
    # The parent is found again by its name and environment; its children are not listed.
    listed = batch.list_jobs(
        jobQueue=local.job_queue, filters=[{"name": "JOB_NAME", "values": [job_name]}]
    )
    assert child_ids(listed) == [parent]
    assert listed["jobSummaryList"][0]["arrayProperties"]["size"] == 4
    assert marker in running["container"]["environment"]
    (tmp_path / "go").touch()
    while seen[-1] not in ("SUCCEEDED", "FAILED"):
        status = describe(batch, parent)["status"]
        if status != seen[-1]:
            seen.append(status)
        time.sleep(0.02)
    assert seen[-2:] == ["PENDING", "SUCCEEDED"]
    assert set(seen) <= {"SUBMITTED", "PENDING", "SUCCEEDED"}
    done = describe(batch, parent)
    assert done["arrayProperties"]["statusSummary"] == counts(SUCCEEDED=4)
    assert done["attempts"] == []
    children = batch.describe_jobs(jobs=[f"{parent}:{i}" for i in range(4)])["jobs"]
    children.sort(key=lambda job: job["arrayProperties"]["index"])
    streams = set()
    for index, child in enumerate(children):
        assert child["jobId"] == f"{parent}:{index}"
        assert child["arrayProperties"] == {"index": index}
        assert (child["status"], child["jobName"]) == ("SUCCEEDED", job_name)
        assert child["container"]["exitCode"] == 0
        assert child["startedAt"] <= child["stoppedAt"] <= done["stoppedAt"]
        assert len(child["attempts"]) == 1
        streams.add(child["container"]["logStreamName"])
        assert log_lines(local, child["container"]["logStreamName"]) == [f"child {index}"]
        assert (tmp_path / f"index-{index}").read_text().strip() == str(index)
    assert len(streams) == 4


def test_a_failing_child_fails_the_parent_alone(batch: Any, local: LocalBatch) -> None:
    script = f"if [ {INDEX} = 1 ]; then echo failing; exit 3; fi; echo fine"
    parent = submit(
        batch,
        local,
        definition(batch, "unused"),
        arrayProperties={"size": 3},
        containerOverrides=command(script),
    )
    assert wait_for(batch, parent)["status"] == "FAILED"
    assert summary(batch, parent) == counts(SUCCEEDED=2, FAILED=1)
    failed = describe(batch, f"{parent}:1")
    assert failed["status"] == "FAILED"
    assert failed["statusReason"] == "Essential container in task exited"
    assert failed["container"]["exitCode"] == 3
    assert log_lines(local, failed["container"]["logStreamName"]) == ["failing"]
    for index in (0, 2):
        sibling = describe(batch, f"{parent}:{index}")
        assert (sibling["status"], sibling["container"]["exitCode"]) == ("SUCCEEDED", 0)
        assert sibling["container"]["logStreamName"] != failed["container"]["logStreamName"]
    assert child_ids(batch.list_jobs(arrayJobId=parent, jobStatus="FAILED")) == [f"{parent}:1"]
    succeeded = batch.list_jobs(arrayJobId=parent, jobStatus="SUCCEEDED")
    assert child_ids(succeeded) == [f"{parent}:0", f"{parent}:2"]
    assert [job["arrayProperties"] for job in succeeded["jobSummaryList"]] == [
        {"index": 0},
        {"index": 2},
    ]
    assert child_ids(batch.list_jobs(arrayJobId=parent)) == []  # RUNNING only, as on AWS


def test_list_children_in_pages(batch: Any, local: LocalBatch) -> None:
    local.set_knobs(instant_jobs=True)
    parent = submit(batch, local, definition(batch, "true"), arrayProperties={"size": 5})
    wait_for(batch, parent)
    pages, token = [], None
    while True:
        more = {"nextToken": token} if token else {}
        page = batch.list_jobs(arrayJobId=parent, jobStatus="SUCCEEDED", maxResults=2, **more)
        pages.append(child_ids(page))
        token = page.get("nextToken")
        if not token:
            break
    assert pages == [[f"{parent}:{i}" for i in indexes] for indexes in ([0, 1], [2, 3], [4])]
    with pytest.raises(ClientError, match="nextToken"):
        batch.list_jobs(arrayJobId=parent, jobStatus="SUCCEEDED", nextToken="not-a-token")


def test_terminate_the_parent_stops_every_child(
    batch: Any, local: LocalBatch, tmp_path: Path
) -> None:
    script = f'echo $$ > "{tmp_path}/pid-{INDEX}.tmp"; mv "{tmp_path}/pid-{INDEX}.tmp" "{tmp_path}/pid-{INDEX}"; sleep 60'
    parent = submit(
        batch,
        local,
        definition(batch, "unused"),
        arrayProperties={"size": 3},
        containerOverrides=command(script),
    )
    eventually(lambda: len(list(tmp_path.glob("pid-?"))) == 3)
    pids = [int((tmp_path / f"pid-{i}").read_text()) for i in range(3)]
    # Terminating one child ends that child only.
    batch.terminate_job(jobId=f"{parent}:0", reason="only the first")
    first = wait_for(batch, f"{parent}:0", timeout=10)
    assert (first["status"], first["statusReason"]) == ("FAILED", "only the first")
    assert not alive(pids[0])
    assert all(alive(pid) for pid in pids[1:])
    assert describe(batch, parent)["status"] == "PENDING"
    started = time.monotonic()
    batch.terminate_job(jobId=parent, reason="stop the array")
    done = wait_for(batch, parent, timeout=10)
    assert time.monotonic() - started < 6
    assert (done["status"], done["statusReason"]) == ("FAILED", "stop the array")
    assert done["arrayProperties"]["statusSummary"] == counts(FAILED=3)
    for index in (1, 2):
        child = describe(batch, f"{parent}:{index}")
        assert (child["status"], child["statusReason"]) == ("FAILED", "stop the array")
        assert child["container"]["exitCode"] == 143
        assert not alive(pids[index])


def test_cancel_the_parent_cancels_the_children_not_yet_started(
    batch: Any, local: LocalBatch, tmp_path: Path
) -> None:
    script = f"[ {INDEX} = 0 ] && {{ {wait_for_go(tmp_path)}; }}; echo done {INDEX}"
    parent = submit(
        batch,
        local,
        definition(batch, "unused"),
        arrayProperties={"size": 3},
        containerOverrides=command(script),
        dependsOn=[{"type": "SEQUENTIAL"}],
    )
    wait_for(batch, f"{parent}:0", ("RUNNING",))
    waiting = describe(batch, f"{parent}:1")
    assert waiting["status"] == "PENDING"
    assert waiting["dependsOn"] == [{"jobId": f"{parent}:0", "type": "SEQUENTIAL"}]
    batch.cancel_job(jobId=parent, reason="cancel the array")
    for index in (1, 2):
        child = wait_for(batch, f"{parent}:{index}", timeout=5)
        assert (child["status"], child["statusReason"]) == ("FAILED", "cancel the array")
        assert child["attempts"] == []
    # CancelJob leaves a running child alone, as on AWS; the parent waits for it.
    assert describe(batch, f"{parent}:0")["status"] == "RUNNING"
    assert describe(batch, parent)["status"] == "PENDING"
    (tmp_path / "go").touch()
    assert wait_for(batch, f"{parent}:0")["status"] == "SUCCEEDED"
    done = wait_for(batch, parent, timeout=5)
    assert (done["status"], done["statusReason"]) == ("FAILED", "cancel the array")


def test_retries_and_timeouts_apply_to_each_child(
    batch: Any, local: LocalBatch, tmp_path: Path
) -> None:
    script = (
        f'if [ {INDEX} = 1 ] && [ ! -e "{tmp_path}/failed-once" ]; then '
        f'touch "{tmp_path}/failed-once"; exit 4; fi; '
        f"[ {INDEX} = 2 ] && sleep 30; echo attempt $AWS_BATCH_JOB_ATTEMPT"
    )
    parent = submit(
        batch,
        local,
        definition(batch, "unused"),
        arrayProperties={"size": 3},
        containerOverrides=command(script),
        retryStrategy={"attempts": 2},
        timeout={"attemptDurationSeconds": 2},
    )
    assert wait_for(batch, parent)["status"] == "FAILED"
    first, retried, timed_out = (describe(batch, f"{parent}:{i}") for i in range(3))
    assert first["status"] == "SUCCEEDED"
    assert [a["container"]["exitCode"] for a in first["attempts"]] == [0]
    assert retried["status"] == "SUCCEEDED"
    assert [a["container"]["exitCode"] for a in retried["attempts"]] == [4, 0]
    streams = [a["container"]["logStreamName"] for a in retried["attempts"]]
    assert len(set(streams)) == 2
    assert log_lines(local, streams[1]) == ["attempt 2"]
    assert timed_out["status"] == "FAILED"
    assert timed_out["statusReason"] == "Job attempt duration exceeded timeout"
    assert len(timed_out["attempts"]) == 1  # a timed-out attempt is not retried


def test_n_to_n_dependency_waits_for_the_same_index(
    batch: Any, local: LocalBatch, tmp_path: Path
) -> None:
    name = definition(batch, "unused")
    first = submit(
        batch,
        local,
        name,
        arrayProperties={"size": 2},
        containerOverrides=command(f"[ {INDEX} = 1 ] && {{ {wait_for_go(tmp_path)}; }}; true"),
    )
    second = submit(
        batch,
        local,
        name,
        arrayProperties={"size": 2},
        containerOverrides=command("true"),
        dependsOn=[{"jobId": first, "type": "N_TO_N"}],
    )
    assert wait_for(batch, f"{second}:0")["status"] == "SUCCEEDED"
    assert describe(batch, f"{first}:1")["status"] == "RUNNING"
    assert describe(batch, f"{second}:1")["status"] == "PENDING"
    (tmp_path / "go").touch()
    assert wait_for(batch, second)["status"] == "SUCCEEDED"
    assert describe(batch, first)["status"] == "SUCCEEDED"


def test_each_child_takes_consumable_resources_for_itself(
    batch: Any, local: LocalBatch, tmp_path: Path
) -> None:
    resource = unique("license")
    batch.create_consumable_resource(consumableResourceName=resource, totalQuantity=1)
    parent = submit(
        batch,
        local,
        definition(batch, "unused"),
        arrayProperties={"size": 2},
        containerOverrides=command(f"{wait_for_go(tmp_path)}"),
        consumableResourcePropertiesOverride={
            "consumableResourceList": [{"consumableResource": resource, "quantity": 1}]
        },
    )
    eventually(lambda: summary(batch, parent) == counts(RUNNING=1, RUNNABLE=1))
    (tmp_path / "go").touch()
    assert wait_for(batch, parent)["status"] == "SUCCEEDED"
    found = batch.describe_consumable_resource(consumableResource=resource)
    assert (found["inUseQuantity"], found["availableQuantity"]) == (0, 1)


@pytest.mark.parametrize("size", [1, 10_001, 0])
def test_sizes_aws_refuses(batch: Any, local: LocalBatch, size: int) -> None:
    job_name = unique("refused")
    with pytest.raises(ClientError) as refused:
        batch.submit_job(
            jobName=job_name,
            jobQueue=local.job_queue,
            jobDefinition=definition(batch, "true"),
            arrayProperties={"size": size},
        )
    error = refused.value.response
    assert error["Error"]["Code"] == "ClientException"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "from 2 to 10000" in error["Error"]["Message"]
    listed = batch.list_jobs(
        jobQueue=local.job_queue, filters=[{"name": "JOB_NAME", "values": [job_name]}]
    )
    assert listed["jobSummaryList"] == []


# -- without a server -----------------------------------------------------------------------
def test_parent_status_follows_the_children() -> None:
    ended: list[str] = []
    parent = SimpleNamespace(job_id="p", job_stopped=False, job_stopped_at=None)
    array = Array(parent, 2, SimpleNamespace(job_ended=ended.append))
    for _ in range(2):
        array.add(SimpleNamespace(_status="SUBMITTED"))
    assert array.status() == "SUBMITTED"
    array.moved("SUBMITTED", "PENDING")
    assert array.status() == "PENDING"
    array.moved("PENDING", "FAILED")
    assert (array.status(), ended) == ("PENDING", [])
    array.moved("SUBMITTED", "SUCCEEDED")
    assert (array.status(), ended, parent.job_stopped) == ("FAILED", ["p"], True)
    assert array.detail()["statusSummary"] == counts(SUCCEEDED=1, FAILED=1)


def test_child_dependencies() -> None:
    jobs = {"other:1": object()}
    sequential = [{"type": "SEQUENTIAL"}]
    assert child_dependencies(sequential, "p", 0, jobs) == []
    assert child_dependencies(sequential, "p", 3, jobs) == [{"jobId": "p:2", "type": "SEQUENTIAL"}]
    n_to_n = [{"jobId": "other", "type": "N_TO_N"}, {"jobId": "plain"}]
    assert child_dependencies(n_to_n, "p", 1, jobs) == [
        {"jobId": "other:1", "type": "N_TO_N"},
        {"jobId": "plain"},
    ]
    # No child 2 in "other": the whole job is waited for.
    assert child_dependencies(n_to_n, "p", 2, jobs)[0] == {"jobId": "other", "type": "N_TO_N"}
