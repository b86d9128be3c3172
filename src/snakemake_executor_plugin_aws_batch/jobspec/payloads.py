"""AWS Batch requests as plain dicts with boto3's key names. Pure functions."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from snakemake_interface_common.exceptions import WorkflowError

from . import names
from .container import definition_fields
from .platform import Platform
from .spec import DefinitionSpec, JobSpec

# ECS refuses containerOverrides longer than this; SubmitJob payloads over 30 KiB.
MAX_CONTAINER_OVERRIDES = 8192
MAX_SUBMIT_PAYLOAD = 30 * 1024
SHELL = ("/bin/sh", "-c")
# Placeholders for the definition: every job overrides them.
_DEFAULT_REQUIREMENTS = {
    Platform.EC2: [{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "1024"}],
    Platform.FARGATE: [{"type": "VCPU", "value": "0.25"}, {"type": "MEMORY", "value": "512"}],
}


def job_definition(spec: DefinitionSpec) -> dict[str, Any]:
    """RegisterJobDefinition's request; its name is a hash of the rest of it."""
    container: dict[str, Any] = {
        "image": spec.image,
        "command": [*SHELL, "echo 'This definition is run with a command override.'"],
        "resourceRequirements": _DEFAULT_REQUIREMENTS[spec.platform],
    }
    if spec.job_role:
        container["jobRoleArn"] = spec.job_role
    if spec.execution_role:
        container["executionRoleArn"] = spec.execution_role
    if spec.secrets:
        container["secrets"] = [{"name": n, "valueFrom": v} for n, v in spec.secrets]
    container.update(definition_fields(spec.options, spec.platform))
    if spec.platform is Platform.FARGATE:
        container["networkConfiguration"] = {
            "assignPublicIp": "ENABLED" if spec.assign_public_ip else "DISABLED"
        }
        if spec.ephemeral_storage_gib is not None:
            container["ephemeralStorage"] = {"sizeInGiB": spec.ephemeral_storage_gib}
    content: dict[str, Any] = {
        "type": "container",
        "platformCapabilities": [spec.platform.value],
        "containerProperties": container,
    }
    return {"jobDefinitionName": names.definition_name(content), **content}


def submit_job(
    spec: JobSpec,
    *,
    job_definition: str,
    command: str,
    environment: Mapping[str, str],
    array_size: int | None = None,
) -> dict[str, Any]:
    """SubmitJob's request for one job, or for an array job of ``array_size`` children."""
    overrides: dict[str, Any] = {
        "command": [*SHELL, command],
        "resourceRequirements": spec.resources.requirements(),
    }
    if environment:
        overrides["environment"] = [{"name": k, "value": v} for k, v in environment.items()]
    request: dict[str, Any] = {
        "jobName": spec.name,
        "jobQueue": spec.queue,
        "jobDefinition": job_definition,
        "containerOverrides": overrides,
        "timeout": {"attemptDurationSeconds": spec.timeout},
    }
    if array_size is not None:
        request["arrayProperties"] = {"size": array_size}
    if spec.retry_strategy:
        request["retryStrategy"] = dict(spec.retry_strategy)
    if spec.tags:
        request["tags"] = dict(spec.tags)
        request["propagateTags"] = True
    if spec.scheduling_priority is not None:
        request["schedulingPriorityOverride"] = spec.scheduling_priority
    if spec.share_identifier is not None:
        request["shareIdentifier"] = spec.share_identifier
    if spec.consumable_resources:
        request["consumableResourcePropertiesOverride"] = {
            "consumableResourceList": list(spec.consumable_resources)
        }
    return request


def with_environment(request: Mapping[str, Any], variables: Mapping[str, str]) -> dict[str, Any]:
    """A copy of a SubmitJob request with ``variables`` added to its environment."""
    overrides = dict(request["containerOverrides"])
    overrides["environment"] = [
        *overrides.get("environment", []),
        *({"name": k, "value": v} for k, v in variables.items()),
    ]
    return {**request, "containerOverrides": overrides}


def check_size(rule: str, request: Mapping[str, Any]) -> None:
    """Refuse, before it is sent, what AWS would refuse for its size."""
    overrides = len(json.dumps(request["containerOverrides"], separators=(",", ":")))
    if overrides > MAX_CONTAINER_OVERRIDES:
        raise WorkflowError(
            f"Rule {rule!r}: the job's command and environment take {overrides} characters, "
            f"more than the {MAX_CONTAINER_OVERRIDES} AWS Batch accepts in containerOverrides. "
            "Pass fewer or shorter --envvars, or shorten the rule's command line "
            "(e.g. fewer --set-resources/--config values)."
        )
    payload = len(json.dumps(request, separators=(",", ":")).encode())
    if payload > MAX_SUBMIT_PAYLOAD:
        raise WorkflowError(
            f"Rule {rule!r}: the SubmitJob request is {payload} bytes, more than the "
            f"{MAX_SUBMIT_PAYLOAD} AWS Batch accepts. Use fewer tags or a shorter command."
        )
