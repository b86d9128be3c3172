"""What a job queue's description says: its platform, its size and its CPU architectures."""

from __future__ import annotations

from typing import Any

import pytest

from snakemake_executor_plugin_aws_batch.aws.queues import queue_facts
from snakemake_executor_plugin_aws_batch.jobspec.platform import Platform

QUEUE = {"jobQueueName": "q", "state": "ENABLED", "status": "VALID"}


def environment(kind: str = "EC2", instance_types: Any = None, **resources: Any) -> dict:
    """A compute environment's description; unmanaged when ``kind`` is None."""
    described: dict[str, Any] = {"computeEnvironmentName": "ce", "state": "ENABLED"}
    if kind is None:
        described["type"] = "UNMANAGED"
        return described
    compute: dict[str, Any] = {"type": kind, "maxvCpus": 16, **resources}
    if instance_types is not None:
        compute["instanceTypes"] = instance_types
    described["type"] = "MANAGED"
    described["computeResources"] = compute
    return described


@pytest.mark.parametrize(
    ("environments", "expected"),
    [
        ([environment(instance_types=["optimal"])], {"X86_64"}),
        ([environment(instance_types=["m7g.large", "c7g"])], {"ARM64"}),
        ([environment(instance_types=["m5", "m7g"])], {"ARM64", "X86_64"}),
        (
            [environment(instance_types=["c6gn"]), environment(instance_types=["default_x86_64"])],
            {"ARM64", "X86_64"},
        ),
        (
            [environment("SPOT", ["r6gd.xlarge"]), environment(instance_types=["t4g.micro"])],
            {"ARM64"},
        ),
    ],
)
def test_architectures_are_the_union_over_the_compute_environments(environments, expected):
    facts = queue_facts("q", QUEUE, environments)
    assert facts.architectures == frozenset(expected)
    assert facts.platform is Platform.EC2


@pytest.mark.parametrize(
    "environments",
    [
        [],
        [environment(None)],
        [environment(instance_types=["m7g"]), environment(None)],
        [environment(instance_types=["m7g"]), environment(instance_types=[])],
        [environment(instance_types=["m7g"]), environment()],
        [environment("FARGATE")],
        [environment("FARGATE_SPOT"), environment("FARGATE")],
    ],
    ids=[
        "no-environments",
        "unmanaged",
        "one-unmanaged",
        "empty-types",
        "no-types",
        "fargate",
        "fargate-spot",
    ],
)
def test_architectures_are_unknown_when_an_environment_does_not_list_its_types(environments):
    assert queue_facts("q", QUEUE, environments).architectures is None


def test_the_other_facts_are_as_before():
    facts = queue_facts(
        "q",
        QUEUE,
        [environment(instance_types=["m7g"]), environment(instance_types=["c5"], maxvCpus=64)],
    )
    assert facts.usable
    assert facts.max_vcpus == 64
    assert facts.unusable_environments == ()
    fargate = queue_facts("q", QUEUE, [environment("FARGATE")])
    assert fargate.platform is Platform.FARGATE
    assert fargate.max_vcpus == 16
