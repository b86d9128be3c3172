"""Mistakes a new user makes, refused by ``snakemake`` when the workflow starts.

Each is refused before anything is submitted, without a traceback, with a message that
names the rule or the setting and what to write instead.
"""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import sent

pytestmark = pytest.mark.e2e

SNAKEFILE = """
rule all:
    input: "a.txt", "b.txt"

rule first:
    output: "a.txt"
    shell: "echo a > {{output}}"

rule second:
    output: "b.txt"
    resources: {resource}
    shell: "echo b > {{output}}"
"""

CASES = [
    pytest.param(
        "aws_batch_vcpus=4",
        (),
        ["Rule 'second' sets the resource aws_batch_vcpus", "Did you mean aws_batch_vcpu?"],
        id="misspelled-vcpu",
    ),
    pytest.param(
        'aws_batch_queue="special"',
        (),
        ["resource aws_batch_queue", "Did you mean aws_batch_job_queue?"],
        id="misspelled-queue",
    ),
    pytest.param(
        "aws_batch_memory=4096",
        (),
        ["resource aws_batch_memory", "Did you mean aws_batch_mem_mb?"],
        id="misspelled-memory",
    ),
    pytest.param(
        "aws_batch_retry='{\"attempts\": 3}'",
        (),
        ["resource aws_batch_retry", "Did you mean aws_batch_retry_strategy?"],
        id="misspelled-retry",
    ),
    pytest.param(
        "aws_batch_mem_mb=512",
        (),
        ["rule 'second', resource aws_batch_mem_mb: 512", "at least 1024 MiB"],
        id="memory-alone-ec2",
    ),
    pytest.param(
        'aws_batch_mem_mb=200000, aws_batch_job_queue="FARGATE_QUEUE"',
        (),
        ["rule 'second', resource aws_batch_mem_mb: 200000", "Fargate allows"],
        id="memory-alone-fargate",
    ),
    pytest.param(
        "runtime=0",
        (),
        ["rule 'second', resource runtime: 0"],
        id="runtime-below-a-minute",
    ),
    pytest.param(
        'aws_batch_job_queue="special-queue"',
        (),
        [
            "Rule 'second', resource aws_batch_job_queue: ",
            "'special-queue' does not exist in this account in region us-east-1",
        ],
        id="missing-queue",
    ),
    pytest.param(
        "mem_mb=1024",
        ("--aws-batch-job-definition", "nope:3"),
        [
            "Setting --aws-batch-job-definition (SNAKEMAKE_AWS_BATCH_JOB_DEFINITION): ",
            "no ACTIVE job definition 'nope:3'",
        ],
        id="missing-job-definition-setting",
    ),
    pytest.param(
        'aws_batch_job_definition="nope"',
        (),
        ["Rule 'second', resource aws_batch_job_definition: ", "no ACTIVE job definition 'nope'"],
        id="missing-job-definition-rule",
    ),
    pytest.param(
        "mem_mb=1024",
        ("--aws-batch-submit-rate", "0"),
        [
            "setting --aws-batch-submit-rate (SNAKEMAKE_AWS_BATCH_SUBMIT_RATE): 0.0",
            "positive number",
        ],
        id="submit-rate-0",
    ),
    pytest.param(
        "mem_mb=1024",
        ("--aws-batch-runnable-warning", "-1"),
        [
            "setting --aws-batch-runnable-warning (SNAKEMAKE_AWS_BATCH_RUNNABLE_WARNING): -1",
            "at least 1",
        ],
        id="runnable-warning-negative",
    ),
    pytest.param(
        "mem_mb=1024",
        ("--aws-batch-missing-job-grace", "0"),
        [
            "setting --aws-batch-missing-job-grace (SNAKEMAKE_AWS_BATCH_MISSING_JOB_GRACE): 0",
            "at least 10",
        ],
        id="missing-job-grace-0",
    ),
]


@pytest.mark.parametrize(("resource", "extra", "expected"), CASES)
def test_refused_at_start_with_nothing_submitted(
    workflow: Any, local: Any, resource: str, extra: tuple[str, ...], expected: list[str]
) -> None:
    resource = resource.replace("FARGATE_QUEUE", local.fargate_job_queue)
    flow = workflow(SNAKEFILE.format(resource=resource))
    flow.run(*extra).assert_refused(flow.local, expected)


def test_local_rules_are_not_checked_against_the_queue(workflow: Any) -> None:
    # `all` and a localrule never reach AWS Batch: their resources are Snakemake's own.
    flow = workflow(
        """
        localrules: all, gather
        rule all:
            input: "gathered.txt"
        rule gather:
            input: "b.txt"
            output: "gathered.txt"
            resources: aws_batch_mem_mb=512
            shell: "cp {input} {output}"
        rule second:
            output: "b.txt"
            shell: "echo b > {output}"
        """
    )
    result = flow.run()
    assert result.returncode == 0, result.output[-3000:]
    assert flow.read("gathered.txt") == "b\n"
    assert len(sent(flow.local, "SubmitJob")) == 1
