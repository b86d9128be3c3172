"""Which of the jobs AWS Batch describes an earlier run of this workflow left to take over."""

from __future__ import annotations

from typing import Any

import pytest

from snakemake_executor_plugin_aws_batch.jobspec.payloads import SHELL
from snakemake_executor_plugin_aws_batch.resume import identity
from snakemake_executor_plugin_aws_batch.resume.candidates import ADOPTABLE, Candidate, candidates
from snakemake_executor_plugin_aws_batch.states import LIVE
from snakemake_executor_plugin_aws_batch.submission import arrays

WORKFLOW = "workflow-1"
COMMAND = "snakemake --target-jobs 'work:i=1' --attempt 1"


def described(
    job_id: str = "job-1",
    *,
    status: str = "RUNNING",
    command: list[str] | None = None,
    workflow: str | None = WORKFLOW,
    fingerprint: str | None = "fp-1",
    created: int = 1_000,
    queue: str = "q",
    size: int | None = None,
) -> dict[str, Any]:
    """A job as DescribeJobs gives it, with the variables a submitted job carries."""
    marks = {identity.WORKFLOW_VARIABLE: workflow, identity.REQUEST_VARIABLE: fingerprint}
    environment = [{"name": "A", "value": "1"}]
    environment += [{"name": k, "value": v} for k, v in marks.items() if v is not None]
    job: dict[str, Any] = {
        "jobId": job_id,
        "jobName": f"name-of-{job_id}",
        "jobQueue": queue,
        "status": status,
        "createdAt": created,
        "container": {
            "command": [*SHELL, COMMAND] if command is None else command,
            "environment": environment,
        },
    }
    if size is not None:
        job["arrayProperties"] = {"size": size, "statusSummary": {}}
    return job


def array_command(commands: list[str]) -> list[str]:
    """The container command of an array whose children run ``commands``."""
    return [*SHELL, arrays.script(arrays.split(commands))]


@pytest.mark.parametrize("status", ADOPTABLE)
def test_a_live_or_succeeded_job_of_this_workflow_is_a_candidate(status):
    found = candidates(described(status=status, created=1234), WORKFLOW)
    assert found == [Candidate("job-1", "name-of-job-1", status, COMMAND, "fp-1", 1234)]
    assert found[0].parent is None


@pytest.mark.parametrize(
    "job",
    [
        described(status="FAILED"),
        described(workflow="workflow-2"),
        described(workflow=None),
        described(fingerprint=None),
        described(command=["/bin/bash", "-c", COMMAND]),
        described(command=[*SHELL, COMMAND, "extra"]),
        described(command=["snakemake", "--target-jobs", "work:i=1"]),
        {"jobId": "job-1", "status": "RUNNING"},
    ],
    ids=[
        "failed",
        "other-workflow",
        "no-workflow",
        "no-fingerprint",
        "other-shell",
        "extra-argument",
        "no-shell",
        "no-container",
    ],
)
def test_other_jobs_are_no_candidates(job):
    assert candidates(job, WORKFLOW) == []


def test_an_array_gives_its_adoptable_children_with_their_own_commands():
    commands = [f"snakemake --target-jobs 'work:i={i}' --attempt 1" for i in range(4)]
    parent = described("arr", status="RUNNING", command=array_command(commands), size=4)
    children = {0: "SUCCEEDED", 1: "FAILED", 3: "RUNNABLE"}  # 2: not listed in any state
    found = candidates(parent, WORKFLOW, children)
    assert [(c.batch_id, c.status, c.command) for c in found] == [
        ("arr:0", "SUCCEEDED", commands[0]),
        ("arr:3", "RUNNABLE", commands[3]),
    ]
    assert {(c.parent, c.name, c.fingerprint, c.created_at) for c in found} == {
        ("arr", "name-of-arr", "fp-1", 1_000)
    }


def test_an_array_whose_children_are_unknown_or_whose_script_is_foreign_gives_none():
    commands = ["snakemake --target-jobs 'work:i=0'", "snakemake --target-jobs 'work:i=1'"]
    parent = described("arr", command=array_command(commands), size=2)
    assert candidates(parent, WORKFLOW) == []
    every_child_live = dict.fromkeys(range(2), LIVE[-1])
    assert len(candidates(parent, WORKFLOW, every_child_live)) == 2
    foreign = described("arr", command=[*SHELL, "echo not an array script"], size=2)
    assert candidates(foreign, WORKFLOW, every_child_live) == []


def test_an_array_child_described_by_itself_is_a_job_of_its_own():
    child = described("arr:1", status="RUNNING")
    child["arrayProperties"] = {"index": 1}
    assert [c.batch_id for c in candidates(child, WORKFLOW)] == ["arr:1"]
    assert candidates(child, WORKFLOW)[0].parent == "arr"
