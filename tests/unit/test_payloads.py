"""RegisterJobDefinition and SubmitJob request bodies, and the size limits of AWS."""

from __future__ import annotations

import json
from fractions import Fraction

import botocore.session
import botocore.validate
import pytest
from snakemake_interface_common.exceptions import WorkflowError

from snakemake_executor_plugin_aws_batch.jobspec import names, payloads, spec
from snakemake_executor_plugin_aws_batch.jobspec.platform import Platform, Resources
from snakemake_executor_plugin_aws_batch.jobspec.spec import DefinitionSpec, JobSpec
from snakemake_executor_plugin_aws_batch.settings import configuration
from snakemake_executor_plugin_aws_batch.settings.container_options import (
    ContainerOptions,
    Efs,
    Ulimit,
    Volume,
)

from ..factories import GUIDE_CONDITIONAL_RETRY, job_spec
from ..fakes import VALID_NAME

SECRET = "arn:aws:secretsmanager:us-west-2:123456789012:secret:api-key"
SSM = "arn:aws:ssm:us-west-2:123456789012:parameter/db/password"
JOB_ROLE = "arn:aws:iam::123456789012:role/job"
EXEC_ROLE = "arn:aws:iam::123456789012:role/exec"
BATCH_MODEL = botocore.session.get_session().get_service_model("batch")


def assert_valid_for_botocore(operation: str, body: dict) -> None:
    """The body passes botocore's own parameter validation for the operation."""
    shape = BATCH_MODEL.operation_model(operation).input_shape
    report = botocore.validate.ParamValidator().validate(body, shape)
    assert not report.has_errors(), report.generate_report()


def definition(platform=Platform.EC2, **changes) -> DefinitionSpec:
    values = {
        "image": "img:1",
        "platform": platform,
        "job_role": JOB_ROLE,
        "execution_role": EXEC_ROLE,
        "secrets": (("API_KEY", SECRET),),
        "assign_public_ip": False,
        "ephemeral_storage_gib": None,
    }
    values.update(changes)
    return DefinitionSpec(**values)


def job(**changes) -> JobSpec:
    return job_spec(**{"resources": Resources(Fraction(2), 4096, 0), "timeout": 600, **changes})


def submit(spec_: JobSpec, command: str = "echo hi", environment=None) -> dict:
    return payloads.submit_job(
        spec_, job_definition="def:1", command=command, environment=environment or {}
    )


def checked(spec_: JobSpec, command: str = "echo hi", environment=None) -> dict:
    """The request, checked for size as the service checks it before sending."""
    body = submit(spec_, command, environment)
    payloads.check_size(spec_.rule, body)
    return body


# Job definitions ---------------------------------------------------------------------------


def test_ec2_definition():
    body = payloads.job_definition(definition())
    assert body == {
        "jobDefinitionName": body["jobDefinitionName"],
        "type": "container",
        "platformCapabilities": ["EC2"],
        "containerProperties": {
            "image": "img:1",
            "command": body["containerProperties"]["command"],
            "resourceRequirements": [
                {"type": "VCPU", "value": "1"},
                {"type": "MEMORY", "value": "1024"},
            ],
            "jobRoleArn": JOB_ROLE,
            "executionRoleArn": EXEC_ROLE,
            "secrets": [{"name": "API_KEY", "valueFrom": SECRET}],
        },
    }
    assert body["containerProperties"]["command"][:2] == ["/bin/sh", "-c"]
    assert_valid_for_botocore("RegisterJobDefinition", body)


@pytest.mark.parametrize(("public", "expected"), [(True, "ENABLED"), (False, "DISABLED")])
def test_fargate_definition(public, expected):
    body = payloads.job_definition(
        definition(Platform.FARGATE, assign_public_ip=public, ephemeral_storage_gib=50)
    )
    assert body["platformCapabilities"] == ["FARGATE"]
    container = body["containerProperties"]
    assert container["fargatePlatformConfiguration"] == {"platformVersion": "LATEST"}
    assert container["networkConfiguration"] == {"assignPublicIp": expected}
    assert container["ephemeralStorage"] == {"sizeInGiB": 50}
    assert container["executionRoleArn"] == EXEC_ROLE
    # The placeholder size is itself a valid Fargate pair.
    assert container["resourceRequirements"] == [
        {"type": "VCPU", "value": "0.25"},
        {"type": "MEMORY", "value": "512"},
    ]
    assert_valid_for_botocore("RegisterJobDefinition", body)


def test_fargate_definition_without_storage_leaves_it_to_fargate():
    container = payloads.job_definition(definition(Platform.FARGATE))["containerProperties"]
    assert "ephemeralStorage" not in container
    assert container["networkConfiguration"] == {"assignPublicIp": "DISABLED"}


def test_ec2_definition_has_no_fargate_settings_even_if_asked():
    container = payloads.job_definition(
        definition(Platform.EC2, assign_public_ip=True, ephemeral_storage_gib=50)
    )["containerProperties"]
    for key in ("fargatePlatformConfiguration", "networkConfiguration", "ephemeralStorage"):
        assert key not in container


def test_secrets_are_only_references_never_values():
    body = payloads.job_definition(definition(secrets=(("API_KEY", SECRET), ("DB", SSM))))
    container = body["containerProperties"]
    assert container["secrets"] == [
        {"name": "API_KEY", "valueFrom": SECRET},
        {"name": "DB", "valueFrom": SSM},
    ]
    assert all(set(entry) == {"name", "valueFrom"} for entry in container["secrets"])
    assert "environment" not in container


def test_no_roles_and_no_secrets_leave_the_keys_out():
    container = payloads.job_definition(definition(job_role=None, execution_role=None, secrets=()))[
        "containerProperties"
    ]
    for key in ("jobRoleArn", "executionRoleArn", "secrets"):
        assert key not in container


def test_definition_name_is_the_hash_of_the_rest():
    body = payloads.job_definition(definition())
    content = {k: v for k, v in body.items() if k != "jobDefinitionName"}
    assert body["jobDefinitionName"] == names.definition_name(content)
    assert VALID_NAME.fullmatch(body["jobDefinitionName"])


def test_equal_specs_give_equal_definitions():
    assert payloads.job_definition(definition()) == payloads.job_definition(definition())


@pytest.mark.parametrize(
    "change",
    [
        {"image": "img:2"},
        {"platform": Platform.FARGATE},
        {"job_role": None},
        {"job_role": "arn:aws:iam::123456789012:role/other"},
        {"execution_role": None},
        {"secrets": ()},
        {"secrets": (("API_KEY", SSM),)},
    ],
)
def test_definition_name_changes_with_every_field_that_matters(change):
    base = payloads.job_definition(definition())["jobDefinitionName"]
    assert payloads.job_definition(definition(**change))["jobDefinitionName"] != base


@pytest.mark.parametrize("change", [{"assign_public_ip": True}, {"ephemeral_storage_gib": 30}])
def test_fargate_definition_name_changes_with_network_and_storage(change):
    base = payloads.job_definition(definition(Platform.FARGATE))["jobDefinitionName"]
    changed = payloads.job_definition(definition(Platform.FARGATE, **change))
    assert changed["jobDefinitionName"] != base


# Container options ---------------------------------------------------------------------------

FS = "fs-0123456789abcdef0"
FSAP = "fsap-0123456789abcdef0"
COMMAND = ["/bin/sh", "-c", "echo 'This definition is run with a command override.'"]
# The names the plugin gave these definitions before it had container options: a run on
# the defaults reuses the definitions it registered then.
EC2_NAME = "snakemake-03528aa7e7912ca19ef18872af22a96d"
FARGATE_NAME = "snakemake-f49e1e04b98258317806973c96c5fff3"


def options_definition(platform=Platform.EC2, **options) -> dict:
    return payloads.job_definition(definition(platform, options=ContainerOptions(**options)))


def test_the_default_options_give_the_ec2_definition_of_before():
    body = payloads.job_definition(definition())
    assert body == {
        "jobDefinitionName": EC2_NAME,
        "type": "container",
        "platformCapabilities": ["EC2"],
        "containerProperties": {
            "image": "img:1",
            "command": COMMAND,
            "resourceRequirements": [
                {"type": "VCPU", "value": "1"},
                {"type": "MEMORY", "value": "1024"},
            ],
            "jobRoleArn": JOB_ROLE,
            "executionRoleArn": EXEC_ROLE,
            "secrets": [{"name": "API_KEY", "valueFrom": SECRET}],
        },
    }
    assert options_definition() == body


def test_the_default_options_give_the_fargate_definition_of_before():
    body = payloads.job_definition(
        definition(Platform.FARGATE, assign_public_ip=True, ephemeral_storage_gib=50)
    )
    assert body == {
        "jobDefinitionName": FARGATE_NAME,
        "type": "container",
        "platformCapabilities": ["FARGATE"],
        "containerProperties": {
            "image": "img:1",
            "command": COMMAND,
            "resourceRequirements": [
                {"type": "VCPU", "value": "0.25"},
                {"type": "MEMORY", "value": "512"},
            ],
            "jobRoleArn": JOB_ROLE,
            "executionRoleArn": EXEC_ROLE,
            "secrets": [{"name": "API_KEY", "valueFrom": SECRET}],
            "fargatePlatformConfiguration": {"platformVersion": "LATEST"},
            "networkConfiguration": {"assignPublicIp": "ENABLED"},
            "ephemeralStorage": {"sizeInGiB": 50},
        },
    }


def test_shared_memory_is_a_linux_parameter():
    container = options_definition(shared_memory_mb=2048)["containerProperties"]
    assert container["linuxParameters"] == {"sharedMemorySize": 2048}


def test_a_host_volume_and_its_mount_point():
    container = options_definition(
        volumes=(Volume("scratch", "/scratch", False, host_path="/mnt/scratch"),)
    )["containerProperties"]
    assert container["volumes"] == [{"name": "scratch", "host": {"sourcePath": "/mnt/scratch"}}]
    assert container["mountPoints"] == [
        {"sourceVolume": "scratch", "containerPath": "/scratch", "readOnly": False}
    ]


@pytest.mark.parametrize(
    ("efs", "expected"),
    [
        (Efs(FS), {"fileSystemId": FS, "transitEncryption": "DISABLED"}),
        (
            Efs(FS, root_directory="/genomes"),
            {"fileSystemId": FS, "transitEncryption": "DISABLED", "rootDirectory": "/genomes"},
        ),
        (
            Efs(FS, transit_encryption=True, transit_encryption_port=2999),
            {"fileSystemId": FS, "transitEncryption": "ENABLED", "transitEncryptionPort": 2999},
        ),
        (
            Efs(FS, access_point_id=FSAP, transit_encryption=True),
            {
                "fileSystemId": FS,
                "transitEncryption": "ENABLED",
                "authorizationConfig": {"accessPointId": FSAP, "iam": "DISABLED"},
            },
        ),
        (
            Efs(FS, access_point_id=FSAP, transit_encryption=True, iam=True),
            {
                "fileSystemId": FS,
                "transitEncryption": "ENABLED",
                "authorizationConfig": {"accessPointId": FSAP, "iam": "ENABLED"},
            },
        ),
        (
            Efs(FS, transit_encryption=True, iam=True),
            {
                "fileSystemId": FS,
                "transitEncryption": "ENABLED",
                "authorizationConfig": {"iam": "ENABLED"},
            },
        ),
    ],
)
@pytest.mark.parametrize("platform", [Platform.EC2, Platform.FARGATE])
def test_an_efs_volume_and_its_mount_point(efs, expected, platform):
    body = options_definition(platform, volumes=(Volume("refs", "/refs", True, efs=efs),))
    container = body["containerProperties"]
    assert container["volumes"] == [{"name": "refs", "efsVolumeConfiguration": expected}]
    assert container["mountPoints"] == [
        {"sourceVolume": "refs", "containerPath": "/refs", "readOnly": True}
    ]
    assert_valid_for_botocore("RegisterJobDefinition", body)


def test_volumes_and_mount_points_keep_the_order_given():
    container = options_definition(
        volumes=(
            Volume("b", "/b", host_path="/mnt/b"),
            Volume("a", "/a", True, efs=Efs(FS)),
        )
    )["containerProperties"]
    assert [v["name"] for v in container["volumes"]] == ["b", "a"]
    assert [(m["sourceVolume"], m["readOnly"]) for m in container["mountPoints"]] == [
        ("b", False),
        ("a", True),
    ]


def test_ulimits_in_ecs_form():
    container = options_definition(ulimits=(Ulimit("nofile", 65536, 65536), Ulimit("core", 0, 10)))[
        "containerProperties"
    ]
    assert container["ulimits"] == [
        {"name": "nofile", "softLimit": 65536, "hardLimit": 65536},
        {"name": "core", "softLimit": 0, "hardLimit": 10},
    ]


def test_privileged_is_sent_only_when_true():
    assert options_definition(privileged=True)["containerProperties"]["privileged"] is True
    assert "privileged" not in options_definition(privileged=False)["containerProperties"]
    assert options_definition(privileged=False) == payloads.job_definition(definition())


@pytest.mark.parametrize("platform", [Platform.EC2, Platform.FARGATE])
def test_a_log_group_sends_the_logs_there_with_the_snakemake_prefix(platform):
    container = options_definition(platform, log_group="/aws/batch/snakemake")[
        "containerProperties"
    ]
    assert container["logConfiguration"] == {
        "logDriver": "awslogs",
        "options": {
            "awslogs-group": "/aws/batch/snakemake",
            "awslogs-stream-prefix": "snakemake",
        },
    }


@pytest.mark.parametrize("architecture", ["X86_64", "ARM64"])
def test_fargate_gets_a_runtime_platform_only_when_the_architecture_is_set(architecture):
    container = options_definition(Platform.FARGATE, cpu_architecture=architecture)[
        "containerProperties"
    ]
    assert container["runtimePlatform"] == {
        "operatingSystemFamily": "LINUX",
        "cpuArchitecture": architecture,
    }
    assert "runtimePlatform" not in options_definition(Platform.FARGATE)["containerProperties"]


def test_the_fargate_platform_version_is_the_setting():
    container = options_definition(Platform.FARGATE, fargate_platform_version="1.4.0")[
        "containerProperties"
    ]
    assert container["fargatePlatformConfiguration"] == {"platformVersion": "1.4.0"}


def test_ec2_definitions_carry_no_fargate_fields_whatever_the_options():
    body = options_definition(cpu_architecture="ARM64", fargate_platform_version="1.4.0")
    container = body["containerProperties"]
    for key in ("runtimePlatform", "fargatePlatformConfiguration", "networkConfiguration"):
        assert key not in container
    # The architecture is the compute environments' choice on EC2: the same definition.
    assert body == payloads.job_definition(definition())


ALL_OPTIONS = {
    "shared_memory_mb": 1024,
    "volumes": (
        Volume("scratch", "/scratch", host_path="/mnt/scratch"),
        Volume(
            "refs",
            "/refs",
            True,
            efs=Efs(
                FS, None, FSAP, transit_encryption=True, transit_encryption_port=2049, iam=True
            ),
        ),
        Volume("data", "/data", efs=Efs(FS, root_directory="/data")),
    ),
    "ulimits": (Ulimit("nofile", 1024, 4096), Ulimit("memlock", 0, 0)),
    "privileged": True,
    "log_group": "/aws/batch/snakemake",
}


def test_an_ec2_definition_with_every_option_is_valid_for_botocore():
    body = options_definition(**ALL_OPTIONS, cpu_architecture="ARM64")
    assert set(body["containerProperties"]) >= {
        "linuxParameters",
        "volumes",
        "mountPoints",
        "ulimits",
        "privileged",
        "logConfiguration",
    }
    assert_valid_for_botocore("RegisterJobDefinition", body)


def test_a_fargate_definition_with_every_fargate_option_is_valid_for_botocore():
    body = options_definition(
        Platform.FARGATE,
        volumes=ALL_OPTIONS["volumes"][1:],
        log_group="/aws/batch/snakemake",
        cpu_architecture="ARM64",
        fargate_platform_version="1.4.0",
    )
    assert set(body["containerProperties"]) >= {
        "volumes",
        "mountPoints",
        "logConfiguration",
        "runtimePlatform",
        "fargatePlatformConfiguration",
    }
    assert_valid_for_botocore("RegisterJobDefinition", body)


@pytest.mark.parametrize(
    ("platform", "change"),
    [
        (Platform.EC2, {"shared_memory_mb": 64}),
        (Platform.EC2, {"shared_memory_mb": 128}),
        (Platform.EC2, {"volumes": ALL_OPTIONS["volumes"][:1]}),
        (Platform.EC2, {"volumes": ALL_OPTIONS["volumes"][1:2]}),
        (Platform.EC2, {"volumes": (Volume("refs", "/refs", efs=Efs(FS)),)}),
        (Platform.EC2, {"volumes": (Volume("refs", "/refs", True, efs=Efs(FS)),)}),
        (Platform.EC2, {"ulimits": (Ulimit("nofile", 1, 2),)}),
        (Platform.EC2, {"ulimits": (Ulimit("nofile", 1, 3),)}),
        (Platform.EC2, {"privileged": True}),
        (Platform.EC2, {"log_group": "/aws/batch/snakemake"}),
        (Platform.EC2, {"log_group": "/aws/batch/other"}),
        (Platform.FARGATE, {"cpu_architecture": "ARM64"}),
        (Platform.FARGATE, {"cpu_architecture": "X86_64"}),
        (Platform.FARGATE, {"fargate_platform_version": "1.4.0"}),
        (Platform.FARGATE, {"volumes": ALL_OPTIONS["volumes"][2:]}),
        (Platform.FARGATE, {"log_group": "/aws/batch/snakemake"}),
    ],
)
def test_every_option_changes_the_definition_name_and_equal_options_keep_it(platform, change):
    base = options_definition(platform)["jobDefinitionName"]
    changed = options_definition(platform, **change)["jobDefinitionName"]
    assert changed != base
    assert options_definition(platform, **change)["jobDefinitionName"] == changed
    assert VALID_NAME.fullmatch(changed)


def test_different_values_of_one_option_give_different_names():
    names_ = {
        options_definition(shared_memory_mb=size)["jobDefinitionName"] for size in (64, 128, 256)
    }
    assert len(names_) == 3
    assert (
        options_definition(**ALL_OPTIONS)["jobDefinitionName"]
        == options_definition(**dict(ALL_OPTIONS))["jobDefinitionName"]
    )


# SubmitJob -----------------------------------------------------------------------------------


def test_minimal_submit_job():
    body = submit(job())
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
    assert_valid_for_botocore("SubmitJob", body)


def test_command_is_passed_whole_to_a_shell():
    command = "snakemake --snakefile 'Snake file' --target-jobs 'a:x=1' && echo \"$HOME\""
    assert submit(job(), command)["containerOverrides"]["command"] == ["/bin/sh", "-c", command]


def test_full_submit_job():
    spec_ = job(
        resources=Resources(Fraction(1, 2), 1024, 1),
        retry_strategy={"attempts": 3},
        tags={"team": "genomics"},
        scheduling_priority=0,
        share_identifier="teamA",
        consumable_resources=[{"consumableResource": "license-pool", "quantity": 2}],
    )
    body = submit(spec_, "run", {"A": "1", "B": "two"})
    overrides = body["containerOverrides"]
    assert overrides["resourceRequirements"] == [
        {"type": "VCPU", "value": "0.5"},
        {"type": "MEMORY", "value": "1024"},
        {"type": "GPU", "value": "1"},
    ]
    assert all(isinstance(r["value"], str) for r in overrides["resourceRequirements"])
    assert overrides["environment"] == [
        {"name": "A", "value": "1"},
        {"name": "B", "value": "two"},
    ]
    assert body["retryStrategy"] == {"attempts": 3}
    assert body["tags"] == {"team": "genomics"}
    assert body["propagateTags"] is True
    assert body["schedulingPriorityOverride"] == 0
    assert body["shareIdentifier"] == "teamA"
    assert body["consumableResourcePropertiesOverride"] == {
        "consumableResourceList": [{"consumableResource": "license-pool", "quantity": 2}]
    }
    assert "vcpus" not in overrides
    assert "memory" not in overrides
    assert_valid_for_botocore("SubmitJob", body)


def test_empty_optional_values_are_left_out():
    body = submit(job(retry_strategy={}, tags={}, consumable_resources=[]))
    for key in (
        "retryStrategy",
        "tags",
        "propagateTags",
        "schedulingPriorityOverride",
        "shareIdentifier",
        "consumableResourcePropertiesOverride",
    ):
        assert key not in body
    assert "environment" not in body["containerOverrides"]


@pytest.mark.parametrize("size", [2, 10_000])
def test_an_array_job_request_carries_its_size(size: int) -> None:
    body = payloads.submit_job(
        job(), job_definition="def:1", command="echo hi", environment={}, array_size=size
    )
    assert body["arrayProperties"] == {"size": size}
    assert {k: v for k, v in body.items() if k != "arrayProperties"} == submit(job())
    assert_valid_for_botocore("SubmitJob", body)


def test_a_single_job_request_has_no_array_properties() -> None:
    assert "arrayProperties" not in submit(job())
    body = payloads.submit_job(
        job(), job_definition="def:1", command="echo hi", environment={}, array_size=None
    )
    assert "arrayProperties" not in body


def test_submit_job_copies_what_it_is_given():
    tags = {"team": "genomics"}
    retry = {"attempts": 2}
    body = submit(job(tags=tags, retry_strategy=retry))
    body["tags"]["other"] = "x"
    body["retryStrategy"]["attempts"] = 9
    assert tags == {"team": "genomics"}
    assert retry == {"attempts": 2}


# The user guide's rules, from resources to the request --------------------------------------

CONFIG = configuration.GlobalConfig(
    default_queue="default-q", image="img:1", execution_role=EXEC_ROLE, timeout=300
)


def guide_request(rule: str, raw: dict) -> dict:
    job_spec = spec.build(
        rule=rule, raw=raw, threads=1, config=CONFIG, platform_of=lambda q: Platform.EC2
    )
    body = submit(job_spec, "snakemake ...", {})
    assert_valid_for_botocore("SubmitJob", body)
    return body


def test_user_guide_compute_intensive_request():
    body = guide_request(
        "compute_intensive", {"aws_batch_vcpu": 4, "aws_batch_mem_mb": 8192, "aws_batch_gpu": 1}
    )
    assert body["containerOverrides"]["resourceRequirements"] == [
        {"type": "VCPU", "value": "4"},
        {"type": "MEMORY", "value": "8192"},
        {"type": "GPU", "value": "1"},
    ]


def test_user_guide_special_task_request_goes_to_its_queue():
    queue = "arn:aws:batch:us-west-2:123456789012:job-queue/special-queue"
    assert guide_request("special_task", {"aws_batch_job_queue": queue})["jobQueue"] == queue


def test_user_guide_licensed_analysis_request():
    body = guide_request(
        "licensed_analysis",
        {
            "aws_batch_consumable_resources": '[{"consumableResource": "license-pool", "quantity": 2}]'
        },
    )
    assert body["consumableResourcePropertiesOverride"] == {
        "consumableResourceList": [{"consumableResource": "license-pool", "quantity": 2}]
    }


def test_user_guide_long_running_task_request():
    body = guide_request("long_running_task", {"aws_batch_timeout": 7200})
    assert body["timeout"] == {"attemptDurationSeconds": 7200}


def test_user_guide_my_analysis_request_name():
    body = guide_request(
        "my_analysis",
        {"aws_batch_job_name_suffix": "experiment-v2", "aws_batch_job_uuid": "run-001"},
    )
    assert body["jobName"] == "snakejob-my_analysis-experiment-v2-run-001"


def test_user_guide_conditional_retry_request():
    strategy = GUIDE_CONDITIONAL_RETRY
    body = guide_request("conditional_retry", {"aws_batch_retry_strategy": json.dumps(strategy)})
    assert body["retryStrategy"] == strategy


def test_a_rules_container_resources_reach_the_job_definition():
    cfg = configuration.GlobalConfig(
        default_queue="default-q",
        image="img:1",
        execution_role=EXEC_ROLE,
        log_group="/aws/batch/snakemake",
    )
    job_spec = spec.build(
        rule="assemble",
        raw={
            "shared_memory_size_mb": "4096",
            "aws_batch_volumes": json.dumps(
                [{"name": "scratch", "containerPath": "/scratch", "hostPath": "/mnt/nvme"}]
            ),
            "aws_batch_ulimits": '[{"name": "nofile", "softLimit": 65536, "hardLimit": 65536}]',
            "aws_batch_privileged": "true",
        },
        threads=1,
        config=cfg,
        platform_of=lambda q: Platform.EC2,
    )
    assert isinstance(job_spec.definition, DefinitionSpec)
    body = payloads.job_definition(job_spec.definition)
    container = body["containerProperties"]
    assert container["linuxParameters"] == {"sharedMemorySize": 4096}
    assert container["volumes"] == [{"name": "scratch", "host": {"sourcePath": "/mnt/nvme"}}]
    assert container["mountPoints"] == [
        {"sourceVolume": "scratch", "containerPath": "/scratch", "readOnly": False}
    ]
    assert container["ulimits"] == [{"name": "nofile", "softLimit": 65536, "hardLimit": 65536}]
    assert container["privileged"] is True
    assert container["logConfiguration"]["options"]["awslogs-group"] == "/aws/batch/snakemake"
    assert_valid_for_botocore("RegisterJobDefinition", body)


# Sizes ---------------------------------------------------------------------------------------

EMPTY_OVERRIDES = len(json.dumps({"command": ["/bin/sh", "-c", ""]}, separators=(",", ":")))


def overrides_of_length(length: int) -> dict:
    return {"containerOverrides": {"command": ["/bin/sh", "-c", "x" * (length - EMPTY_OVERRIDES)]}}


def test_container_overrides_of_8192_characters_pass_and_8193_fail():
    payloads.check_size("r", overrides_of_length(8192))
    with pytest.raises(WorkflowError) as info:
        payloads.check_size("align", overrides_of_length(8193))
    message = str(info.value)
    assert "Rule 'align'" in message
    assert "8193 characters" in message
    assert "8192" in message
    assert "--envvars" in message


def test_long_command_is_refused_before_submission():
    with pytest.raises(WorkflowError, match=r"Rule 'r'.*containerOverrides"):
        checked(job(), "x" * 9000)


def test_many_environment_variables_count_towards_the_limit():
    environment = {f"VAR_{i}": "v" * 100 for i in range(80)}
    with pytest.raises(WorkflowError, match="--envvars"):
        checked(job(), "echo hi", environment)
    checked(job(), "echo hi", dict(list(environment.items())[:10]))


def payload_of_length(length: int) -> dict:
    body = {"containerOverrides": {"command": ["/bin/sh", "-c", "x"]}, "jobName": ""}
    empty = len(json.dumps(body, separators=(",", ":")).encode())
    body["jobName"] = "n" * (length - empty)
    return body


def test_payload_of_30_kib_passes_and_one_byte_more_fails():
    payloads.check_size("r", payload_of_length(30 * 1024))
    with pytest.raises(WorkflowError) as info:
        payloads.check_size("tagged", payload_of_length(30 * 1024 + 1))
    message = str(info.value)
    assert "Rule 'tagged'" in message
    assert "30721 bytes" in message
    assert "30720" in message


def test_too_many_large_tags_make_the_request_too_large():
    tags = {f"k{i}": "v" * 256 for i in range(150)}
    with pytest.raises(WorkflowError, match="Rule 'r': the SubmitJob request is"):
        checked(job(tags=tags))


def test_requests_are_json_serialisable():
    body = submit(
        job(
            resources=Resources(Fraction(1, 4), 512, 0),
            retry_strategy={"attempts": 2},
            tags={"a": "b"},
            consumable_resources=[{"consumableResource": "c", "quantity": 1}],
        ),
        "echo é",
        {"X": "ü"},
    )
    assert json.loads(json.dumps(body)) == body
    assert json.loads(json.dumps(payloads.job_definition(definition()))) == payloads.job_definition(
        definition()
    )


def test_environment_is_added_to_a_copy_of_the_request():
    body = submit(job(), "echo hi", {"A": "1"})
    added = payloads.with_environment(body, {"MARK": "m"})
    assert added["containerOverrides"]["environment"] == [
        {"name": "A", "value": "1"},
        {"name": "MARK", "value": "m"},
    ]
    assert body["containerOverrides"]["environment"] == [{"name": "A", "value": "1"}]
    assert {k: v for k, v in added.items() if k != "containerOverrides"} == {
        k: v for k, v in body.items() if k != "containerOverrides"
    }


def test_environment_is_added_to_a_request_without_one():
    body = submit(job())
    assert "environment" not in body["containerOverrides"]
    added = payloads.with_environment(body, {"MARK": "m"})
    assert added["containerOverrides"]["environment"] == [{"name": "MARK", "value": "m"}]
    assert_valid_for_botocore("SubmitJob", added)
