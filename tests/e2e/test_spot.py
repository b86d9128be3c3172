"""The documented Spot fallback: a job interrupted on a Spot queue runs again on demand."""

from __future__ import annotations

import csv
import time
from typing import Any

import pytest

from .conftest import batch_client, sent

pytestmark = pytest.mark.e2e

SPOT_QUEUE = "snakemake-local-spot-queue"

# As in docs/further.md; the name suffix only lets the test interrupt the first attempt.
SNAKEFILE = """
def spot_then_on_demand(wildcards, attempt):
    return "{spot}" if attempt == 1 else "{on_demand}"

rule all:
    input: "calls/a.vcf", "calls/b.vcf"

rule call_variants:
    output: "calls/{{sample}}.vcf"
    resources:
        aws_batch_job_queue=spot_then_on_demand,
        aws_batch_job_name_suffix=lambda wildcards, attempt: f"attempt{{attempt}}",
    shell: "echo {{wildcards.sample}} > {{output}}"
"""


def spot_queue(local: Any) -> str:
    """A second queue on the endpoint's EC2 compute environment, standing for Spot."""
    batch = batch_client(local)
    if not batch.describe_job_queues(jobQueues=[SPOT_QUEUE])["jobQueues"]:
        [queue] = batch.describe_job_queues(jobQueues=[local.job_queue])["jobQueues"]
        batch.create_job_queue(
            jobQueueName=SPOT_QUEUE,
            state="ENABLED",
            priority=1,
            computeEnvironmentOrder=queue["computeEnvironmentOrder"],
        )
    return SPOT_QUEUE


def test_a_spot_interruption_falls_back_to_the_on_demand_queue(workflow: Any) -> None:
    flow = workflow("")
    (flow.path / "Snakefile").write_text(
        SNAKEFILE.format(spot=spot_queue(flow.local), on_demand=flow.local.job_queue)
    )
    flow.local.set_knobs(interrupt_jobs=["snakejob-call_variants-attempt1-*"])
    try:
        result = flow.run("--retries", "1")
    finally:
        flow.local.set_knobs(interrupt_jobs=[])
    assert result.returncode == 0, result.output[-5000:]
    for sample in "ab":
        assert flow.read(f"calls/{sample}.vcf").strip() == sample
    # Each job went to Spot first and was interrupted there, then ran on demand.
    assert "Host EC2 (instance i-" in result.output
    assert "The EC2 instance was reclaimed" in result.output  # the plugin's hint
    queues = sorted(
        (r["jobName"].split("-")[2], r["jobQueue"]) for r in sent(flow.local, "SubmitJob")
    )
    assert queues == [
        ("attempt1", SPOT_QUEUE),
        ("attempt1", SPOT_QUEUE),
        ("attempt2", flow.local.job_queue),
        ("attempt2", flow.local.job_queue),
    ]


TWO = """
rule all:
    input: "out/a.txt", "out/b.txt"

rule work:
    output: "out/{sample}.txt"
    shell: "echo {wildcards.sample} > {output}"
"""


def run_with_one_host_reclaimed(flow: Any, *args: str, arrays: bool) -> tuple[int, str, str]:
    """Run ``flow`` and reclaim the host of its first job (an array's first child) once;
    the run's exit code and output, and the reclaimed job's id."""
    flow.local.set_knobs(hold_jobs=True)
    process = flow.start(*args)
    try:
        deadline = time.monotonic() + 300
        while len(sent(flow.local, "SubmitJob")) < (1 if arrays else 2):
            assert process.poll() is None
            assert time.monotonic() < deadline
            time.sleep(0.2)
        time.sleep(1)  # the jobs are created
        batch = batch_client(flow.local)
        [first, *_] = sorted(  # an array's parent is PENDING while its children wait
            summary["jobId"]
            for status in ("PENDING", "RUNNABLE")
            for summary in batch.list_jobs(jobQueue=flow.local.job_queue, jobStatus=status)[
                "jobSummaryList"
            ]
        )
        reclaimed = f"{first}:0" if arrays else first
        flow.local.set_knobs(interrupt_jobs=[reclaimed], hold_jobs=False)
        output, _ = process.communicate(timeout=600)
    finally:
        flow.local.set_knobs(interrupt_jobs=[], hold_jobs=False)
        if process.poll() is None:
            process.kill()
    return process.returncode, output, reclaimed


def record_rows(flow: Any) -> list[dict[str, str]]:
    [folder] = (flow.path / ".snakemake" / "aws-batch").iterdir()
    with (folder / "jobs.tsv").open() as stream:
        return list(csv.DictReader(stream, delimiter="\t"))


@pytest.mark.parametrize("arrays", [False, True], ids=["one-job-per-submit", "arrays"])
def test_a_job_whose_host_is_reclaimed_is_submitted_again_without_a_retry_strategy(
    workflow: Any, arrays: bool
) -> None:
    flow = workflow(TWO)
    code, output, reclaimed = run_with_one_host_reclaimed(
        flow, "--aws-batch-array-min-size", "2" if arrays else "0", arrays=arrays
    )
    assert code == 0, output[-5000:]
    assert [flow.read(f"out/{s}.txt").strip() for s in "ab"] == ["a", "b"]
    requests = sent(flow.local, "SubmitJob")
    assert len(requests) == (2 if arrays else 3)
    assert "arrayProperties" not in requests[-1]  # a reclaimed child goes again alone
    assert f"AWS Batch job {reclaimed} (" in output
    assert "lost its EC2 host" in output
    rows = {row["batch_job_id"]: row for row in record_rows(flow)}
    assert rows[reclaimed]["status"] == "FAILED"
    assert rows[reclaimed]["status_reason"].startswith("Host EC2 (instance i-")
    [again] = [row for row in rows.values() if row["retry_of"] == reclaimed]
    assert again["status"] == "SUCCEEDED"
    assert again["wildcards"] == rows[reclaimed]["wildcards"]


def test_with_no_spot_retries_a_reclaimed_job_fails_and_says_how_to_retry(workflow: Any) -> None:
    flow = workflow(TWO)
    code, output, reclaimed = run_with_one_host_reclaimed(
        flow, "--aws-batch-array-min-size", "0", "--aws-batch-spot-retries", "0", arrays=False
    )
    assert code != 0
    assert len(sent(flow.local, "SubmitJob")) == 2
    assert f"AWS Batch job {reclaimed} (" in output
    assert "Retry it with --aws-batch-spot-retries" in output
    assert [row["retry_of"] for row in record_rows(flow)] == ["", ""]
