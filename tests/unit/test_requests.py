"""RegisterJobDefinition and SubmitJob request bodies."""

from __future__ import annotations

from fractions import Fraction

import pytest
from snakemake_interface_common.exceptions import WorkflowError

from snakemake_executor_plugin_aws_batch import requests
from snakemake_executor_plugin_aws_batch.platform import Platform, Resources
from snakemake_executor_plugin_aws_batch.spec import DefinitionSpec, JobSpec

SECRET = "arn:aws:secretsmanager:us-west-2:123456789012:secret:api"


def definition(platform=Platform.EC2, **changes) -> DefinitionSpec:
    values = {
        "image": "img:1",
        "platform": platform,
        "job_role": "arn:aws:iam::1:role/job",
        "execution_role": "arn:aws:iam::1:role/exec",
        "secrets": (("API_KEY", SECRET),),
        "assign_public_ip": False,
        "ephemeral_storage_gib": None,
    }
    values.update(changes)
    return DefinitionSpec(**values)


def job(**changes) -> JobSpec:
    values = {
        "rule": "r",
        "name": "snakejob-r-1",
        "queue": "q",
        "platform": Platform.EC2,
        "resources": Resources(Fraction(2), 4096, 0),
        "definition": "def",
        "timeout": 600,
        "retry_strategy": None,
        "tags": {},
        "scheduling_priority": None,
        "share_identifier": None,
        "consumable_resources": None,
    }
    values.update(changes)
    return JobSpec(**values)


def test_ec2_definition_shape():
    body = requests.job_definition(definition())
    assert body["type"] == "container"
    assert body["platformCapabilities"] == ["EC2"]
    container = body["containerProperties"]
    assert container["image"] == "img:1"
    assert container["jobRoleArn"] == "arn:aws:iam::1:role/job"
    assert container["executionRoleArn"] == "arn:aws:iam::1:role/exec"
    assert container["command"][:2] == ["/bin/sh", "-c"]
    assert {r["type"] for r in container["resourceRequirements"]} == {"VCPU", "MEMORY"}
    assert "fargatePlatformConfiguration" not in container
    assert "networkConfiguration" not in container
    assert "ephemeralStorage" not in container


def test_fargate_definition_shape():
    body = requests.job_definition(
        definition(Platform.FARGATE, assign_public_ip=True, ephemeral_storage_gib=50)
    )
    assert body["platformCapabilities"] == ["FARGATE"]
    container = body["containerProperties"]
    assert container["fargatePlatformConfiguration"] == {"platformVersion": "LATEST"}
    assert container["networkConfiguration"] == {"assignPublicIp": "ENABLED"}
    assert container["ephemeralStorage"] == {"sizeInGiB": 50}
    assert container["resourceRequirements"] == [
        {"type": "VCPU", "value": "0.25"},
        {"type": "MEMORY", "value": "512"},
    ]


def test_fargate_definition_private_ip_by_default():
    body = requests.job_definition(definition(Platform.FARGATE))
    assert body["containerProperties"]["networkConfiguration"] == {"assignPublicIp": "DISABLED"}
    assert "ephemeralStorage" not in body["containerProperties"]


def test_secrets_are_references_only():
    container = requests.job_definition(definition())["containerProperties"]
    assert container["secrets"] == [{"name": "API_KEY", "valueFrom": SECRET}]
    assert "environment" not in container


def test_no_roles_or_secrets_leave_keys_out():
    container = requests.job_definition(definition(job_role=None, execution_role=None, secrets=()))[
        "containerProperties"
    ]
    assert "jobRoleArn" not in container
    assert "executionRoleArn" not in container
    assert "secrets" not in container


def test_definition_name_is_stable_and_content_dependent():
    a = requests.job_definition(definition())
    b = requests.job_definition(definition())
    c = requests.job_definition(definition(image="img:2"))
    assert a["jobDefinitionName"] == b["jobDefinitionName"]
    assert a["jobDefinitionName"] != c["jobDefinitionName"]
    assert a["jobDefinitionName"].startswith("snakemake-")


def test_minimal_submit_job():
    body = requests.submit_job(job(), job_definition="def:1", command="echo hi", environment={})
    assert body == {
        "jobName": "snakejob-r-1",
        "jobQueue": "q",
        "jobDefinition": "def:1",
        "containerOverrides": {
            "command": ["/bin/sh", "-c", "echo hi"],
            "resourceRequirements": [
                {"type": "VCPU", "value": "2"},
                {"type": "MEMORY", "value": "4096"},
            ],
        },
        "timeout": {"attemptDurationSeconds": 600},
    }


def test_full_submit_job():
    spec = job(
        resources=Resources(Fraction(1, 2), 1024, 1),
        retry_strategy={"attempts": 3},
        tags={"team": "g"},
        scheduling_priority=0,
        share_identifier="teamA",
        consumable_resources=[{"consumableResource": "lic", "quantity": 2}],
    )
    body = requests.submit_job(
        spec, job_definition="def:1", command="run", environment={"A": "1", "B": "2"}
    )
    overrides = body["containerOverrides"]
    assert overrides["resourceRequirements"] == [
        {"type": "VCPU", "value": "0.5"},
        {"type": "MEMORY", "value": "1024"},
        {"type": "GPU", "value": "1"},
    ]
    assert all(isinstance(r["value"], str) for r in overrides["resourceRequirements"])
    assert overrides["environment"] == [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]
    assert body["retryStrategy"] == {"attempts": 3}
    assert body["tags"] == {"team": "g"}
    assert body["propagateTags"] is True
    assert body["schedulingPriorityOverride"] == 0
    assert body["shareIdentifier"] == "teamA"
    assert body["consumableResourcePropertiesOverride"] == {
        "consumableResourceList": [{"consumableResource": "lic", "quantity": 2}]
    }


def test_long_command_is_error_naming_rule_and_limit():
    with pytest.raises(WorkflowError) as info:
        requests.submit_job(job(), job_definition="d", command="x" * 9000, environment={})
    message = str(info.value)
    assert "'r'" in message
    assert "8192" in message


def test_check_size_on_plain_request():
    request = {"containerOverrides": {"command": ["/bin/sh", "-c", "x" * 9000]}}
    with pytest.raises(WorkflowError, match="8192"):
        requests.check_size("r", request)
    requests.check_size("r", {"containerOverrides": {"command": ["/bin/sh", "-c", "x" * 100]}})


def test_payload_too_large_is_error():
    tags = {f"k{i}": "v" * 256 for i in range(150)}
    with pytest.raises(WorkflowError, match="30720"):
        requests.submit_job(job(tags=tags), job_definition="d", command="x", environment={})
