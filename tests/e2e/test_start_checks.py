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
        "mem_mb=1024",
        ("--aws-batch-submit-rate", "0"),
        ["setting --aws-batch-submit-rate: 0.0", "positive number"],
        id="submit-rate-0",
    ),
    pytest.param(
        "mem_mb=1024",
        ("--aws-batch-runnable-warning", "-1"),
        ["setting --aws-batch-runnable-warning: -1", "at least 1"],
        id="runnable-warning-negative",
    ),
    pytest.param(
        "mem_mb=1024",
        ("--aws-batch-missing-job-grace", "0"),
        ["setting --aws-batch-missing-job-grace: 0", "at least 10"],
        id="missing-job-grace-0",
    ),
]


@pytest.mark.parametrize(("resource", "extra", "expected"), CASES)
def test_refused_at_start_with_nothing_submitted(
    workflow: Any, resource: str, extra: tuple[str, ...], expected: list[str]
) -> None:
    flow = workflow(SNAKEFILE.format(resource=resource))
    result = flow.run(*extra)
    assert result.returncode != 0
    for text in expected:
        assert text in result.output, result.output[-3000:]
    assert "Traceback" not in result.output
    assert sent(flow.local, "SubmitJob") == []
