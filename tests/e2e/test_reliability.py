"""Guarantees under faults: throttling storms, outages, vanished jobs, failures."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import pytest

from snakemake_executor_plugin_aws_batch.aws.service import STATUS_PATIENCE

from .conftest import calls, jobs_named, sent

pytestmark = pytest.mark.e2e

MANY = """
rule all:
    input: expand("many/{i}.txt", i=range(%d))

rule many:
    output: "many/{i}.txt"
    shell: "echo {wildcards.i} > {output}"
"""


def test_throttling_storm_submits_every_job_exactly_once(workflow: Any) -> None:
    flow = workflow(MANY % 50)
    flow.local.set_knobs(throttle_rate=0.3, server_error_rate=0.05, ambiguous_rate=0.05)
    try:
        result = flow.run("--jobs", "50", "--aws-batch-array-min-size", "0", timeout=900)
    finally:
        flow.local.set_knobs(throttle_rate=0.0, server_error_rate=0.0, ambiguous_rate=0.0)
    assert result.returncode == 0, result.output[-5000:]
    jobs = jobs_named(flow.local, "snakejob-many-")
    names = Counter(job["jobName"] for job in jobs)
    assert len(names) == 50
    assert set(names.values()) == {1}, [name for name, count in names.items() if count > 1]
    assert calls(flow.local).get("SubmitJob", 0) >= 50
    assert "Traceback" not in result.output


OUTAGE_SECONDS = STATUS_PATIENCE + 10


def test_outage_is_waited_out_with_one_warning(workflow: Any) -> None:
    flow = workflow(MANY % 4)
    flow.local.set_knobs(hold_jobs=True)  # the jobs themselves would need S3 during the outage
    process = flow.start("--jobs", "4")
    try:
        deadline = time.monotonic() + 120
        while calls(flow.local).get("SubmitJob", 0) < 4 and time.monotonic() < deadline:
            time.sleep(0.5)
        # Longer than a status round's patience (STATUS_PATIENCE): rounds fail in a row.
        flow.local.set_knobs(outage_seconds=OUTAGE_SECONDS)
        time.sleep(OUTAGE_SECONDS + 2)
        flow.local.set_knobs(hold_jobs=False)
        output, _ = process.communicate(timeout=600)
    finally:
        flow.local.set_knobs(hold_jobs=False)
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, output[-5000:]
    assert output.count("Retrying with back-off") == 1, output[-5000:]
    assert "AWS Batch API answers normally again" in output
    assert "Traceback" not in output


def test_vanished_job_is_reported_after_grace(workflow: Any) -> None:
    flow = workflow(
        """
        rule ghost:
            output: "ghost.txt"
            shell: "sleep 20; touch {output}"
        """
    )
    process = flow.start("--aws-batch-missing-job-grace", "10")
    try:
        deadline = time.monotonic() + 60
        while not sent(flow.local, "SubmitJob") and time.monotonic() < deadline:
            time.sleep(0.3)
        [job] = jobs_named(flow.local, "snakejob-ghost-")
        flow.local.set_knobs(forget_jobs=[job["jobId"]])
        output, _ = process.communicate(timeout=120)
    finally:
        flow.local.set_knobs(forget_jobs=[])
        if process.poll() is None:
            process.kill()
    assert process.returncode != 0
    assert f"AWS Batch no longer knows job {job['jobId']}" in output


def test_out_of_memory_exit_code_gets_its_hint(workflow: Any) -> None:
    flow = workflow(
        """
        rule oom:
            output: "oom.txt"
            # What the kernel's OOM killer does: SIGKILL for every process of the container.
            shell: "kill -KILL 0"
        """
    )
    result = flow.run()
    assert result.returncode != 0
    assert "Exit code: 137" in result.output
    assert "aws_batch_mem_mb" in result.output


def test_snakemake_retries_submit_a_new_job(workflow: Any) -> None:
    flow = workflow(
        """
        rule twice:
            output: "twice.txt"
            resources: aws_batch_mem_mb=lambda wildcards, attempt: 1024 * attempt
            shell: "exit 5"
        """
    )
    result = flow.run("--retries", "1")
    assert result.returncode != 0
    memory = [
        {r["type"]: r["value"] for r in request["containerOverrides"]["resourceRequirements"]}[
            "MEMORY"
        ]
        for request in sent(flow.local, "SubmitJob")
    ]
    assert memory == ["1024", "2048"]
