"""Resume through the real ``snakemake`` command line: the driver is killed with SIGKILL
while its jobs are live on the local endpoint, and a restarted run takes them over."""

from __future__ import annotations

import csv
import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from snakemake_executor_plugin_aws_batch.resume.takeover import STALE_REASON

from ..conftest import client
from .conftest import Workflow, batch_client, sent

pytestmark = pytest.mark.e2e
LIVE = ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING")
# More than one source file: Snakemake's source archive, named by its checksum, lists
# them in another order in each run.
WORKFLOW = """
include: "rules/work.smk"
configfile: "config.yaml"

rule all:
    input: expand("out/{{i}}.txt", i=range({jobs}))
"""
RULES = """
rule work:
    output: "out/{i}.txt"
    shell: "echo {wildcards.i} > {output}"
"""
FIFTY = WORKFLOW.format(jobs=50)
TEN = WORKFLOW.format(jobs=10)


def with_sources(flow: Workflow) -> Workflow:
    (flow.path / "rules").mkdir()
    (flow.path / "rules" / "work.smk").write_text(RULES)
    (flow.path / "config.yaml").write_text("samples: 50\n")
    return flow


SINGLES = ("--jobs", "50", "--aws-batch-array-min-size", "0")
ARRAYS = ("--jobs", "50", "--aws-batch-array-min-size", "10")


def jobs_in(flow: Workflow, states: tuple[str, ...]) -> list[str]:
    """The ids of the jobs (an array's parent for its children) in ``states``."""
    batch = batch_client(flow.local)
    return [
        summary["jobId"]
        for queue in (flow.local.job_queue, flow.local.fargate_job_queue)
        for state in states
        for summary in batch.list_jobs(jobQueue=queue, jobStatus=state)["jobSummaryList"]
    ]


def killed_while_held(flow: Workflow, *args: str, submits: int) -> None:
    """Run ``flow`` with its jobs held in RUNNABLE until ``submits`` SubmitJob requests were
    accepted, then SIGKILL its driver (the jobs live on, still held)."""
    flow.local.set_knobs(hold_jobs=True)
    process = flow.start(*args)
    try:
        deadline = time.monotonic() + 300
        while len(sent(flow.local, "SubmitJob")) < submits:
            assert process.poll() is None, process.communicate()[0][-3000:]
            assert time.monotonic() < deadline
            time.sleep(0.2)
        time.sleep(1)  # the last answers reach the driver
        os.killpg(process.pid, signal.SIGKILL)  # the driver alone: the jobs live on
        process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == -signal.SIGKILL


@contextmanager
def released_once_looked_for(flow: Workflow) -> Iterator[None]:
    """Release the held jobs once a restarted run has listed the queues' jobs (so that it
    finds them live), a few seconds later."""
    flow.local.reset_calls()  # the test's own look at the jobs
    done = threading.Event()

    def release() -> None:
        deadline = time.monotonic() + 300
        while not flow.local.calls().get("ListJobs") and time.monotonic() < deadline:
            if done.wait(0.2):
                break
        done.wait(3)
        flow.local.set_knobs(hold_jobs=False)

    releaser = threading.Thread(target=release, daemon=True)
    releaser.start()
    try:
        yield
    finally:
        done.set()
        releaser.join()


def restart(flow: Workflow, *args: str) -> Any:
    """Snakemake's way back after its driver died: unlock, then rerun the incomplete."""
    unlocked = flow.run("--unlock")
    assert unlocked.returncode == 0, unlocked.output[-3000:]
    flow.local.reset_calls()
    return flow.run("--rerun-incomplete", *args)


def the_record(flow: Workflow) -> Path:
    """The run record of the latest run."""
    folders = sorted((flow.path / ".snakemake" / "aws-batch").iterdir())
    return folders[-1]


def adopted_column(folder: Path) -> list[str]:
    with (folder / "jobs.tsv").open() as stream:
        return [row["adopted"] for row in csv.DictReader(stream, delimiter="\t")]


def said_about_resuming(output: str) -> list[str]:
    return [line.strip() for line in output.splitlines() if line.strip().startswith("Resum")]


def assert_every_output(flow: Workflow, jobs: int) -> None:
    for i in range(jobs):
        assert flow.read(f"out/{i}.txt").strip() == str(i)


def outputs_written_at(flow: Workflow) -> dict[str, Any]:
    """When each output was last written, by its key in the bucket."""
    bucket, _, base = flow.prefix.removeprefix("s3://").partition("/")
    listed = client(flow.local, "s3").list_objects_v2(Bucket=bucket, Prefix=f"{base}/out/")
    return {item["Key"]: item["LastModified"] for item in listed.get("Contents", [])}


@pytest.mark.parametrize(
    "args", [pytest.param(SINGLES, id="one-job-per-submit"), pytest.param(ARRAYS, id="arrays")]
)
def test_a_restart_after_the_driver_is_killed_adopts_every_live_job(
    workflow: Any, args: tuple[str, ...]
) -> None:
    flow = with_sources(workflow(FIFTY))
    killed_while_held(flow, *args, submits=50 if args == SINGLES else 1)
    assert len(jobs_in(flow, LIVE)) == (50 if args == SINGLES else 1)
    with released_once_looked_for(flow):
        result = restart(flow, *args)
    assert result.returncode == 0, result.output[-5000:]
    assert_every_output(flow, 50)
    said = [line for line in result.output.splitlines() if "adopt" in line.lower()]
    assert sent(flow.local, "SubmitJob") == [], said  # every job was live at the kill
    assert said_about_resuming(result.output) == [
        "Resuming: 50 AWS Batch jobs of an earlier run of this workflow (50 RUNNABLE). A job "
        "of this run that matches one takes it over instead of being submitted again.",
        "Resumed an earlier run of this workflow: 50 AWS Batch jobs adopted, 0 cancelled.",
    ]
    assert jobs_in(flow, LIVE) == []
    record = the_record(flow)
    assert adopted_column(record) == ["RUNNABLE"] * 50
    summary = json.loads((record / "summary.json").read_text())
    assert summary["resume"] == {"found": 50, "adopted": 50, "cancelled": 0, "left_running": 0}


def test_jobs_that_finished_while_the_driver_was_down_are_used_not_run_again(
    workflow: Any,
) -> None:
    flow = with_sources(workflow(TEN))
    killed_while_held(flow, *SINGLES, submits=10)
    flow.local.set_knobs(hold_jobs=False)
    deadline = time.monotonic() + 600
    while len(written := outputs_written_at(flow)) < 10 or jobs_in(flow, LIVE):
        assert time.monotonic() < deadline
        time.sleep(0.5)
    result = restart(flow, *SINGLES)
    assert result.returncode == 0, result.output[-5000:]
    assert_every_output(flow, 10)
    said = [line for line in result.output.splitlines() if "adopt" in line.lower()]
    assert sent(flow.local, "SubmitJob") == [], said
    assert outputs_written_at(flow) == written  # not computed again
    assert "Resumed an earlier run of this workflow: 10 AWS Batch jobs adopted" in result.output
    assert adopted_column(the_record(flow)) == ["SUCCEEDED"] * 10


CHANGED = """
rule all:
    input: expand("out/{{i}}.txt", i=range(4))

rule work:
    output: "out/{{i}}.txt"
    resources: mem_mb={mem_mb}
    shell: "echo {{wildcards.i}} > {{output}}"
"""


def test_a_changed_job_and_an_unreadable_record_are_never_adopted_and_nothing_is_lost(
    workflow: Any,
) -> None:
    flow = workflow(CHANGED.format(mem_mb=1024))
    killed_while_held(flow, *SINGLES, submits=4)
    earlier = jobs_in(flow, LIVE)
    assert len(earlier) == 4
    killed_record = the_record(flow)
    (killed_record / "run.json").write_text('{"workflow": "trunc')  # a truncated run file
    (flow.path / "Snakefile").write_text(CHANGED.format(mem_mb=2048))  # each job changed
    with released_once_looked_for(flow):
        result = restart(flow, *SINGLES)
    assert result.returncode == 0, result.output[-5000:]
    assert_every_output(flow, 4)
    assert (
        f"The run record {killed_record} cannot be read (run.json: JSONDecodeError): "
        "not used to resume." in result.output
    )
    said = [line for line in result.output.splitlines() if "adopt" in line.lower()]
    assert result.output.count("of an earlier run runs with another request or code") == 4, said
    requests = sent(flow.local, "SubmitJob")
    assert len(requests) == 4  # every job submitted anew, with its new memory
    stopped = batch_client(flow.local).describe_jobs(jobs=earlier)["jobs"]
    memory = {
        r["value"]
        for job in stopped
        for r in job["container"]["resourceRequirements"]
        if r["type"] == "MEMORY"
    }
    assert memory.isdisjoint(  # the new ones ask for more
        r["value"]
        for request in requests
        for r in request["containerOverrides"]["resourceRequirements"]
        if r["type"] == "MEMORY"
    )
    assert {job["status"] for job in stopped} == {"FAILED"}
    assert {job["statusReason"] for job in stopped} == {STALE_REASON}
    assert jobs_in(flow, LIVE) == []
    summary = json.loads((the_record(flow) / "summary.json").read_text())
    assert summary["resume"] == {"found": 4, "adopted": 0, "cancelled": 4, "left_running": 0}
