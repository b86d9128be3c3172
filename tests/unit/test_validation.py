"""Checks of rule resources and settings: accepted values and error messages."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from snakemake_interface_common.exceptions import WorkflowError

from snakemake_executor_plugin_aws_batch import validation as v

SM_ARN = "arn:aws:secretsmanager:us-west-2:123456789012:secret:api-key"
SSM_ARN = "arn:aws:ssm:us-west-2:123456789012:parameter/db/password"


def origin(name: str) -> v.Origin:
    return v.Origin(name, "r")


INVALID = [
    # (check, resource, value, allowed-fragment)
    (v.secrets, "aws_batch_secrets", "not json", "not valid JSON"),
    (v.secrets, "aws_batch_secrets", '{"name": "A"}', "Expected a JSON array"),
    (v.secrets, "aws_batch_secrets", '[{"name": "A"}]', "exactly the keys 'name' and 'valueFrom'"),
    (
        v.secrets,
        "aws_batch_secrets",
        json.dumps([{"name": "1BAD", "valueFrom": SM_ARN}]),
        "valid environment variable",
    ),
    (
        v.secrets,
        "aws_batch_secrets",
        json.dumps([{"name": "AWS_BATCH_X", "valueFrom": SM_ARN}]),
        "reserved by AWS Batch",
    ),
    (
        v.secrets,
        "aws_batch_secrets",
        json.dumps([{"name": "A", "valueFrom": SM_ARN}, {"name": "A", "valueFrom": SSM_ARN}]),
        "appears twice",
    ),
    (
        v.secrets,
        "aws_batch_secrets",
        json.dumps([{"name": "A", "valueFrom": "arn:aws:s3:::bucket/key"}]),
        "Secrets Manager secret ARN",
    ),
    (v.retry_strategy, "aws_batch_retry_strategy", '{"attempts": 0}', "from 1 to 10"),
    (v.retry_strategy, "aws_batch_retry_strategy", '{"attempts": 11}', "from 1 to 10"),
    (v.retry_strategy, "aws_batch_retry_strategy", '{"attempts": true}', "from 1 to 10"),
    (v.retry_strategy, "aws_batch_retry_strategy", '{"retries": 3}', "allowed are 'attempts'"),
    (v.retry_strategy, "aws_batch_retry_strategy", "[1]", "Expected a JSON object"),
    (
        v.retry_strategy,
        "aws_batch_retry_strategy",
        json.dumps({"evaluateOnExit": [{"action": "RETRY"}] * 6}),
        "at most 5 rules",
    ),
    (
        v.retry_strategy,
        "aws_batch_retry_strategy",
        json.dumps({"evaluateOnExit": [{"action": "MAYBE"}]}),
        "must be RETRY or EXIT",
    ),
    (
        v.retry_strategy,
        "aws_batch_retry_strategy",
        json.dumps({"evaluateOnExit": [{"onExitCode": "1"}]}),
        "must be an object with 'action'",
    ),
    (
        v.retry_strategy,
        "aws_batch_retry_strategy",
        json.dumps({"evaluateOnExit": [{"action": "RETRY", "onExitCode": "1a"}]}),
        "digits, optionally ending in '*'",
    ),
    (
        v.retry_strategy,
        "aws_batch_retry_strategy",
        json.dumps({"evaluateOnExit": [{"action": "RETRY", "onReason": "a|b"}]}),
        "letters, digits",
    ),
    (
        v.retry_strategy,
        "aws_batch_retry_strategy",
        json.dumps({"evaluateOnExit": [{"action": "RETRY", "onStatusReason": "a" * 513}]}),
        "1-512 characters",
    ),
    (v.consumable_resources, "aws_batch_consumable_resources", "[]", "at least one entry"),
    (
        v.consumable_resources,
        "aws_batch_consumable_resources",
        '[{"consumableResource": "license-pool"}]',
        "exactly the keys 'consumableResource' and 'quantity'",
    ),
    (
        v.consumable_resources,
        "aws_batch_consumable_resources",
        '[{"consumableResource": "license-pool", "quantity": 0}]',
        "positive whole number",
    ),
    (
        v.consumable_resources,
        "aws_batch_consumable_resources",
        '[{"consumableResource": "license-pool", "quantity": "2"}]',
        "positive whole number",
    ),
    (
        v.consumable_resources,
        "aws_batch_consumable_resources",
        '[{"consumableResource": " ", "quantity": 2}]',
        "resource name or ARN",
    ),
    (v.tags, "aws_batch_tags", "team", "is not key=value"),
    (v.tags, "aws_batch_tags", "aws:owner=me", "prefix 'aws:'"),
    (v.tags, "aws_batch_tags", "k=" + "x" * 257, "at most 256 characters"),
    (v.tags, "aws_batch_tags", ",".join(f"k{i}=v" for i in range(51)), "At most 50 tags"),
    (v.tags, "aws_batch_tags", '{"k": 1}', "must be a string"),
    (v.tags, "aws_batch_tags", 5, "key=value pairs separated by commas"),
    (v.timeout_seconds, "aws_batch_timeout", 59, "at least 60"),
    (v.timeout_seconds, "aws_batch_timeout", "abc", "at least 60"),
    (v.timeout_seconds, "aws_batch_timeout", 60.5, "at least 60"),
    (v.scheduling_priority, "aws_batch_scheduling_priority", 10000, "from 0 to 9999"),
    (v.scheduling_priority, "aws_batch_scheduling_priority", -1, "from 0 to 9999"),
    (v.share_identifier, "aws_batch_share_identifier", "team-a", "letters and digits"),
    (v.share_identifier, "aws_batch_share_identifier", "", "letters and digits"),
    (v.share_identifier, "aws_batch_share_identifier", "a" * 256, "letters and digits"),
]


@pytest.mark.parametrize(("check", "name", "value", "allowed"), INVALID)
def test_invalid_value_message_names_rule_value_and_allowed(check, name, value, allowed):
    with pytest.raises(WorkflowError) as info:
        check(origin(name), value)
    message = str(info.value)
    assert f"rule 'r', resource {name}" in message
    assert repr(value) in message
    assert allowed in message


def test_setting_origin_is_named_as_setting():
    with pytest.raises(WorkflowError, match="setting aws_batch_task_timeout"):
        v.timeout_seconds(v.Origin("aws_batch_task_timeout"), 10)


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [
        ({"attempts": 3}, {"attempts": 3}),
        (
            {
                "attempts": 5,
                "evaluateOnExit": [
                    {"action": "RETRY", "onExitCode": "137"},
                    {"action": "RETRY", "onStatusReason": "Host EC2*"},
                    {"action": "RETRY", "onReason": "*timeout*"},
                    {"action": "EXIT", "onExitCode": "0"},
                ],
            },
            {
                "attempts": 5,
                "evaluateOnExit": [
                    {"action": "RETRY", "onExitCode": "137"},
                    {"action": "RETRY", "onStatusReason": "Host EC2*"},
                    {"action": "RETRY", "onReason": "*timeout*"},
                    {"action": "EXIT", "onExitCode": "0"},
                ],
            },
        ),
        (
            {"attempts": 4, "evaluateOnExit": [{"action": "retry", "onExitCode": "1*"}]},
            {"attempts": 4, "evaluateOnExit": [{"action": "RETRY", "onExitCode": "1*"}]},
        ),
        (
            {"evaluateOnExit": [{"action": "exit", "onExitCode": "0"}]},
            {"evaluateOnExit": [{"action": "EXIT", "onExitCode": "0"}]},
        ),
    ],
)
def test_valid_retry_strategies(strategy, expected):
    assert v.retry_strategy(origin("aws_batch_retry_strategy"), json.dumps(strategy)) == expected


def test_retry_strategy_accepts_dict():
    assert v.retry_strategy(origin("aws_batch_retry_strategy"), {"attempts": 2}) == {"attempts": 2}


@given(st.integers().filter(lambda n: not 1 <= n <= 10))
def test_retry_attempts_outside_range_rejected(attempts):
    with pytest.raises(WorkflowError, match="from 1 to 10"):
        v.retry_strategy(origin("aws_batch_retry_strategy"), json.dumps({"attempts": attempts}))


@given(st.integers(min_value=1, max_value=10))
def test_retry_attempts_inside_range_accepted(attempts):
    result = v.retry_strategy(origin("aws_batch_retry_strategy"), {"attempts": attempts})
    assert result == {"attempts": attempts}


@pytest.mark.parametrize(
    "value_from",
    [
        SM_ARN,
        "arn:aws:secretsmanager:us-west-2:123456789:secret:db-pass".replace(
            "123456789", "123456789012"
        ),
        SSM_ARN,
        "arn:aws:ssm:eu-central-1:123456789012:parameter/plain",
        "/my/param",
        "plain-param_name.v1",
    ],
)
def test_valid_secret_references(value_from):
    value = json.dumps([{"name": "API_KEY", "valueFrom": value_from}])
    assert v.secrets(origin("aws_batch_secrets"), value) == {"API_KEY": value_from}


def test_several_secrets_kept_in_order():
    value = json.dumps(
        [{"name": "A", "valueFrom": SM_ARN}, {"name": "B", "valueFrom": "/ssm/name"}]
    )
    assert list(v.secrets(origin("aws_batch_secrets"), value).items()) == [
        ("A", SM_ARN),
        ("B", "/ssm/name"),
    ]


def test_valid_consumable_resources():
    value = '[{"consumableResource": "license-pool", "quantity": 2}]'
    assert v.consumable_resources(origin("aws_batch_consumable_resources"), value) == [
        {"consumableResource": "license-pool", "quantity": 2}
    ]


@pytest.mark.parametrize(
    "value",
    ["a=b,c=d", " a = b , c=d ,", '{"a": "b", "c": "d"}'],
)
def test_valid_tags(value):
    assert v.tags(origin("aws_batch_tags"), value) == {"a": "b", "c": "d"}


@pytest.mark.parametrize(
    ("check", "value", "expected"),
    [
        (v.timeout_seconds, 60, 60),
        (v.timeout_seconds, "7200", 7200),
        (v.timeout_seconds, 3600.0, 3600),
        (v.scheduling_priority, 0, 0),
        (v.scheduling_priority, 9999, 9999),
        (v.share_identifier, "teamA", "teamA"),
        (v.share_identifier, "team*", "team*"),
    ],
)
def test_valid_scalars(check, value, expected):
    assert check(origin("x"), value) == expected
