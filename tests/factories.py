"""Values the tests build again and again: job specs, job records, the guide's examples."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from snakemake_executor_plugin_aws_batch.jobspec.platform import Platform, Resources
from snakemake_executor_plugin_aws_batch.jobspec.spec import JobSpec
from snakemake_executor_plugin_aws_batch.tracking.jobs import JobRecord

# The user guide's conditional retry strategy.
GUIDE_CONDITIONAL_RETRY: dict[str, Any] = {
    "attempts": 5,
    "evaluateOnExit": [
        {"action": "RETRY", "onExitCode": "137"},
        {"action": "RETRY", "onStatusReason": "Host EC2*"},
        {"action": "RETRY", "onReason": "*timeout*"},
        {"action": "EXIT", "onExitCode": "0"},
    ],
}


def job_spec(**changes: Any) -> JobSpec:
    """A job spec of rule ``r`` on queue ``q`` with an existing definition ``def``."""
    values: dict[str, Any] = {
        "rule": "r",
        "name": "snakejob-r-1",
        "queue": "q",
        "platform": Platform.EC2,
        "resources": Resources(Fraction(1), 1024, 0),
        "definition": "def",
        "timeout": 300,
        "retry_strategy": None,
        "tags": {},
        "scheduling_priority": None,
        "share_identifier": None,
        "consumable_resources": None,
    }
    values.update(changes)
    return JobSpec(**values)


def record(name: str = "n", queue: str = "q", **fields: Any) -> JobRecord:
    """A job record of rule ``r`` asking for 1 vCPU and 1024 MiB, unless told otherwise."""
    resources = fields.pop("resources", Resources(Fraction(1), 1024, 0))
    return JobRecord(name, "r", queue, resources, **fields)
