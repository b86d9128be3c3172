"""From settings and one job's resources to a validated job spec."""

from __future__ import annotations

import dataclasses
import json
import types
from fractions import Fraction
from typing import Any

import pytest
from snakemake_interface_common.exceptions import WorkflowError

from snakemake_executor_plugin_aws_batch.jobspec import spec
from snakemake_executor_plugin_aws_batch.jobspec.platform import Platform, Resources
from snakemake_executor_plugin_aws_batch.settings import configuration, resources
from snakemake_executor_plugin_aws_batch.settings.container_options import (
    ContainerOptions,
    Efs,
    Ulimit,
    Volume,
)

from ..factories import GUIDE_CONDITIONAL_RETRY

EXEC_ROLE = "arn:aws:iam::123456789012:role/ecsTaskExecutionRole"
JOB_ROLE = "arn:aws:iam::123456789012:role/batch-job"
SM = "arn:aws:secretsmanager:us-west-2:123456789012:secret:"
CONFIG = configuration.GlobalConfig(
    default_queue="default-q", image="img:1", execution_role=EXEC_ROLE
)
SPECIAL_QUEUE = "arn:aws:batch:us-west-2:123456789012:job-queue/special-queue"


def config(**changes) -> configuration.GlobalConfig:
    return dataclasses.replace(CONFIG, **changes)


def build(raw=None, *, threads=1, config=CONFIG, platform=Platform.EC2, rule="r") -> spec.JobSpec:
    return spec.build(
        rule=rule,
        raw=raw or {},
        threads=threads,
        config=config,
        platform_of=lambda queue: platform,
    )


def build_error(raw=None, **kwargs) -> str:
    with pytest.raises(WorkflowError) as info:
        build(raw, **kwargs)
    return str(info.value)


def secrets_json(**pairs: str) -> str:
    return json.dumps([{"name": k, "valueFrom": SM + v} for k, v in pairs.items()])


def settings(**changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "job_queue": "q",
        "image": "img:1",
        "job_role": None,
        "execution_role": None,
        "task_timeout": 300,
        "tags": None,
        "secrets": None,
        "scheduling_priority": None,
        "share_identifier": None,
        "job_definition": None,
        "assign_public_ip": False,
    }
    values.update(changes)
    return values


# read_values -----------------------------------------------------------------------------


def test_read_values_converts_known_resources_and_ignores_others():
    values = resources.read_values(
        "r",
        {
            "aws_batch_vcpu": "0.5",
            "aws_batch_mem_mb": "2048",
            "aws_batch_timeout": "120",
            "aws_batch_tags": "a=b",
            "aws_batch_job_uuid": 7,
            "aws_batch_gpu": None,
            "mem_mb": 100,
            "threads": 4,
            "something_else": "x",
        },
    )
    assert values == {
        "aws_batch_vcpu": Fraction(1, 2),
        "aws_batch_mem_mb": 2048,
        "aws_batch_timeout": 120,
        "aws_batch_tags": {"a": "b"},
        "aws_batch_job_uuid": "7",
    }


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"batch_queue": "old"}, {"aws_batch_job_queue": "old"}),
        ({"batch_queue": "old", "aws_batch_job_queue": "new"}, {"aws_batch_job_queue": "new"}),
        ({"aws_batch_task_timeout": "900"}, {"aws_batch_timeout": 900}),
        ({"aws_batch_task_timeout": 900, "aws_batch_timeout": 120}, {"aws_batch_timeout": 120}),
        ({"batch_queue": None, "aws_batch_job_queue": "new"}, {"aws_batch_job_queue": "new"}),
        ({"shared_memory_size_mb": "256"}, {"aws_batch_shared_memory_mb": 256}),
        ({"shared_memory_size_mb": 64}, {"aws_batch_shared_memory_mb": 64}),
        (
            {"shared_memory_size_mb": 64, "aws_batch_shared_memory_mb": 128},
            {"aws_batch_shared_memory_mb": 128},
        ),
    ],
)
def test_read_values_resolves_aliases(raw, expected):
    assert resources.read_values("r", raw) == expected


@pytest.mark.parametrize(
    ("raw", "origin", "fragment"),
    [
        ({"aws_batch_task_timeout": 30}, "resource aws_batch_task_timeout: 30.", "at least 60"),
        ({"batch_queue": " "}, "resource batch_queue: ' '.", "job queue name or ARN"),
        ({"shared_memory_size_mb": 0}, "resource shared_memory_size_mb: 0.", "at least 1"),
        ({"shared_memory_size_mb": "big"}, "resource shared_memory_size_mb: 'big'.", "at least 1"),
    ],
)
def test_alias_errors_name_the_alias_the_user_wrote(raw, origin, fragment):
    with pytest.raises(WorkflowError) as info:
        resources.read_values("r", raw)
    assert f"rule 'r', {origin}" in str(info.value)
    assert fragment in str(info.value)


@pytest.mark.parametrize(
    ("resource", "value", "fragment"),
    [
        ("aws_batch_vcpu", "many", "positive number of vCPUs"),
        ("aws_batch_vcpu", 0, "positive number of vCPUs"),
        ("aws_batch_vcpu", "-1", "positive number of vCPUs"),
        ("aws_batch_vcpu", "1/0", "positive number of vCPUs"),
        ("aws_batch_vcpu", True, "positive number of vCPUs"),
        ("aws_batch_mem_mb", 0, "at least 1"),
        ("aws_batch_mem_mb", "8GB", "at least 1"),
        ("aws_batch_gpu", -1, "at least 0"),
        ("aws_batch_job_queue", "  ", "job queue name or ARN"),
        ("aws_batch_job_queue", 5, "job queue name or ARN"),
        ("aws_batch_container_image", "", "container image"),
        ("aws_batch_job_definition", " ", "job definition name"),
        ("aws_batch_job_name_suffix", " ", "non-empty string"),
        ("aws_batch_job_uuid", [1], "non-empty string"),
        ("aws_batch_timeout", 59, "at least 60"),
        ("aws_batch_scheduling_priority", 10000, "from 0 to 9999"),
        ("aws_batch_share_identifier", "a-b", "letters and digits"),
        ("aws_batch_secrets", "[{}]", "'name' and 'valueFrom'"),
        ("aws_batch_consumable_resources", "[]", "at least one entry"),
        ("aws_batch_retry_strategy", '{"attempts": 11}', "from 1 to 10"),
        ("aws_batch_tags", "novalue", "key=value"),
        ("aws_batch_shared_memory_mb", 0, "at least 1"),
        ("aws_batch_volumes", "[", "not valid JSON"),
        ("aws_batch_volumes", "{}", "JSON array"),
        ("aws_batch_ulimits", "[", "not valid JSON"),
        ("aws_batch_ulimits", '{"name": "nofile"}', "JSON array"),
        ("aws_batch_privileged", "yes", "True or False"),
        ("aws_batch_cpu_architecture", "amd64", "X86_64 or ARM64"),
    ],
)
def test_every_resource_is_checked_and_named(resource, value, fragment):
    message = build_error({resource: value}, rule="align")
    assert f"rule 'align', resource {resource}: {value!r}." in message
    assert fragment in message


@pytest.mark.parametrize(
    ("raw", "origin"),
    [
        ({"runtime": 0}, "resource runtime: 0."),
        ({"runtime": "soon"}, "resource runtime: 'soon'."),
        ({"gpu": "x"}, "resource gpu: 'x'."),
        ({"gpu": -1}, "resource gpu: -1."),
    ],
)
def test_standard_resources_that_are_used_are_checked(raw, origin):
    assert f"rule 'r', {origin}" in build_error(raw)


# Defaults and precedence ---------------------------------------------------------------


def test_defaults():
    job = build()
    assert job.rule == "r"
    assert job.queue == "default-q"
    assert job.platform is Platform.EC2
    assert job.resources == Resources(Fraction(1), 1024, 0)
    assert job.timeout == 300
    assert job.retry_strategy is None
    assert job.tags == {}
    assert job.scheduling_priority is None
    assert job.share_identifier is None
    assert job.consumable_resources is None
    assert job.notes == ()
    assert job.warnings == ()
    assert job.name.startswith("snakejob-r-")
    assert job.definition == spec.DefinitionSpec(
        image="img:1",
        platform=Platform.EC2,
        job_role=None,
        execution_role=EXEC_ROLE,
        secrets=(),
        assign_public_ip=False,
        ephemeral_storage_gib=None,
    )


@pytest.mark.parametrize(
    ("raw", "threads", "expected"),
    [
        ({"aws_batch_vcpu": 8}, 4, 8),
        ({"aws_batch_vcpu": "2"}, 16, 2),
        ({"aws_batch_vcpu": 1}, 4, 1),
        ({}, 4, 4),
        ({}, 1, 1),
        ({}, 0, 1),
    ],
)
def test_vcpu_precedence_aws_batch_vcpu_then_threads_then_1(raw, threads, expected):
    assert build(raw, threads=threads).resources.vcpu == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"aws_batch_mem_mb": 4096, "mem_mb": 2048}, 4096),
        ({"aws_batch_mem_mb": "3000", "mem_mb": 9000}, 3000),
        ({"mem_mb": 2048}, 2048),
        ({"mem_mb": 2500.7}, 2500),
        ({}, 1024),
        ({"mem_mb": None}, 1024),
    ],
)
def test_memory_precedence_aws_batch_mem_mb_then_mem_mb_then_1024(raw, expected):
    assert build(raw).resources.memory_mib == expected


def test_memory_from_snakemake_default_is_raised_on_ec2_with_a_note():
    job = build({"mem_mb": 1000}, rule="tiny")
    assert job.resources.memory_mib == 1024
    assert len(job.notes) == 1
    assert "'tiny'" in job.notes[0]
    assert job.warnings == ()


def test_explicit_memory_below_1024_on_ec2_is_an_error():
    message = build_error({"aws_batch_mem_mb": 512}, rule="tiny")
    assert "rule 'tiny', resource aws_batch_mem_mb: 512." in message
    assert "1024" in message


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"aws_batch_gpu": 2, "gpu": 1}, 2),
        ({"aws_batch_gpu": 0, "gpu": 1}, 0),
        ({"gpu": 1}, 1),
        ({}, 0),
    ],
)
def test_gpu_precedence_aws_batch_gpu_then_gpu_then_0(raw, expected):
    assert build(raw).resources.gpu == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"aws_batch_timeout": 7200, "runtime": 10}, 7200),
        ({"aws_batch_timeout": 60}, 60),
        ({"runtime": 10}, 600),
        ({"runtime": "30"}, 1800),
        ({"runtime": 1}, 60),
        ({}, 300),
        ({"aws_batch_task_timeout": 900, "runtime": 10}, 900),
        ({"aws_batch_task_timeout": 900, "aws_batch_timeout": 120}, 120),
    ],
)
def test_timeout_precedence_aws_batch_timeout_then_runtime_then_setting(raw, expected):
    assert build(raw).timeout == expected


def test_timeout_setting_is_used_when_the_rule_has_none():
    assert build(config=config(timeout=3600)).timeout == 3600


# The user guide's rules ----------------------------------------------------------------


def test_user_guide_compute_intensive():
    job = build(
        {"aws_batch_vcpu": 4, "aws_batch_mem_mb": 8192, "aws_batch_gpu": 1},
        rule="compute_intensive",
    )
    assert job.resources == Resources(Fraction(4), 8192, 1)
    assert job.resources.requirements() == [
        {"type": "VCPU", "value": "4"},
        {"type": "MEMORY", "value": "8192"},
        {"type": "GPU", "value": "1"},
    ]


def test_user_guide_special_task_queue_arn_is_used_and_its_platform_asked():
    asked = []

    def platform_of(queue):
        asked.append(queue)
        return Platform.EC2

    job = spec.build(
        rule="special_task",
        raw={"aws_batch_job_queue": SPECIAL_QUEUE},
        threads=1,
        config=CONFIG,
        platform_of=platform_of,
    )
    assert job.queue == SPECIAL_QUEUE
    assert asked == [SPECIAL_QUEUE]


def test_queue_without_rule_resource_is_the_default_and_its_platform_decides():
    asked = []

    def platform_of(queue):
        asked.append(queue)
        return Platform.FARGATE

    job = spec.build(rule="r", raw={}, threads=1, config=CONFIG, platform_of=platform_of)
    assert asked == ["default-q"]
    assert job.platform is Platform.FARGATE
    assert job.definition.platform is Platform.FARGATE


def test_user_guide_my_rule_secrets_merge_with_global_secrets():
    global_secrets = configuration.global_config(
        **settings(
            execution_role=EXEC_ROLE,
            secrets='[{"name":"DB_PASSWORD","valueFrom":"' + SM + 'db-pass"}]',
        )
    )
    job = build(
        {"aws_batch_secrets": '[{"name":"API_KEY","valueFrom":"' + SM + 'api-key"}]'},
        config=global_secrets,
        rule="my_rule",
    )
    assert job.definition.secrets == (("API_KEY", SM + "api-key"), ("DB_PASSWORD", SM + "db-pass"))


def test_rule_secret_wins_over_global_secret_of_the_same_name():
    cfg = config(secrets={"A": SM + "global-a", "B": SM + "global-b"})
    job = build({"aws_batch_secrets": secrets_json(B="rule-b", C="rule-c")}, config=cfg)
    assert job.definition.secrets == (
        ("A", SM + "global-a"),
        ("B", SM + "rule-b"),
        ("C", SM + "rule-c"),
    )
    # Global secrets alone stay as they are.
    assert build(config=cfg).definition.secrets == (("A", SM + "global-a"), ("B", SM + "global-b"))


def test_equal_secrets_in_any_order_give_equal_definitions():
    a = build({"aws_batch_secrets": secrets_json(A="a", B="b")}).definition
    b = build({"aws_batch_secrets": secrets_json(B="b", A="a")}).definition
    assert a == b
    assert hash(a) == hash(b)


def test_user_guide_rule_container_image():
    job = build({"aws_batch_container_image": "my-custom-image:tag"}, rule="my_rule")
    assert job.definition.image == "my-custom-image:tag"
    assert build().definition.image == "img:1"


def test_user_guide_licensed_analysis_consumable_resources():
    job = build(
        {
            "aws_batch_consumable_resources": '[{"consumableResource": "license-pool", "quantity": 2}]'
        },
        rule="licensed_analysis",
    )
    assert job.consumable_resources == [{"consumableResource": "license-pool", "quantity": 2}]


def test_user_guide_long_running_task_timeout():
    job = build({"aws_batch_timeout": 7200}, rule="long_running_task", config=config(timeout=300))
    assert job.timeout == 7200


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"aws_batch_job_uuid": "custom-id-12345"}, "snakejob-my_analysis-custom-id-12345"),
        (
            {"aws_batch_job_name_suffix": "experiment-v2", "aws_batch_job_uuid": "run-001"},
            "snakejob-my_analysis-experiment-v2-run-001",
        ),
    ],
)
def test_user_guide_my_analysis_names(raw, expected):
    assert build(raw, rule="my_analysis").name == expected


def test_user_guide_my_analysis_suffix_with_generated_uuid():
    name = build({"aws_batch_job_name_suffix": "experiment-v2"}, rule="my_analysis").name
    prefix = "snakejob-my_analysis-experiment-v2-"
    assert name.startswith(prefix)
    assert len(name) == len(prefix) + 36


@pytest.mark.parametrize(
    "strategy",
    [
        {"attempts": 3},
        GUIDE_CONDITIONAL_RETRY,
        {"attempts": 3, "evaluateOnExit": [{"action": "RETRY", "onStatusReason": "Host EC2*"}]},
        {"attempts": 2, "evaluateOnExit": [{"action": "RETRY", "onExitCode": "137"}]},
        {
            "attempts": 4,
            "evaluateOnExit": [
                {"action": "RETRY", "onExitCode": "1*"},
                {"action": "EXIT", "onExitCode": "0"},
            ],
        },
    ],
)
def test_user_guide_retry_strategies_reach_the_spec(strategy):
    assert build({"aws_batch_retry_strategy": json.dumps(strategy)}).retry_strategy == strategy


def get_retry_strategy(wildcards, attempt):
    """Return retry strategy based on dataset size"""
    if wildcards.dataset == "large":
        return json.dumps(
            {
                "attempts": 5,
                "evaluateOnExit": [
                    {"action": "RETRY", "onExitCode": "137"},  # OOM
                    {"action": "RETRY", "onStatusReason": "*timeout*"},
                ],
            }
        )
    else:  # noqa: RET505 - as written in the user guide
        return json.dumps({"attempts": 2})


@pytest.mark.parametrize(
    ("dataset", "expected"),
    [
        (
            "large",
            {
                "attempts": 5,
                "evaluateOnExit": [
                    {"action": "RETRY", "onExitCode": "137"},
                    {"action": "RETRY", "onStatusReason": "*timeout*"},
                ],
            },
        ),
        ("small", {"attempts": 2}),
        ("Large", {"attempts": 2}),
    ],
)
@pytest.mark.parametrize("attempt", [1, 2])
def test_user_guide_dynamic_retry_strategy(dataset, expected, attempt):
    value = get_retry_strategy(types.SimpleNamespace(dataset=dataset), attempt)
    assert isinstance(value, str)
    job = build({"aws_batch_retry_strategy": value}, rule="process_data")
    assert job.retry_strategy == expected


# Rules that involve several values -------------------------------------------------------


def test_rule_secrets_without_execution_role_name_the_rule_resource():
    message = build_error(
        {"aws_batch_secrets": secrets_json(A="a")}, config=config(execution_role=None)
    )
    assert "rule 'r', resource aws_batch_secrets: ['A']." in message
    assert "--aws-batch-execution-role" in message


def test_global_secrets_without_execution_role_name_the_setting():
    with pytest.raises(WorkflowError) as info:
        spec.check_rule("r", {}, config(execution_role=None, secrets={"A": SM + "a"}))
    assert "setting --aws-batch-secrets (SNAKEMAKE_AWS_BATCH_SECRETS): ['A']." in str(info.value)


def test_check_rule_passes_without_secrets_or_with_a_role():
    spec.check_rule("r", {}, config(execution_role=None))
    spec.check_rule("r", {"aws_batch_secrets": {"A": SM + "a"}}, CONFIG)


@pytest.mark.parametrize(
    ("raw", "cfg"),
    [
        ({"aws_batch_job_definition": "my-def"}, CONFIG),
        ({}, config(job_definition="my-def")),
    ],
)
@pytest.mark.parametrize(
    ("extra", "resource", "what"),
    [
        ({"aws_batch_secrets": secrets_json(A="a")}, "aws_batch_secrets", "secrets"),
        (
            {"aws_batch_container_image": "other:1"},
            "aws_batch_container_image",
            "a container image",
        ),
    ],
)
def test_existing_job_definition_conflicts_with_rule_secrets_and_image(
    raw, cfg, extra, resource, what
):
    message = build_error({**raw, **extra}, config=cfg)
    assert f"rule 'r', resource {resource}" in message
    assert f"existing job definition 'my-def', whose {what} cannot be overridden" in message


def test_existing_job_definition_is_passed_through():
    job = build({"aws_batch_job_definition": "my-def:3"})
    assert job.definition == "my-def:3"
    assert build(config=config(job_definition="global-def")).definition == "global-def"
    rule_wins = build({"aws_batch_job_definition": "rule-def"}, config=config(job_definition="g"))
    assert rule_wins.definition == "rule-def"


def test_global_secrets_with_a_rules_existing_job_definition_are_refused_naming_the_rule():
    cfg = config(secrets={"DB_PASSWORD": SM + "db-pass"})
    message = build_error({"aws_batch_job_definition": "prebuilt:3"}, config=cfg)
    assert "rule 'r', resource aws_batch_job_definition: 'prebuilt:3'" in message
    assert "--aws-batch-secrets" in message
    # Without global secrets the rule's own definition is fine.
    assert build({"aws_batch_job_definition": "prebuilt:3"}).definition == "prebuilt:3"


def test_global_secrets_with_existing_job_definition_are_refused():

    def configure_and_build() -> spec.JobSpec:
        cfg = configuration.global_config(
            **settings(
                execution_role=EXEC_ROLE,
                secrets=secrets_json(DB_PASSWORD="db-pass"),
                job_definition="my-def",
            )
        )
        return build(config=cfg)

    # Refused either when the settings are read or when a job is built.
    with pytest.raises(WorkflowError, match="secrets"):
        configure_and_build()


# Tags, priority, share ---------------------------------------------------------------


def test_rule_tags_merge_over_global_tags():
    cfg = config(tags={"team": "genomics", "env": "prod"})
    job = build({"aws_batch_tags": "env=dev,rule=x"}, config=cfg)
    assert job.tags == {"team": "genomics", "env": "dev", "rule": "x"}
    assert build(config=cfg).tags == {"team": "genomics", "env": "prod"}


def test_merged_tags_over_50_are_an_error_naming_the_rule():
    cfg = config(tags={f"g{i}": "v" for i in range(30)})
    message = build_error({"aws_batch_tags": ",".join(f"r{i}=v" for i in range(21))}, config=cfg)
    assert "rule 'r', resource aws_batch_tags" in message
    assert "At most 50 tags are allowed, got 51" in message
    # 50 together is fine.
    assert (
        len(build({"aws_batch_tags": ",".join(f"r{i}=v" for i in range(20))}, config=cfg).tags)
        == 50
    )


def test_rule_priority_and_share_override_the_settings():
    cfg = config(scheduling_priority=7, share_identifier="global")
    assert build(config=cfg).scheduling_priority == 7
    assert build(config=cfg).share_identifier == "global"
    job = build(
        {"aws_batch_scheduling_priority": 0, "aws_batch_share_identifier": "teamA"}, config=cfg
    )
    assert job.scheduling_priority == 0
    assert job.share_identifier == "teamA"


# Fargate ---------------------------------------------------------------------------------


def test_fargate_job_without_execution_role_is_an_error():
    message = build_error(config=config(execution_role=None), platform=Platform.FARGATE)
    assert "setting --aws-batch-execution-role" in message
    assert "'default-q'" in message
    assert "Fargate jobs need an execution role" in message


def test_fargate_on_an_existing_definition_needs_no_execution_role():
    job = build(
        {"aws_batch_job_definition": "fg-def"},
        config=config(execution_role=None),
        platform=Platform.FARGATE,
    )
    assert job.definition == "fg-def"


def test_fargate_spec_memory_raised_with_warning_and_ephemeral_storage():
    job = build(
        {"aws_batch_vcpu": "0.5", "mem_mb": 3000, "disk_mb": 51200},
        platform=Platform.FARGATE,
        config=config(assign_public_ip=True, job_role=JOB_ROLE),
    )
    assert job.resources == Resources(Fraction(1, 2), 3072, 0)
    assert len(job.warnings) == 1
    assert job.definition == spec.DefinitionSpec(
        image="img:1",
        platform=Platform.FARGATE,
        job_role=JOB_ROLE,
        execution_role=EXEC_ROLE,
        secrets=(),
        assign_public_ip=True,
        ephemeral_storage_gib=50,
    )


@pytest.mark.parametrize("disk", [None, 1000, 20480])
def test_fargate_small_or_unusable_disk_keeps_the_default_storage(disk):
    job = build({"disk_mb": disk} if disk is not None else {}, platform=Platform.FARGATE)
    assert job.definition.ephemeral_storage_gib is None


def test_ec2_ignores_disk_mb():
    assert build({"disk_mb": 500 * 1024}).definition.ephemeral_storage_gib is None


def test_fargate_disk_over_200_gib_is_an_error():
    message = build_error({"disk_mb": 300 * 1024}, platform=Platform.FARGATE)
    assert "rule 'r', resource disk_mb: 307200." in message


def test_fargate_threads_rounded_up_with_a_warning():
    job = build({"mem_mb": 8192}, threads=3, platform=Platform.FARGATE, rule="t")
    assert job.resources == Resources(Fraction(4), 8192, 0)
    assert any("requesting 4 vCPU" in w for w in job.warnings)


def test_fargate_explicit_odd_vcpu_is_an_error():
    message = build_error({"aws_batch_vcpu": 3}, platform=Platform.FARGATE)
    assert "rule 'r', resource aws_batch_vcpu" in message


@pytest.mark.parametrize(
    ("raw", "resource"),
    [
        ({"aws_batch_gpu": 1, "aws_batch_vcpu": 4, "aws_batch_mem_mb": 8192}, "aws_batch_gpu"),
        ({"gpu": 1}, "gpu"),
    ],
)
def test_fargate_gpu_error_names_the_resource_that_asked_for_it(raw, resource):
    message = build_error(raw, platform=Platform.FARGATE)
    assert "Fargate does not offer GPUs" in message
    assert f"rule 'r', resource {resource}: 1." in message


@pytest.mark.parametrize(
    ("raw", "resource"),
    [({"aws_batch_gpu": 1}, "aws_batch_gpu"), ({"gpu": 1, "aws_batch_vcpu": 4}, "gpu")],
)
def test_fargate_gpu_error_names_the_resource_when_vcpu_comes_from_elsewhere(raw, resource):
    message = build_error(raw, platform=Platform.FARGATE)
    assert f"rule 'r', resource {resource}: 1." in message


# global_config ---------------------------------------------------------------------------


def test_global_config_validates_and_converts_settings():
    cfg = configuration.global_config(
        **settings(
            job_queue=" q ",
            job_role="",
            execution_role=EXEC_ROLE,
            task_timeout="600",
            tags="a=b",
            secrets=secrets_json(A="a"),
            scheduling_priority=3,
            share_identifier="s1",
            job_definition="",
            assign_public_ip=True,
        )
    )
    assert cfg == configuration.GlobalConfig(
        default_queue="q",
        image="img:1",
        job_role=None,
        execution_role=EXEC_ROLE,
        timeout=600,
        tags={"a": "b"},
        secrets={"A": SM + "a"},
        scheduling_priority=3,
        share_identifier="s1",
        job_definition=None,
        assign_public_ip=True,
    )


def test_global_config_empty_optional_settings_are_none():
    cfg = configuration.global_config(**settings(tags="", secrets="", share_identifier=""))
    assert cfg.tags == {}
    assert cfg.secrets == {}
    assert cfg.share_identifier is None
    assert cfg.scheduling_priority is None
    assert cfg.timeout == 300


@pytest.mark.parametrize(
    ("changes", "fragments"),
    [
        ({"job_queue": None}, ["setting --aws-batch-job-queue", "SNAKEMAKE_AWS_BATCH_JOB_QUEUE"]),
        ({"job_queue": "  "}, ["setting --aws-batch-job-queue"]),
        ({"image": None}, ["--container-image"]),
        ({"image": ""}, ["--container-image"]),
        (
            {"task_timeout": 10},
            [
                "setting --aws-batch-task-timeout (SNAKEMAKE_AWS_BATCH_TASK_TIMEOUT): 10.",
                "at least 60",
            ],
        ),
        ({"tags": "aws:x=1"}, ["setting --aws-batch-tags", "aws:"]),
        (
            {"secrets": secrets_json(A="a")},
            ["setting --aws-batch-secrets", "--aws-batch-execution-role"],
        ),
        (
            {"secrets": "[1]", "execution_role": EXEC_ROLE},
            ["setting --aws-batch-secrets", "'name' and 'valueFrom'"],
        ),
        ({"scheduling_priority": 10000}, ["setting --aws-batch-scheduling-priority", "0 to 9999"]),
        ({"share_identifier": "a b"}, ["setting --aws-batch-share-identifier"]),
    ],
)
def test_global_config_bad_setting_is_named(changes, fragments):
    with pytest.raises(WorkflowError) as info:
        configuration.global_config(**settings(**changes))
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message


# check_rules: the start-up check -------------------------------------------------------


def rule(name: str, **resources: object) -> types.SimpleNamespace:
    return types.SimpleNamespace(name=name, resources=resources)


def check_rules(rules, config, platform_of, check_definition=lambda name: None, **limits):
    spec.check_rules(rules, config, platform_of, check_definition, **limits)


def test_check_rules_asks_for_the_default_queue_then_each_rules_queue():
    asked: list[str] = []

    def platform_of(queue: str) -> Platform:
        asked.append(queue)
        return Platform.EC2

    rules = [
        rule("plain", aws_batch_mem_mb=2048),
        rule("special", aws_batch_job_queue="special-q"),
        rule("dynamic", aws_batch_vcpu=lambda wildcards: 4),
    ]
    check_rules(rules, CONFIG, platform_of)
    assert asked == ["default-q", "special-q"]


def test_check_rules_refuses_a_bad_static_value_naming_the_rule():
    with pytest.raises(WorkflowError, match=r"aws_batch_vcpu.*'align'|'align'.*aws_batch_vcpu"):
        check_rules([rule("align", aws_batch_vcpu=0)], CONFIG, lambda q: Platform.EC2)


def test_check_rules_fits_a_static_request_to_the_queues_platform():
    with pytest.raises(WorkflowError, match="Fargate does not offer GPUs") as info:
        check_rules([rule("train", aws_batch_gpu=1)], CONFIG, lambda q: Platform.FARGATE)
    assert "rule 'train', resource aws_batch_gpu: 1" in str(info.value)


def test_check_rules_checks_values_that_involve_the_settings():
    with pytest.raises(WorkflowError, match="execution role"):
        check_rules(
            [rule("db", aws_batch_secrets=secrets_json(A="a"))],
            config(execution_role=None),
            lambda q: Platform.EC2,
        )


@pytest.mark.parametrize(
    ("misspelled", "meant"),
    [
        ("aws_batch_vcpus", "aws_batch_vcpu"),
        ("aws_batch_queue", "aws_batch_job_queue"),
        ("aws_batch_memory", "aws_batch_mem_mb"),
        ("aws_batch_retry", "aws_batch_retry_strategy"),
        ("aws_batch_image", "aws_batch_container_image"),
    ],
)
def test_check_rules_refuses_an_unknown_plugin_resource_with_the_closest_name(misspelled, meant):
    with pytest.raises(WorkflowError) as info:
        check_rules([rule("align", **{misspelled: 4})], CONFIG, lambda q: Platform.EC2)
    message = str(info.value)
    assert f"Rule 'align' sets the resource {misspelled}," in message
    assert f"Did you mean {meant}?" in message
    assert message.endswith("\n")


def test_an_unknown_resource_with_nothing_close_lists_the_known_ones():
    with pytest.raises(WorkflowError) as info:
        check_rules([rule("r", aws_batch_zzz=1)], CONFIG, lambda q: Platform.EC2)
    assert "Did you mean" not in str(info.value)
    assert "aws_batch_mem_mb, " in str(info.value)


def test_resources_not_named_like_the_plugins_are_left_to_snakemake():
    check_rules(
        [rule("r", mem_mb=100, my_own=1, aws_batch_task_timeout=600)],
        CONFIG,
        lambda q: Platform.EC2,
    )


@pytest.mark.parametrize(
    ("name", "value", "shown"),
    [
        ("submit_rate", 0, "--aws-batch-submit-rate"),
        ("submit_rate", -5.0, "--aws-batch-submit-rate"),
        ("runnable_warning", -1, "--aws-batch-runnable-warning"),
        ("runnable_warning", 0, "--aws-batch-runnable-warning"),
        ("missing_job_grace", 0, "--aws-batch-missing-job-grace"),
        ("missing_job_grace", 9, "--aws-batch-missing-job-grace"),
    ],
)
def test_pacing_and_watching_settings_are_checked(name, value, shown):
    variable = "SNAKEMAKE_" + shown[2:].upper().replace("-", "_")
    with pytest.raises(WorkflowError) as info:
        configuration.global_config(**settings(**{name: value}))
    assert f"setting {shown} ({variable}): {value!r}" in str(info.value)


def test_pacing_and_watching_settings_are_kept():
    config_ = configuration.global_config(
        **settings(submit_rate=20, runnable_warning=60, missing_job_grace=10)
    )
    assert (config_.submit_rate, config_.runnable_warning, config_.missing_job_grace) == (
        20.0,
        60,
        10,
    )


@pytest.mark.parametrize(("value", "expected"), [(0, 0), (2, 2), (10_000, 10_000), ("25", 25)])
def test_array_min_size_is_accepted_from_0_to_10000(value: object, expected: int) -> None:
    assert configuration.global_config(**settings(array_min_size=value)).array_min_size == expected


def test_array_min_size_defaults_to_10() -> None:
    assert configuration.global_config(**settings()).array_min_size == 10
    assert configuration.GlobalConfig(default_queue="q", image="i").array_min_size == 10


@pytest.mark.parametrize("value", [-1, 10_001, "x", 2.5, True])
def test_a_bad_array_min_size_is_refused_naming_the_setting_value_and_range(value: object) -> None:
    with pytest.raises(WorkflowError) as info:
        configuration.global_config(**settings(array_min_size=value))
    message = str(info.value)
    assert (
        f"setting --aws-batch-array-min-size (SNAKEMAKE_AWS_BATCH_ARRAY_MIN_SIZE): {value!r}."
        in message
    )
    assert "from 0 to 10000" in message


@pytest.mark.parametrize(("value", "expected"), [(0, 0), (3, 3), (10, 10), ("1", 1)])
def test_spot_retries_are_accepted_from_0_to_10(value: object, expected: int) -> None:
    assert configuration.global_config(**settings(spot_retries=value)).spot_retries == expected
    assert configuration.global_config(**settings()).spot_retries == 2


@pytest.mark.parametrize("value", [-1, 11, "two", 1.5, False])
def test_bad_spot_retries_are_refused_naming_the_setting_value_and_range(value: object) -> None:
    with pytest.raises(WorkflowError) as info:
        configuration.global_config(**settings(spot_retries=value))
    message = str(info.value)
    assert f"setting --aws-batch-spot-retries (SNAKEMAKE_AWS_BATCH_SPOT_RETRIES): {value!r}." in (
        message
    )
    assert "from 0 to 10" in message


def test_the_documented_resource_names_are_the_known_ones():
    import pathlib
    import re

    further = pathlib.Path(__file__).parents[2] / "docs" / "further.md"
    text = further.read_text()
    paragraph = text[text.index("The known names are") :].split("\n\n", 1)[0]
    documented = set(re.findall(r"`(aws_batch_\w+)`", paragraph))
    assert documented == {n for n in resources.JOB_RESOURCES if n.startswith("aws_batch_")}


def test_a_queue_a_rule_names_that_does_not_exist_names_the_rule():
    def platform_of(queue: str) -> Platform:
        if queue == "special-queue":
            raise WorkflowError("AWS Batch job queue 'special-queue' does not exist.")
        return Platform.EC2

    expected = "Rule 'special', resource aws_batch_job_queue: AWS Batch job queue 'special-queue'"
    rules = [rule("special", aws_batch_job_queue="special-queue")]
    with pytest.raises(WorkflowError, match=expected):
        check_rules(rules, CONFIG, platform_of)
    with pytest.raises(WorkflowError, match=expected):
        spec.build(
            rule="special",
            raw={"aws_batch_job_queue": "special-queue"},
            threads=1,
            config=CONFIG,
            platform_of=platform_of,
        )


# Every plain value is checked at start, whatever else the rule sets.


@pytest.mark.parametrize(
    ("resources", "platform", "fragments"),
    [
        ({"aws_batch_mem_mb": 512}, Platform.EC2, ["aws_batch_mem_mb: 512", "at least 1024"]),
        ({"aws_batch_mem_mb": 200000}, Platform.FARGATE, ["aws_batch_mem_mb: 200000"]),
        ({"mem_mb": 200000}, Platform.FARGATE, ["resource mem_mb: 200000"]),
        ({"runtime": 0}, Platform.EC2, ["resource runtime: 0"]),
        ({"gpu": 1}, Platform.FARGATE, ["resource gpu: 1", "Fargate does not offer GPUs"]),
        ({"disk_mb": 300_000}, Platform.FARGATE, ["resource disk_mb: 300000"]),
        ({"_cores": 2, "aws_batch_mem_mb": 30720}, Platform.FARGATE, ["aws_batch_mem_mb: 30720"]),
        ({"_cores": 64}, Platform.FARGATE, ["resource threads: '64'"]),
    ],
)
def test_a_plain_value_alone_is_checked_at_start(resources, platform, fragments):
    with pytest.raises(WorkflowError) as info:
        check_rules([rule("one", **resources)], CONFIG, lambda q: platform)
    for fragment in fragments:
        assert fragment in str(info.value)
    assert "'one'" in str(info.value)


@pytest.mark.parametrize(
    "resources",
    [
        # Threads that are a function of the job may reach what the memory needs.
        {"_cores": lambda wildcards: 8, "aws_batch_mem_mb": 30720},
        {"aws_batch_mem_mb": lambda wildcards: 200000},
        {"mem_mb": "200 GB"},  # a string Snakemake has not parsed: left to the job
        {"_cores": 4, "aws_batch_mem_mb": 30720},
    ],
)
def test_what_depends_on_the_job_is_left_to_its_submission(resources):
    check_rules([rule("one", **resources)], CONFIG, lambda q: Platform.FARGATE)


def test_max_threads_caps_the_threads_checked_at_start():
    rules = [rule("one", _cores=64)]
    check_rules(rules, CONFIG, lambda q: Platform.FARGATE, max_threads=16)
    with pytest.raises(WorkflowError, match="threads"):
        check_rules(rules, CONFIG, lambda q: Platform.FARGATE)


def test_a_fargate_queue_without_an_execution_role_is_refused_at_start():
    settings_ = config(execution_role=None, region="eu-west-1")
    with pytest.raises(WorkflowError) as info:
        check_rules([rule("one")], settings_, lambda q: Platform.FARGATE)
    assert "Rule 'one' runs on queue 'default-q' in region eu-west-1, a Fargate queue" in str(
        info.value
    )
    assert "Fargate jobs need an execution role" in str(info.value)


def test_each_existing_job_definition_is_looked_up_once_at_start():
    asked: list[str] = []
    rules = [
        rule("a"),
        rule("b", aws_batch_job_definition="special:2"),
        rule("c", aws_batch_job_definition="special:2"),
        rule("d", aws_batch_job_definition=lambda wildcards: "later"),
    ]
    check_rules(rules, config(job_definition="shared"), lambda q: Platform.EC2, asked.append)
    assert asked == ["shared", "special:2"]


@pytest.mark.parametrize(
    ("changes", "rules", "prefix"),
    [
        (
            {"job_definition": "nope:3"},
            [],
            "Setting --aws-batch-job-definition (SNAKEMAKE_AWS_BATCH_JOB_DEFINITION): ",
        ),
        (
            {},
            [rule("r", aws_batch_job_definition="nope:3")],
            "Rule 'r', resource aws_batch_job_definition: ",
        ),
    ],
)
def test_a_missing_job_definition_is_refused_at_start_naming_where_it_was_given(
    changes, rules, prefix
):
    def check_definition(name: str) -> None:
        raise WorkflowError(f"AWS Batch has no ACTIVE job definition {name!r}.")

    with pytest.raises(WorkflowError) as info:
        check_rules(rules, config(**changes), lambda q: Platform.EC2, check_definition)
    assert str(info.value) == prefix + "AWS Batch has no ACTIVE job definition 'nope:3'."


# Container options -------------------------------------------------------------------------

FS = "fs-0123456789abcdef0"
EFS_REFS = {"name": "refs", "containerPath": "/refs", "readOnly": True, "efs": {"fileSystemId": FS}}
HOST_SCRATCH = {"name": "scratch", "containerPath": "/scratch", "hostPath": "/mnt/scratch"}
REFS = Volume("refs", "/refs", True, efs=Efs(FS))
SCRATCH = Volume("scratch", "/scratch", host_path="/mnt/scratch")
NOFILE = '[{"name": "nofile", "softLimit": 1024, "hardLimit": 4096}]'
CONTAINER_RESOURCES = {
    "aws_batch_shared_memory_mb": "2048",
    "aws_batch_volumes": json.dumps([EFS_REFS, HOST_SCRATCH]),
    "aws_batch_ulimits": NOFILE,
    "aws_batch_privileged": "true",
    "aws_batch_cpu_architecture": "arm64",
}


def build_on(raw=None, *, platform=Platform.EC2, architectures=None, cfg=CONFIG, rule="r"):
    """``build`` with the queue's CPU architectures as the service would say them."""
    return spec.build(
        rule=rule,
        raw=raw or {},
        threads=1,
        config=cfg,
        platform_of=lambda queue: platform,
        architectures_of=lambda queue: architectures,
    )


def build_on_error(raw=None, **kwargs) -> str:
    with pytest.raises(WorkflowError) as info:
        build_on(raw, **kwargs)
    return str(info.value)


def test_the_rules_container_resources_reach_the_definition():
    job = build_on(CONTAINER_RESOURCES, architectures=frozenset({"ARM64"}))
    assert job.definition.options == ContainerOptions(
        shared_memory_mb=2048,
        volumes=(REFS, SCRATCH),
        ulimits=(Ulimit("nofile", 1024, 4096),),
        privileged=True,
        cpu_architecture="ARM64",
    )


def test_without_container_resources_or_settings_the_options_are_the_defaults():
    assert build_on().definition.options == ContainerOptions()
    assert build_on(platform=Platform.FARGATE).definition.options == ContainerOptions()


def test_the_alias_shared_memory_size_mb_sets_the_shared_memory():
    assert build_on({"shared_memory_size_mb": 512}).definition.options.shared_memory_mb == 512
    both = {"shared_memory_size_mb": 512, "aws_batch_shared_memory_mb": 1024}
    assert build_on(both).definition.options.shared_memory_mb == 1024


def test_the_settings_log_group_platform_version_and_volumes_reach_every_definition():
    cfg = config(
        volumes=(REFS,), log_group="/aws/batch/snakemake", fargate_platform_version="1.4.0"
    )
    options = build_on(platform=Platform.FARGATE, cfg=cfg).definition.options
    assert options == ContainerOptions(
        volumes=(REFS,), log_group="/aws/batch/snakemake", fargate_platform_version="1.4.0"
    )


def test_a_rules_volume_replaces_the_settings_volume_of_the_same_name():
    cfg = config(volumes=(REFS, SCRATCH))
    own = {**EFS_REFS, "containerPath": "/data/refs", "readOnly": False}
    job = build_on({"aws_batch_volumes": json.dumps([own])}, cfg=cfg)
    assert job.definition.options.volumes == (
        Volume("refs", "/data/refs", False, efs=Efs(FS)),
        SCRATCH,
    )
    other = {"name": "data", "containerPath": "/data", "hostPath": "/mnt/data"}
    joined = build_on({"aws_batch_volumes": json.dumps([other])}, cfg=cfg)
    assert [v.name for v in joined.definition.options.volumes] == ["refs", "scratch", "data"]


def test_a_rules_volume_at_the_path_of_a_settings_volume_is_refused_naming_the_rule():
    clash = {"name": "genomes", "containerPath": "/refs/", "hostPath": "/mnt/genomes"}
    message = build_on_error(
        {"aws_batch_volumes": json.dumps([clash])}, cfg=config(volumes=(REFS,)), rule="align"
    )
    assert "rule 'align', resource aws_batch_volumes" in message
    assert "Two volumes are mounted at /refs/." in message


FARGATE_REFUSALS = [
    ("aws_batch_shared_memory_mb", 64, "a shared memory size"),
    ("shared_memory_size_mb", 64, "a shared memory size"),
    ("aws_batch_volumes", json.dumps([HOST_SCRATCH]), "host volumes"),
    ("aws_batch_volumes", json.dumps([EFS_REFS, HOST_SCRATCH]), "host volumes"),
    ("aws_batch_ulimits", NOFILE, "ulimits"),
    ("aws_batch_privileged", True, "privileged containers"),
    ("aws_batch_privileged", "True", "privileged containers"),
]


@pytest.mark.parametrize(("resource", "value", "what"), FARGATE_REFUSALS)
def test_fargate_refuses_what_only_ec2_runs_naming_rule_resource_and_queue(resource, value, what):
    message = build_on_error(
        {resource: value}, platform=Platform.FARGATE, cfg=config(region="eu-west-1"), rule="sort"
    )
    # Named and shown as the rule wrote them, the alias included.
    assert f"Invalid value for rule 'sort', resource {resource}: {value!r}. " in message
    assert (
        f"Rule 'sort' runs on queue 'default-q' in region eu-west-1: Fargate does not support "
        f"{what}; they need an EC2 queue." in message
    )
    # The same rule runs on EC2.
    build_on({resource: value}, platform=Platform.EC2, rule="sort")


def test_fargate_refusals_name_the_rules_own_queue():
    message = build_on_error(
        {"aws_batch_privileged": True, "aws_batch_job_queue": "fargate-q"},
        platform=Platform.FARGATE,
    )
    assert "Rule 'r' runs on queue 'fargate-q': Fargate does not support" in message


def test_fargate_runs_efs_volumes_privileged_false_and_arm64():
    job = build_on(
        {
            "aws_batch_volumes": json.dumps([EFS_REFS]),
            "aws_batch_privileged": False,
            "aws_batch_cpu_architecture": "ARM64",
        },
        platform=Platform.FARGATE,
        architectures=frozenset({"X86_64"}),  # Fargate does not ask the instance types
    )
    assert job.definition.options.volumes == (REFS,)
    assert job.definition.options.cpu_architecture == "ARM64"
    assert job.definition.options.privileged is False


def test_efs_on_fargate_before_platform_version_1_4_0_is_refused():
    cfg = config(fargate_platform_version="1.3.0")
    message = build_on_error(
        {"aws_batch_volumes": json.dumps([EFS_REFS])}, platform=Platform.FARGATE, cfg=cfg
    )
    assert "rule 'r', resource aws_batch_volumes" in message
    assert "EFS volumes on Fargate need platform version 1.4.0 or later" in message
    assert "--aws-batch-fargate-platform-version is 1.3.0" in message
    # EC2 has no platform version.
    assert build_on({"aws_batch_volumes": json.dumps([EFS_REFS])}, cfg=cfg).definition.options
    assert build_on(
        {"aws_batch_volumes": json.dumps([EFS_REFS])},
        platform=Platform.FARGATE,
        cfg=config(fargate_platform_version="1.4.0"),
    )


def test_a_host_volume_of_the_setting_on_a_fargate_rule_names_the_setting():
    message = build_on_error(platform=Platform.FARGATE, cfg=config(volumes=(SCRATCH,)), rule="fg")
    assert message.startswith(
        "Invalid value for setting --aws-batch-volumes (SNAKEMAKE_AWS_BATCH_VOLUMES): ['scratch']. "
    )
    assert "Rule 'fg' runs on queue 'default-q': Fargate does not support host volumes" in message


def test_a_settings_host_volume_is_not_blamed_on_the_rules_efs_volume():
    message = build_on_error(
        {"aws_batch_volumes": json.dumps([EFS_REFS])},
        platform=Platform.FARGATE,
        cfg=config(volumes=(SCRATCH,)),
    )
    assert "setting --aws-batch-volumes (SNAKEMAKE_AWS_BATCH_VOLUMES): ['scratch']." in message
    assert "resource aws_batch_volumes" not in message
    assert "Fargate does not support host volumes" in message


def test_a_rules_volume_that_replaces_the_settings_host_volume_runs_on_fargate():
    efs_scratch = {**HOST_SCRATCH, "efs": {"fileSystemId": FS}}
    del efs_scratch["hostPath"]
    job = build_on(
        {"aws_batch_volumes": json.dumps([efs_scratch])},
        platform=Platform.FARGATE,
        cfg=config(volumes=(SCRATCH,)),
    )
    assert job.definition.options.volumes == (Volume("scratch", "/scratch", efs=Efs(FS)),)


def test_the_rules_own_fargate_refusal_comes_before_the_settings():
    message = build_on_error(
        {"aws_batch_ulimits": NOFILE}, platform=Platform.FARGATE, cfg=config(volumes=(SCRATCH,))
    )
    assert "rule 'r', resource aws_batch_ulimits" in message
    assert "Fargate does not support ulimits" in message


def test_arm64_on_an_ec2_queue_of_x86_instances_is_refused_naming_queue_and_architectures():
    asked: list[str] = []

    def architectures_of(queue: str) -> frozenset[str]:
        asked.append(queue)
        return frozenset({"X86_64"})

    with pytest.raises(WorkflowError) as info:
        spec.build(
            rule="map",
            raw={"aws_batch_cpu_architecture": "arm64", "aws_batch_job_queue": "x86-q"},
            threads=1,
            config=config(region="us-west-2"),
            platform_of=lambda queue: Platform.EC2,
            architectures_of=architectures_of,
        )
    message = str(info.value)
    assert asked == ["x86-q"]
    assert message.startswith(
        "Invalid value for rule 'map', resource aws_batch_cpu_architecture: 'arm64'. "
    )
    assert "Rule 'map' runs on queue 'x86-q' in region us-west-2:" in message
    assert "No compute environment of the queue runs ARM64 instances" in message
    assert "their instance types are X86_64" in message


@pytest.mark.parametrize(
    "architectures", [frozenset({"ARM64"}), frozenset({"ARM64", "X86_64"}), None]
)
def test_arm64_on_ec2_runs_when_the_queue_offers_it_or_is_not_known(architectures):
    job = build_on({"aws_batch_cpu_architecture": "ARM64"}, architectures=architectures)
    assert job.definition.options.cpu_architecture == "ARM64"


def test_build_without_architectures_of_does_not_refuse_an_architecture():
    assert build({"aws_batch_cpu_architecture": "ARM64"}).definition.options.cpu_architecture == (
        "ARM64"
    )


@pytest.mark.parametrize(
    ("raw", "cfg"),
    [
        ({"aws_batch_job_definition": "my-def"}, CONFIG),
        ({}, config(job_definition="my-def")),
    ],
)
@pytest.mark.parametrize(
    ("resource", "value", "what"),
    [
        ("aws_batch_shared_memory_mb", 64, "shared memory size"),
        ("aws_batch_volumes", json.dumps([EFS_REFS]), "volumes"),
        ("aws_batch_ulimits", NOFILE, "ulimits"),
        ("aws_batch_privileged", True, "privileged mode"),
        ("aws_batch_privileged", False, "privileged mode"),
        ("aws_batch_cpu_architecture", "ARM64", "CPU architecture"),
    ],
)
def test_an_existing_job_definition_refuses_every_container_resource(
    raw, cfg, resource, value, what
):
    message = build_error({**raw, resource: value}, config=cfg)
    assert f"Invalid value for rule 'r', resource {resource}: " in message
    assert f"existing job definition 'my-def', whose {what} cannot be overridden" in message


def test_an_existing_job_definition_refuses_the_shared_memory_alias():
    message = build_error({"aws_batch_job_definition": "my-def", "shared_memory_size_mb": 64})
    assert "whose shared memory size cannot be overridden" in message


DEFINITION_SETTINGS = [
    ({"volumes": json.dumps([EFS_REFS])}, "--aws-batch-volumes", "volumes"),
    ({"log_group": "/aws/batch/snakemake"}, "--aws-batch-log-group", "log configuration"),
    (
        {"fargate_platform_version": "1.4.0"},
        "--aws-batch-fargate-platform-version",
        "Fargate platform version",
    ),
]


@pytest.mark.parametrize(("changes", "setting", "what"), DEFINITION_SETTINGS)
def test_a_definition_setting_with_the_job_definition_setting_is_refused(changes, setting, what):
    variable = "SNAKEMAKE_" + setting[2:].upper().replace("-", "_")
    with pytest.raises(WorkflowError) as info:
        configuration.global_config(**settings(job_definition="prebuilt:3", **changes))
    message = str(info.value)
    (given,) = changes.values()
    assert message.startswith(f"Invalid value for setting {setting} ({variable}): {given!r}. ")
    assert "existing job definition 'prebuilt:3' (--aws-batch-job-definition)" in message
    assert f"which holds its own {what}" in message
    # Each alone is fine.
    configuration.global_config(**settings(**changes))


@pytest.mark.parametrize(("changes", "setting", "what"), DEFINITION_SETTINGS)
def test_a_definition_setting_with_a_rules_job_definition_is_refused_naming_the_rule(
    changes, setting, what
):
    cfg = configuration.global_config(**settings(**changes))
    message = build_error({"aws_batch_job_definition": "prebuilt:3"}, config=cfg, rule="old")
    assert message.startswith(
        "Invalid value for rule 'old', resource aws_batch_job_definition: 'prebuilt:3'. "
    )
    assert f"{setting} is given to every job" in message
    assert f"gets only that definition's ({what})" in message
    with pytest.raises(WorkflowError, match=setting):
        spec.check_rule("old", {"aws_batch_job_definition": "prebuilt:3"}, cfg)


def test_the_latest_platform_version_goes_with_an_existing_job_definition():
    cfg = configuration.global_config(
        **settings(job_definition="prebuilt:3", fargate_platform_version="LATEST")
    )
    assert cfg.job_definition == "prebuilt:3"
    assert build({"aws_batch_job_definition": "other:1"}).definition == "other:1"


def test_global_config_reads_the_container_settings():
    cfg = configuration.global_config(
        **settings(
            volumes=json.dumps([EFS_REFS, HOST_SCRATCH]),
            log_group="/aws/batch/snakemake",
            fargate_platform_version=" 1.4.0 ",
        )
    )
    assert cfg.volumes == (REFS, SCRATCH)
    assert cfg.log_group == "/aws/batch/snakemake"
    assert cfg.fargate_platform_version == "1.4.0"
    default = configuration.global_config(**settings())
    assert (default.volumes, default.log_group, default.fargate_platform_version) == (
        (),
        None,
        "LATEST",
    )
    empty = configuration.global_config(**settings(volumes="", log_group=""))
    assert (empty.volumes, empty.log_group) == ((), None)


@pytest.mark.parametrize(
    ("changes", "setting", "fragment"),
    [
        ({"volumes": "[{"}, "--aws-batch-volumes", "not valid JSON"),
        (
            {"volumes": json.dumps([EFS_REFS, EFS_REFS])},
            "--aws-batch-volumes",
            "The volume name 'refs' is used twice.",
        ),
        ({"log_group": "my logs"}, "--aws-batch-log-group", "CloudWatch Logs group name"),
        ({"log_group": "g" * 513}, "--aws-batch-log-group", "1 to 512"),
        ({"fargate_platform_version": "1.4"}, "--aws-batch-fargate-platform-version", "1.4.0"),
        (
            {"fargate_platform_version": "latest-ish"},
            "--aws-batch-fargate-platform-version",
            "LATEST",
        ),
    ],
)
def test_a_bad_container_setting_is_refused_naming_it(changes, setting, fragment):
    variable = "SNAKEMAKE_" + setting[2:].upper().replace("-", "_")
    with pytest.raises(WorkflowError) as info:
        configuration.global_config(**settings(**changes))
    message = str(info.value)
    assert message.startswith(f"Invalid value for setting {setting} ({variable}): ")
    assert fragment in message


@pytest.mark.parametrize(
    ("resources_", "fragment"),
    [
        ({"aws_batch_ulimits": "nofile=1024"}, "resource aws_batch_ulimits: 'nofile=1024'."),
        ({"aws_batch_volumes": "[1]"}, "resource aws_batch_volumes: 1."),
        ({"aws_batch_privileged": "yes"}, "resource aws_batch_privileged: 'yes'."),
        ({"shared_memory_size_mb": -1}, "resource shared_memory_size_mb: -1."),
    ],
)
def test_check_rules_refuses_a_bad_static_container_value_at_start(resources_, fragment):
    with pytest.raises(WorkflowError) as info:
        check_rules([rule("align", **resources_)], CONFIG, lambda q: Platform.EC2)
    assert f"rule 'align', {fragment}" in str(info.value)


def test_check_rules_leaves_a_container_value_that_depends_on_the_job_to_it():
    check_rules(
        [rule("align", aws_batch_ulimits=lambda wildcards: "not json")],
        CONFIG,
        lambda q: Platform.FARGATE,
    )


def test_check_rules_refuses_at_start_what_the_queue_cannot_run():
    with pytest.raises(WorkflowError, match="Fargate does not support privileged containers"):
        check_rules([rule("root", aws_batch_privileged=True)], CONFIG, lambda q: Platform.FARGATE)
    rules = [rule("map", aws_batch_cpu_architecture="ARM64")]
    with pytest.raises(WorkflowError, match="runs ARM64 instances"):
        check_rules(
            rules,
            CONFIG,
            lambda q: Platform.EC2,
            architectures_of=lambda q: frozenset({"X86_64"}),
        )
    check_rules(
        rules, CONFIG, lambda q: Platform.EC2, architectures_of=lambda q: frozenset({"ARM64"})
    )
