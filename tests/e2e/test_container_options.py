"""Container options through the real ``snakemake`` command line on the local endpoint:
what the registered job definitions hold, and what is refused before anything runs."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ..conftest import client
from .conftest import batch_client, sent

pytestmark = pytest.mark.e2e

EFS = {
    "fileSystemId": "fs-0123456789abcdef0",
    "accessPointId": "fsap-0123456789abcdef0",
    "transitEncryption": True,
    "iam": True,
}
GLOBAL_VOLUMES = [
    {"name": "refs", "containerPath": "/refs", "readOnly": True, "efs": {**EFS, "iam": False}},
    {"name": "shared", "containerPath": "/shared", "efs": {"fileSystemId": EFS["fileSystemId"]}},
]
RULE_VOLUMES = [
    # Replaces the setting's "refs" entry; "shared" stays.
    {"name": "refs", "containerPath": "/refs", "readOnly": True, "efs": EFS},
    {"name": "scratch", "containerPath": "/scratch", "hostPath": "/tmp"},
]
LOG_GROUP = "/snakemake/container-options"

EVERY_OPTION = """
import json

rule all:
    input: "ec2.txt", "fargate.txt", "plain.txt"

rule ec2:
    output: "ec2.txt"
    resources:
        aws_batch_shared_memory_mb=2048,
        aws_batch_ulimits=json.dumps([{{"name": "nofile", "softLimit": 4096, "hardLimit": 8192}}]),
        aws_batch_privileged=True,
        aws_batch_volumes={rule_volumes!r},
    shell: "echo ec2 > {{output}}"

rule fargate:
    output: "fargate.txt"
    resources:
        aws_batch_job_queue="{fargate_queue}",
        aws_batch_cpu_architecture="ARM64",
        aws_batch_vcpu="0.5",
        aws_batch_mem_mb=1024,
    shell: "echo fargate > {{output}}"

rule plain:
    output: "plain.txt"
    resources:
        shared_memory_size_mb=512,
    shell: "echo plain > {{output}}"
"""


def definitions_used(local: Any) -> dict[str, dict[str, Any]]:
    """The job definition of each rule's job, as AWS Batch describes it."""
    batch = batch_client(local)
    found = {}
    for request in sent(local, "SubmitJob"):
        rule = request["jobName"].split("-")[1]
        [definition] = batch.describe_job_definitions(jobDefinitions=[request["jobDefinition"]])[
            "jobDefinitions"
        ]
        found[rule] = definition["containerProperties"]
    return found


def test_every_option_reaches_the_registered_job_definitions(workflow: Any) -> None:
    flow = workflow("")
    (flow.path / "Snakefile").write_text(
        EVERY_OPTION.format(
            rule_volumes=json.dumps(RULE_VOLUMES), fargate_queue=flow.local.fargate_job_queue
        )
    )
    client(flow.local, "logs").create_log_group(logGroupName=LOG_GROUP)
    result = flow.run(
        "--aws-batch-volumes", json.dumps(GLOBAL_VOLUMES),
        "--aws-batch-log-group", LOG_GROUP,
        "--aws-batch-fargate-platform-version", "1.4.0",
        "--aws-batch-execution-role", flow.local.execution_role_arn,
    )  # fmt: skip
    assert result.returncode == 0, result.output[-5000:]
    for name in ("ec2", "fargate", "plain"):
        assert flow.read(f"{name}.txt").strip() == name
    definitions = definitions_used(flow.local)

    ec2 = definitions["ec2"]
    assert ec2["linuxParameters"]["sharedMemorySize"] == 2048
    assert ec2["ulimits"] == [{"name": "nofile", "softLimit": 4096, "hardLimit": 8192}]
    assert ec2["privileged"] is True
    volumes = {volume["name"]: volume for volume in ec2["volumes"]}
    assert set(volumes) == {"refs", "shared", "scratch"}
    assert volumes["refs"]["efsVolumeConfiguration"] == {
        "fileSystemId": "fs-0123456789abcdef0",
        "transitEncryption": "ENABLED",
        "authorizationConfig": {"accessPointId": "fsap-0123456789abcdef0", "iam": "ENABLED"},
    }
    assert volumes["shared"]["efsVolumeConfiguration"] == {
        "fileSystemId": "fs-0123456789abcdef0",
        "transitEncryption": "DISABLED",
    }
    assert volumes["scratch"]["host"] == {"sourcePath": "/tmp"}
    mounts = {m["sourceVolume"]: m for m in ec2["mountPoints"]}
    assert mounts["refs"] == {"sourceVolume": "refs", "containerPath": "/refs", "readOnly": True}
    assert mounts["scratch"]["readOnly"] is False
    assert ec2["logConfiguration"] == {
        "logDriver": "awslogs",
        "options": {"awslogs-group": LOG_GROUP, "awslogs-stream-prefix": "snakemake"},
    }

    fargate = definitions["fargate"]
    assert fargate["runtimePlatform"] == {
        "operatingSystemFamily": "LINUX",
        "cpuArchitecture": "ARM64",
    }
    assert fargate["fargatePlatformConfiguration"] == {"platformVersion": "1.4.0"}

    plain = definitions["plain"]  # the alias
    assert plain["linuxParameters"] == {"sharedMemorySize": 512}
    assert {v["name"] for v in plain["volumes"]} == {"refs", "shared"}  # the setting's
    # No option reaches a definition whose rule did not ask for it.
    registered = {
        r["jobDefinitionName"]: r["containerProperties"]
        for r in sent(flow.local, "RegisterJobDefinition")
    }
    assert len(registered) == 3
    asked = {"privileged": 1, "ulimits": 1, "linuxParameters": 2, "runtimePlatform": 1}
    for key, count in asked.items():
        assert sum(key in properties for properties in registered.values()) == count, key

    # The jobs' logs went to the group: the log stream each job reports is in it.
    logs = client(flow.local, "logs")
    streams = logs.describe_log_streams(logGroupName=LOG_GROUP)["logStreams"]
    assert len(streams) == 3
    assert all(s["logStreamName"].startswith("snakemake/") for s in streams), streams


SNAKEFILE = """
import json

rule all:
    input: "a.txt"

rule second:
    output: "a.txt"
    resources: {resource}
    shell: "echo a > {{output}}"
"""

HOST = '[{"name": "data", "containerPath": "/data", "hostPath": "/mnt/data"}]'
REFUSALS = [
    pytest.param(
        'aws_batch_job_queue="FARGATE_QUEUE", aws_batch_shared_memory_mb=1024',
        ["rule 'second', resource aws_batch_shared_memory_mb: 1024", "Fargate does not support"],
        id="fargate-shared-memory",
    ),
    pytest.param(
        'aws_batch_job_queue="FARGATE_QUEUE", shared_memory_size_mb=1024',
        ["resource shared_memory_size_mb: 1024", "Fargate does not support a shared memory"],
        id="fargate-shared-memory-alias",
    ),
    pytest.param(
        f"aws_batch_job_queue=\"FARGATE_QUEUE\", aws_batch_volumes='{HOST}'",
        ["rule 'second', resource aws_batch_volumes", "Fargate does not support host volumes"],
        id="fargate-host-volume",
    ),
    pytest.param(
        'aws_batch_job_queue="FARGATE_QUEUE", '
        'aws_batch_ulimits=\'[{"name": "nofile", "softLimit": 1, "hardLimit": 2}]\'',
        ["resource aws_batch_ulimits", "Fargate does not support ulimits"],
        id="fargate-ulimits",
    ),
    pytest.param(
        'aws_batch_job_queue="FARGATE_QUEUE", aws_batch_privileged=True',
        ["resource aws_batch_privileged: True", "Fargate does not support privileged"],
        id="fargate-privileged",
    ),
    pytest.param(
        'aws_batch_volumes=\'[{"name": "x"\'',
        ["rule 'second', resource aws_batch_volumes", "not valid JSON"],
        id="volumes-bad-json",
    ),
    pytest.param(
        'aws_batch_volumes=\'[{"name": "refs", "containerPath": "/refs", '
        '"efs": {"fileSystemId": "fs-0123456789abcdef0", "accessPointId": "fsap-0123456789abcdef0"}}]\'',
        ["resource aws_batch_volumes", 'An EFS access point needs "transitEncryption": true'],
        id="access-point-without-encryption",
    ),
    pytest.param(
        'aws_batch_volumes=\'[{"name": "a", "containerPath": "/d", "hostPath": "/x"}, '
        '{"name": "b", "containerPath": "/d/", "hostPath": "/y"}]\'',
        ["resource aws_batch_volumes", "Two volumes are mounted at /d/"],
        id="volumes-same-path",
    ),
    pytest.param(
        'aws_batch_volumes=\'[{"name": "my refs", "containerPath": "/r", "hostPath": "/x"}]\'',
        ["resource aws_batch_volumes", "A volume's name must be 1 to 255 letters"],
        id="volume-bad-name",
    ),
    pytest.param(
        'aws_batch_volumes=\'[{"name": "r", "containerPath": "refs", "hostPath": "/x"}]\'',
        ["resource aws_batch_volumes", "containerPath must be an absolute path"],
        id="volume-relative-path",
    ),
    pytest.param(
        'aws_batch_ulimits=\'[{"name": "open_files", "softLimit": 1, "hardLimit": 2}]\'',
        ["resource aws_batch_ulimits", "A ulimit's name must be one of core, cpu"],
        id="ulimit-bad-name",
    ),
    pytest.param(
        'aws_batch_ulimits=\'[{"name": "nofile", "softLimit": 9, "hardLimit": 2}]\'',
        ["resource aws_batch_ulimits", "softLimit 9 is above hardLimit 2"],
        id="ulimit-soft-above-hard",
    ),
    pytest.param(
        'aws_batch_cpu_architecture="amd64"',
        ["rule 'second', resource aws_batch_cpu_architecture: 'amd64'", "X86_64 or ARM64"],
        id="architecture-unknown",
    ),
    pytest.param(
        'aws_batch_job_definition="some-definition:1", aws_batch_privileged=True',
        ["resource aws_batch_privileged", "existing job definition", "cannot be overridden"],
        id="privileged-on-existing-definition",
    ),
]


@pytest.mark.parametrize(("resource", "expected"), REFUSALS)
def test_refused_at_start_with_nothing_submitted(
    workflow: Any, local: Any, resource: str, expected: list[str]
) -> None:
    resource = resource.replace("FARGATE_QUEUE", local.fargate_job_queue)
    flow = workflow(SNAKEFILE.format(resource=resource))
    flow.run("--aws-batch-execution-role", local.execution_role_arn).assert_refused(
        flow.local, expected
    )
    assert sent(flow.local, "RegisterJobDefinition") == []


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        pytest.param(
            ("--aws-batch-volumes", '[{"name": "x", "containerPath": "/x", "hostPath": "y"}]'),
            ["setting --aws-batch-volumes (SNAKEMAKE_AWS_BATCH_VOLUMES)", "hostPath must be"],
            id="volumes-setting",
        ),
        pytest.param(
            ("--aws-batch-log-group", "my logs"),
            ["setting --aws-batch-log-group (SNAKEMAKE_AWS_BATCH_LOG_GROUP): 'my logs'"],
            id="log-group",
        ),
        pytest.param(
            ("--aws-batch-fargate-platform-version", "1.4"),
            ["setting --aws-batch-fargate-platform-version", "LATEST or a version"],
            id="platform-version",
        ),
        pytest.param(
            ("--aws-batch-log-group", "/mine", "--aws-batch-job-definition", "mine:1"),
            ["setting --aws-batch-log-group", "existing job definition 'mine:1'"],
            id="log-group-with-existing-definition",
        ),
    ],
)
def test_bad_settings_are_refused_at_start(
    workflow: Any, extra: tuple[str, ...], expected: list[str]
) -> None:
    flow = workflow(SNAKEFILE.format(resource="aws_batch_vcpu=1"))
    flow.run(*extra).assert_refused(flow.local, expected)


def test_arm64_on_an_x86_only_queue_is_refused_naming_the_queue(workflow: Any) -> None:
    flow = workflow("")
    batch = batch_client(flow.local)
    ec2 = client(flow.local, "ec2")
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    subnets = [s["SubnetId"] for s in ec2.describe_subnets()["Subnets"] if s["VpcId"] == vpc]
    groups = ec2.describe_security_groups()["SecurityGroups"]
    [queue] = batch.describe_job_queues(jobQueues=[flow.local.job_queue])["jobQueues"]
    [existing] = batch.describe_compute_environments(
        computeEnvironments=[queue["computeEnvironmentOrder"][0]["computeEnvironment"]]
    )["computeEnvironments"]
    profile = client(flow.local, "iam").create_instance_profile(
        InstanceProfileName="x86-only-instances"
    )["InstanceProfile"]["Arn"]
    environment = batch.create_compute_environment(
        computeEnvironmentName="x86-only",
        type="MANAGED",
        state="ENABLED",
        serviceRole=existing["serviceRole"],
        computeResources={
            "type": "EC2",
            "minvCpus": 0,
            "maxvCpus": 16,
            "instanceTypes": ["m5.large", "c5"],
            "subnets": subnets[:1],
            "securityGroupIds": [g["GroupId"] for g in groups if g["VpcId"] == vpc][:1],
            "instanceRole": profile,
        },
    )["computeEnvironmentArn"]
    batch.create_job_queue(
        jobQueueName="x86-queue",
        state="ENABLED",
        priority=1,
        computeEnvironmentOrder=[{"order": 1, "computeEnvironment": environment}],
    )
    (flow.path / "Snakefile").write_text(
        SNAKEFILE.format(
            resource='aws_batch_job_queue="x86-queue", aws_batch_cpu_architecture="ARM64"'
        )
    )
    flow.run().assert_refused(
        flow.local,
        [
            "rule 'second', resource aws_batch_cpu_architecture: 'ARM64'",
            "queue 'x86-queue'",
            "No compute environment of the queue runs ARM64 instances",
        ],
    )
