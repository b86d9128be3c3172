"""The documented Spot fallback: a job interrupted on a Spot queue runs again on demand."""

from __future__ import annotations

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
