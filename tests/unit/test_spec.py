"""From rule resources and settings to a job spec."""

from __future__ import annotations

import json
import types
from fractions import Fraction

import pytest
from snakemake_interface_common.exceptions import WorkflowError

from snakemake_executor_plugin_aws_batch import spec
from snakemake_executor_plugin_aws_batch.platform import Platform

ROLE = "arn:aws:iam::1:role/e"
SM = "arn:aws:secretsmanager:us-west-2:123456789012:secret:"
CONFIG = spec.GlobalConfig(default_queue="q", image="img", execution_role=ROLE)


def build(raw=None, *, threads=1, config=CONFIG, platform=Platform.EC2, rule="r"):
    return spec.build(
        rule=rule,
        raw=raw or {},
        threads=threads,
        config=config,
        platform_of=lambda q: platform,
    )


def secrets_json(**pairs: str) -> str:
    return json.dumps([{"name": k, "valueFrom": SM + v} for k, v in pairs.items()])


def test_defaults():
    job = build()
    assert job.rule == "r"
    assert job.queue == "q"
    assert job.platform is Platform.EC2
    assert job.resources.vcpu == Fraction(1)
    assert job.resources.memory_mib == 1024
    assert job.resources.gpu == 0
    assert job.timeout == 300
    assert job.retry_strategy is None
    assert job.tags == {}
    assert job.name.startswith("snakejob-r-")
    assert isinstance(job.definition, spec.DefinitionSpec)
    assert job.definition.image == "img"
    assert job.definition.execution_role == ROLE
    assert job.definition.secrets == ()


@pytest.mark.parametrize(
    ("raw", "threads", "expected"),
    [
        ({"aws_batch_vcpu": 8}, 4, 8),
        ({"aws_batch_vcpu": "2"}, 4, 2),
        ({}, 4, 4),
        ({}, 0, 1),
    ],
)
def test_vcpu_precedence(raw, threads, expected):
    assert build(raw, threads=threads).resources.vcpu == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"aws_batch_mem_mb": 4096, "mem_mb": 2048}, 4096),
        ({"mem_mb": 2048}, 2048),
        ({}, 1024),
    ],
)
def test_memory_precedence(raw, expected):
    assert build(raw).resources.memory_mib == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [({"aws_batch_gpu": 2, "gpu": 1}, 2), ({"gpu": 1}, 1), ({}, 0)],
)
def test_gpu_precedence(raw, expected):
    assert build(raw).resources.gpu == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"aws_batch_timeout": 7200, "runtime": 10}, 7200),
        ({"runtime": 10}, 600),
        ({}, 300),
        ({"aws_batch_task_timeout": 900}, 900),
        ({"aws_batch_task_timeout": 900, "aws_batch_timeout": 120}, 120),
    ],
)
def test_timeout_precedence(raw, expected):
    assert build(raw).timeout == expected


def test_timeout_alias_is_checked_under_its_own_name():
    with pytest.raises(WorkflowError, match=r"resource aws_batch_task_timeout.*at least 60"):
        build({"aws_batch_task_timeout": 30})


def test_queue_per_rule_and_alias():
    seen = []

    def platform_of(queue):
        seen.append(queue)
        return Platform.EC2

    job = spec.build(
        rule="r",
        raw={"aws_batch_job_queue": "big"},
        threads=1,
        config=CONFIG,
        platform_of=platform_of,
    )
    assert job.queue == "big"
    assert seen == ["big"]
    assert build({"batch_queue": "old"}).queue == "old"
    assert build({"batch_queue": "old", "aws_batch_job_queue": "new"}).queue == "new"


def test_secrets_merge_rule_wins():
    config = spec.GlobalConfig(
        default_queue="q",
        image="img",
        execution_role=ROLE,
        secrets={"A": SM + "global-a", "B": SM + "global-b"},
    )
    job = build({"aws_batch_secrets": secrets_json(B="rule-b", C="rule-c")}, config=config)
    assert job.definition.secrets == (
        ("A", SM + "global-a"),
        ("B", SM + "rule-b"),
        ("C", SM + "rule-c"),
    )


def test_secrets_without_execution_role_is_error():
    config = spec.GlobalConfig(default_queue="q", image="img")
    with pytest.raises(WorkflowError, match=r"resource aws_batch_secrets.*execution role"):
        build({"aws_batch_secrets": secrets_json(A="a")}, config=config)


def test_tags_merge_rule_wins():
    config = spec.GlobalConfig(
        default_queue="q", image="img", execution_role=ROLE, tags={"team": "g", "env": "prod"}
    )
    job = build({"aws_batch_tags": "env=dev,rule=x"}, config=config)
    assert job.tags == {"team": "g", "env": "dev", "rule": "x"}


def test_merged_tags_over_limit_is_error():
    config = spec.GlobalConfig(
        default_queue="q",
        image="img",
        execution_role=ROLE,
        tags={f"g{i}": "v" for i in range(30)},
    )
    with pytest.raises(WorkflowError, match="At most 50 tags"):
        build({"aws_batch_tags": ",".join(f"r{i}=v" for i in range(30))}, config=config)


def test_rule_image_overrides_global():
    assert build({"aws_batch_container_image": "other:1"}).definition.image == "other:1"


def test_existing_job_definition_passed_through():
    job = build({"aws_batch_job_definition": "my-def:3"})
    assert job.definition == "my-def:3"


def test_global_existing_job_definition_passed_through():
    config = spec.GlobalConfig(
        default_queue="q", image="img", execution_role=ROLE, job_definition="global-def"
    )
    assert build(config=config).definition == "global-def"


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        ({"aws_batch_secrets": secrets_json(A="a")}, "aws_batch_secrets"),
        ({"aws_batch_container_image": "other:1"}, "aws_batch_container_image"),
    ],
)
def test_existing_job_definition_conflicts(raw, name):
    with pytest.raises(WorkflowError, match=f"resource {name}.*existing job definition 'my-def'"):
        build({**raw, "aws_batch_job_definition": "my-def"})


def test_fargate_without_execution_role_is_error():
    config = spec.GlobalConfig(default_queue="q", image="img")
    with pytest.raises(WorkflowError, match="Fargate jobs need an execution role"):
        build(config=config, platform=Platform.FARGATE)


def test_fargate_spec_and_ephemeral_storage():
    job = build({"mem_mb": 3000, "disk_mb": 51200}, platform=Platform.FARGATE)
    assert job.platform is Platform.FARGATE
    assert job.resources.memory_mib == 3072
    assert job.warnings
    assert job.definition.platform is Platform.FARGATE
    assert job.definition.ephemeral_storage_gib == 50


def test_ec2_note_carried_to_spec():
    job = build({"mem_mb": 500})
    assert job.resources.memory_mib == 1024
    assert len(job.notes) == 1


def test_optional_fields():
    job = build(
        {
            "aws_batch_scheduling_priority": 5,
            "aws_batch_share_identifier": "teamA",
            "aws_batch_consumable_resources": '[{"consumableResource": "lic", "quantity": 2}]',
            "aws_batch_job_name_suffix": "exp",
            "aws_batch_job_uuid": "run-1",
        },
        rule="my_rule",
    )
    assert job.scheduling_priority == 5
    assert job.share_identifier == "teamA"
    assert job.consumable_resources == [{"consumableResource": "lic", "quantity": 2}]
    assert job.name == "snakejob-my_rule-exp-run-1"


def test_global_priority_and_share_used_when_rule_has_none():
    config = spec.GlobalConfig(
        default_queue="q",
        image="img",
        execution_role=ROLE,
        scheduling_priority=7,
        share_identifier="global",
    )
    job = build(config=config)
    assert job.scheduling_priority == 7
    assert job.share_identifier == "global"


def get_retry_strategy(wildcards, attempt):
    """Return retry strategy based on dataset size (from the user guide)."""
    if wildcards.dataset == "large":
        return json.dumps(
            {
                "attempts": 5,
                "evaluateOnExit": [
                    {"action": "RETRY", "onExitCode": "137"},
                    {"action": "RETRY", "onStatusReason": "*timeout*"},
                ],
            }
        )
    return json.dumps({"attempts": 2})


def test_dynamic_retry_strategy_large():
    value = get_retry_strategy(types.SimpleNamespace(dataset="large"), 1)
    job = build({"aws_batch_retry_strategy": value})
    assert job.retry_strategy == {
        "attempts": 5,
        "evaluateOnExit": [
            {"action": "RETRY", "onExitCode": "137"},
            {"action": "RETRY", "onStatusReason": "*timeout*"},
        ],
    }


def test_dynamic_retry_strategy_small():
    value = get_retry_strategy(types.SimpleNamespace(dataset="small"), 1)
    assert build({"aws_batch_retry_strategy": value}).retry_strategy == {"attempts": 2}


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        ({"aws_batch_vcpu": "many"}, "aws_batch_vcpu"),
        ({"aws_batch_vcpu": 0}, "aws_batch_vcpu"),
        ({"aws_batch_mem_mb": 0}, "aws_batch_mem_mb"),
        ({"aws_batch_gpu": -1}, "aws_batch_gpu"),
        ({"aws_batch_job_queue": "  "}, "aws_batch_job_queue"),
        ({"runtime": 0}, "runtime"),
        ({"gpu": "x"}, "gpu"),
    ],
)
def test_bad_values_name_the_resource(raw, name):
    with pytest.raises(WorkflowError, match=f"rule 'r', resource {name}"):
        build(raw)


def test_global_config_validates_settings():
    config = spec.global_config(
        job_queue="q",
        image="img",
        job_role="",
        execution_role=ROLE,
        task_timeout=600,
        tags="a=b",
        secrets=secrets_json(A="a"),
        scheduling_priority=3,
        share_identifier="s1",
        job_definition="",
        assign_public_ip=True,
    )
    assert config.job_role is None
    assert config.job_definition is None
    assert config.timeout == 600
    assert config.tags == {"a": "b"}
    assert config.secrets == {"A": SM + "a"}
    assert config.scheduling_priority == 3
    assert config.assign_public_ip is True


def test_global_config_bad_timeout_names_setting():
    with pytest.raises(WorkflowError, match="setting --aws-batch-task-timeout"):
        spec.global_config(
            job_queue="q",
            image="img",
            job_role=None,
            execution_role=None,
            task_timeout=10,
            tags=None,
            secrets=None,
            scheduling_priority=None,
            share_identifier=None,
            job_definition=None,
            assign_public_ip=False,
        )
