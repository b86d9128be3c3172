"""Checks of rule resources and settings: what is accepted, and what the errors say."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from snakemake_interface_common.exceptions import WorkflowError

from snakemake_executor_plugin_aws_batch.settings import validation as v

from ..factories import GUIDE_CONDITIONAL_RETRY

SM_ARN = "arn:aws:secretsmanager:us-west-2:123456789012:secret:api-key"
SSM_ARN = "arn:aws:ssm:us-west-2:123456789012:parameter/db/password"


def origin(name: str, rule: str = "x") -> v.Origin:
    return v.Origin(name, rule)


def error_of(check, name, value, rule="x") -> str:
    with pytest.raises(WorkflowError) as info:
        check(origin(name, rule), value)
    return str(info.value)


# Origin and the common error -------------------------------------------------------


def test_origin_of_a_rule_resource_names_rule_and_resource():
    assert str(v.Origin("aws_batch_timeout", "long_running_task")) == (
        "rule 'long_running_task', resource aws_batch_timeout"
    )


def test_origin_of_a_setting_names_the_setting():
    assert (
        str(v.Origin("--aws-batch-task-timeout"))
        == "setting --aws-batch-task-timeout (SNAKEMAKE_AWS_BATCH_TASK_TIMEOUT)"
    )
    assert str(v.Origin("--container-image")) == "setting --container-image"


def test_invalid_builds_a_workflow_error_with_origin_value_and_allowed():
    error = v.invalid(origin("aws_batch_gpu", "r1"), -2, "Expected a whole number at least 0.")
    assert isinstance(error, WorkflowError)
    assert str(error) == (
        "Invalid value for rule 'r1', resource aws_batch_gpu: -2. Expected a whole number at least 0."
    )


def test_setting_errors_name_the_setting_not_a_rule():
    with pytest.raises(WorkflowError) as info:
        v.timeout_seconds(v.Origin("--aws-batch-task-timeout"), 10)
    message = str(info.value)
    assert "setting --aws-batch-task-timeout" in message
    assert "rule" not in message
    assert "10" in message


# The table of invalid values ------------------------------------------------------
# Each row: the check, the resource, the value given, and fragments that must all be in
# the message (what is allowed). The message must also name the rule and the resource
# and repeat the value given.

RETRY = "aws_batch_retry_strategy"
SECRETS = "aws_batch_secrets"
CONSUMABLE = "aws_batch_consumable_resources"
TAGS = "aws_batch_tags"


def retry_rules(*rules) -> str:
    return json.dumps({"attempts": 2, "evaluateOnExit": list(rules)})


INVALID = [
    # timeouts
    (v.timeout_seconds, "aws_batch_timeout", 59, ["at least 60"]),
    (v.timeout_seconds, "aws_batch_timeout", 0, ["at least 60"]),
    (v.timeout_seconds, "aws_batch_timeout", -7200, ["at least 60"]),
    (v.timeout_seconds, "aws_batch_timeout", "59", ["at least 60"]),
    (v.timeout_seconds, "aws_batch_timeout", "2h", ["whole number", "at least 60"]),
    (v.timeout_seconds, "aws_batch_timeout", 90.5, ["whole number", "at least 60"]),
    (v.timeout_seconds, "aws_batch_timeout", True, ["whole number", "at least 60"]),
    (v.timeout_seconds, "aws_batch_timeout", None, ["whole number", "at least 60"]),
    (v.timeout_seconds, "aws_batch_timeout", math.inf, ["whole number", "at least 60"]),
    # scheduling priority and share identifier
    (v.scheduling_priority, "aws_batch_scheduling_priority", 10000, ["from 0 to 9999"]),
    (v.scheduling_priority, "aws_batch_scheduling_priority", -1, ["from 0 to 9999"]),
    (v.scheduling_priority, "aws_batch_scheduling_priority", "high", ["from 0 to 9999"]),
    (v.share_identifier, "aws_batch_share_identifier", "team-a", ["letters and digits"]),
    (v.share_identifier, "aws_batch_share_identifier", "", ["up to 255 letters and digits"]),
    (v.share_identifier, "aws_batch_share_identifier", "a" * 256, ["up to 255"]),
    (v.share_identifier, "aws_batch_share_identifier", "*team", ["ending in '*'"]),
    (v.share_identifier, "aws_batch_share_identifier", 7, ["letters and digits"]),
    # secrets
    (v.secrets, SECRETS, "not json", ["not valid JSON", "API_KEY"]),
    (v.secrets, SECRETS, {"name": "A", "valueFrom": SM_ARN}, ["JSON string"]),
    (v.secrets, SECRETS, json.dumps({"name": "A", "valueFrom": SM_ARN}), ["JSON array"]),
    (v.secrets, SECRETS, '[{"name": "A"}]', ["exactly the keys 'name' and 'valueFrom'"]),
    (
        v.secrets,
        SECRETS,
        json.dumps([{"name": "A", "valueFrom": SM_ARN, "extra": 1}]),
        ["exactly the keys 'name' and 'valueFrom'"],
    ),
    (v.secrets, SECRETS, '["API_KEY"]', ["Entry 0", "exactly the keys"]),
    (
        v.secrets,
        SECRETS,
        json.dumps([{"name": "1BAD", "valueFrom": SM_ARN}]),
        ["valid environment variable name"],
    ),
    (
        v.secrets,
        SECRETS,
        json.dumps([{"name": "API-KEY", "valueFrom": SM_ARN}]),
        ["valid environment variable name"],
    ),
    (
        v.secrets,
        SECRETS,
        json.dumps([{"name": "AWS_BATCH_TOKEN", "valueFrom": SM_ARN}]),
        ["reserved by AWS Batch"],
    ),
    (
        v.secrets,
        SECRETS,
        json.dumps([{"name": "A", "valueFrom": SM_ARN}, {"name": "A", "valueFrom": SSM_ARN}]),
        ["Entry 1", "appears twice"],
    ),
    (
        v.secrets,
        SECRETS,
        json.dumps([{"name": "A", "valueFrom": "arn:aws:s3:::bucket/key"}]),
        ["Secrets Manager secret ARN", "SSM parameter ARN"],
    ),
    (
        v.secrets,
        SECRETS,
        json.dumps([{"name": "A", "valueFrom": "my secret"}]),
        ["'valueFrom' must be"],
    ),
    (v.secrets, SECRETS, json.dumps([{"name": "A", "valueFrom": 5}]), ["'valueFrom' must be"]),
    # consumable resources
    (v.consumable_resources, CONSUMABLE, "[]", ["at least one entry", "license-pool"]),
    (v.consumable_resources, CONSUMABLE, "license-pool", ["not valid JSON"]),
    (
        v.consumable_resources,
        CONSUMABLE,
        '{"consumableResource": "license-pool", "quantity": 2}',
        ["JSON array"],
    ),
    (
        v.consumable_resources,
        CONSUMABLE,
        '[{"consumableResource": "license-pool"}]',
        ["exactly the keys 'consumableResource' and 'quantity'"],
    ),
    (
        v.consumable_resources,
        CONSUMABLE,
        '[{"resource": "license-pool", "quantity": 2}]',
        ["exactly the keys 'consumableResource' and 'quantity'"],
    ),
    (
        v.consumable_resources,
        CONSUMABLE,
        '[{"consumableResource": "license-pool", "quantity": 0}]',
        ["'quantity' must be a positive whole number"],
    ),
    (
        v.consumable_resources,
        CONSUMABLE,
        '[{"consumableResource": "license-pool", "quantity": "2"}]',
        ["'quantity' must be a positive whole number"],
    ),
    (
        v.consumable_resources,
        CONSUMABLE,
        '[{"consumableResource": "license-pool", "quantity": 1.5}]',
        ["'quantity' must be a positive whole number"],
    ),
    (
        v.consumable_resources,
        CONSUMABLE,
        '[{"consumableResource": "license-pool", "quantity": true}]',
        ["'quantity' must be a positive whole number"],
    ),
    (
        v.consumable_resources,
        CONSUMABLE,
        '[{"consumableResource": " ", "quantity": 2}]',
        ["resource name or ARN"],
    ),
    # retry strategies
    (v.retry_strategy, RETRY, '{"attempts": 0}', ["'attempts'", "from 1 to 10"]),
    (v.retry_strategy, RETRY, '{"attempts": 11}', ["'attempts'", "from 1 to 10", "11"]),
    (v.retry_strategy, RETRY, '{"attempts": -1}', ["from 1 to 10"]),
    (v.retry_strategy, RETRY, '{"attempts": 2.5}', ["from 1 to 10"]),
    (v.retry_strategy, RETRY, '{"attempts": "3"}', ["from 1 to 10"]),
    (v.retry_strategy, RETRY, '{"attempts": true}', ["from 1 to 10"]),
    (v.retry_strategy, RETRY, '{"retries": 3}', ["'retries'", "allowed are 'attempts'"]),
    (v.retry_strategy, RETRY, "[1]", ["JSON object"]),
    (v.retry_strategy, RETRY, "{attempts: 3}", ["not valid JSON"]),
    (v.retry_strategy, RETRY, 3, ["JSON string"]),
    (
        v.retry_strategy,
        RETRY,
        retry_rules(*[{"action": "RETRY", "onExitCode": str(n)} for n in range(6)]),
        ["at most 5 rules"],
    ),
    (
        v.retry_strategy,
        RETRY,
        json.dumps({"attempts": 2, "evaluateOnExit": {"action": "RETRY"}}),
        ["'evaluateOnExit' must be an array"],
    ),
    (v.retry_strategy, RETRY, retry_rules({"action": "MAYBE"}), ["RETRY or EXIT", "MAYBE"]),
    (v.retry_strategy, RETRY, retry_rules({"action": 1}), ["RETRY or EXIT"]),
    (v.retry_strategy, RETRY, retry_rules({"onExitCode": "1"}), ["with 'action'"]),
    (v.retry_strategy, RETRY, retry_rules("RETRY"), ["evaluateOnExit[0]", "with 'action'"]),
    (
        v.retry_strategy,
        RETRY,
        retry_rules({"action": "RETRY"}, {"action": "RETRY", "onExitStatus": "1"}),
        ["evaluateOnExit[1]", "'onExitCode', 'onStatusReason', 'onReason'"],
    ),
    (
        v.retry_strategy,
        RETRY,
        retry_rules({"action": "RETRY", "onExitCode": "1a"}),
        ["onExitCode", "digits, optionally ending in '*'"],
    ),
    (
        v.retry_strategy,
        RETRY,
        retry_rules({"action": "RETRY", "onExitCode": "*1"}),
        ["onExitCode", "digits, optionally ending in '*'"],
    ),
    (
        v.retry_strategy,
        RETRY,
        retry_rules({"action": "RETRY", "onExitCode": 137}),
        ["onExitCode", "digits"],
    ),
    (
        v.retry_strategy,
        RETRY,
        retry_rules({"action": "RETRY", "onExitCode": ""}),
        ["onExitCode", "1-512 characters"],
    ),
    (
        v.retry_strategy,
        RETRY,
        retry_rules({"action": "RETRY", "onReason": "a|b"}),
        ["onReason", "letters, digits, '.', ':' and spaces"],
    ),
    (
        v.retry_strategy,
        RETRY,
        retry_rules({"action": "RETRY", "onStatusReason": "Host EC2 (i-1)*"}),
        ["onStatusReason", "letters, digits"],
    ),
    (
        v.retry_strategy,
        RETRY,
        retry_rules({"action": "RETRY", "onStatusReason": "a" * 513}),
        ["onStatusReason", "1-512 characters"],
    ),
    (
        v.retry_strategy,
        RETRY,
        retry_rules({"action": "RETRY", "onExitCode": "1" * 513}),
        ["onExitCode", "1-512 characters"],
    ),
    # tags
    (v.tags, TAGS, "team", ["'team' is not key=value", "team=genomics"]),
    (v.tags, TAGS, "team=genomics,project", ["'project' is not key=value"]),
    (v.tags, TAGS, "aws:owner=me", ["'aws:owner'", "prefix 'aws:'"]),
    (v.tags, TAGS, "AWS:owner=me", ["prefix 'aws:'"]),
    (v.tags, TAGS, "=value", ["Tag key ''", "1-128 characters"]),
    (v.tags, TAGS, "k" * 129 + "=v", ["1-128 characters"]),
    (v.tags, TAGS, "k=" + "x" * 257, ["Tag value for 'k'", "at most 256 characters"]),
    (v.tags, TAGS, ",".join(f"k{i}=v" for i in range(51)), ["At most 50 tags", "got 51"]),
    (v.tags, TAGS, '{"k": 1}', ["Tag value for 'k'", "string"]),
    (v.tags, TAGS, '{"k": "v"', ["not valid JSON"]),
    (v.tags, TAGS, 5, ["key=value pairs separated by commas"]),
]


@pytest.mark.parametrize(
    ("check", "resource", "value", "fragments"),
    INVALID,
    ids=[f"{row[1]}-{index}" for index, row in enumerate(INVALID)],
)
def test_invalid_value_message_names_rule_resource_value_and_allowed(
    check, resource, value, fragments
):
    message = error_of(check, resource, value)
    assert message.startswith(f"Invalid value for rule 'x', resource {resource}: ")
    # The value as given (a digit string may be shown as the number it stands for).
    assert repr(value) in message or f": {value}. " in message
    for fragment in fragments:
        assert fragment in message


def test_timeout_message_example():
    message = error_of(v.timeout_seconds, "aws_batch_timeout", 59)
    assert message == (
        "Invalid value for rule 'x', resource aws_batch_timeout: 59. "
        "Expected a whole number at least 60."
    )


# Whole numbers -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [(5, 5), ("5", 5), (" 12 ", 12), (7.0, 7), ("0", 0)],
)
def test_integer_accepts_ints_digit_strings_and_integral_floats(value, expected):
    result = v.integer(origin("n"), value, minimum=0)
    assert result == expected
    assert type(result) is int


@pytest.mark.parametrize("value", [math.nan, -math.inf, "1e3", "0x10", "", "  ", [1], False])
def test_integer_rejects_non_numbers(value):
    with pytest.raises(WorkflowError, match="whole number at least 0"):
        v.integer(origin("n"), value, minimum=0)


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (2**63, str(2**63)),
        (-(2**63) - 1, str(-(2**63) - 1)),
        (10**5000, "a number of 16610 bits"),
        ("9" * 4001, "... (4003 characters)"),
    ],
    ids=["2**63", "-2**63-1", "10**5000", "4001-digits"],
)
def test_integer_refuses_numbers_beyond_every_limit_with_a_short_message(value, shown):
    with pytest.raises(WorkflowError, match="rule 'r', resource aws_batch_mem_mb") as info:
        v.integer(v.Origin("aws_batch_mem_mb", "r"), value, minimum=-(2**70))
    assert shown in str(info.value)
    assert len(str(info.value)) < v.MAX_SHOWN + 200


def test_integer_bounds_are_inclusive():
    assert v.integer(origin("n"), 3, minimum=3, maximum=5) == 3
    assert v.integer(origin("n"), 5, minimum=3, maximum=5) == 5
    for value in (2, 6):
        with pytest.raises(WorkflowError, match="from 3 to 5"):
            v.integer(origin("n"), value, minimum=3, maximum=5)


@given(
    value=st.one_of(
        st.integers(-(10**6), 10**6),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=8),
        st.booleans(),
        st.none(),
    ),
    minimum=st.integers(-100, 100),
    span=st.none() | st.integers(0, 1000),
)
def test_integer_result_is_always_an_int_within_bounds(value, minimum, span):
    maximum = None if span is None else minimum + span
    try:
        result = v.integer(origin("n"), value, minimum=minimum, maximum=maximum)
    except WorkflowError:
        return
    assert type(result) is int
    assert result >= minimum
    assert maximum is None or result <= maximum
    assert not isinstance(value, bool)
    assert result == (int(value) if not isinstance(value, str) else int(value.strip()))


# Timeouts, priority, share identifier ----------------------------------------------------


def test_user_guide_long_running_task_timeout():
    assert v.timeout_seconds(origin("aws_batch_timeout", "long_running_task"), 7200) == 7200


@pytest.mark.parametrize(
    ("value", "expected"),
    [(60, 60), ("7200", 7200), (3600.0, 3600), (14 * 24 * 3600, 14 * 24 * 3600), (10**7, 10**7)],
)
def test_timeout_minimum_60_and_no_maximum(value, expected):
    assert v.timeout_seconds(origin("aws_batch_timeout"), value) == expected


@pytest.mark.parametrize(("value", "expected"), [(0, 0), (9999, 9999), ("42", 42)])
def test_scheduling_priority_range(value, expected):
    assert v.scheduling_priority(origin("aws_batch_scheduling_priority"), value) == expected


@pytest.mark.parametrize("value", ["teamA", "team*", "A1", "a" * 255, "a" * 255 + "*"])
def test_share_identifier_accepted(value):
    assert v.share_identifier(origin("aws_batch_share_identifier"), value) == value


# Secrets ------------------------------------------------------------------------------


def test_user_guide_my_rule_secret_with_a_full_account_id():
    value = (
        '[{"name":"API_KEY","valueFrom":'
        '"arn:aws:secretsmanager:us-west-2:123456789012:secret:api-key"}]'
    )
    assert v.secrets(origin(SECRETS, "my_rule"), value) == {
        "API_KEY": "arn:aws:secretsmanager:us-west-2:123456789012:secret:api-key"
    }


@pytest.mark.parametrize(
    "value",
    [
        '[{"name":"API_KEY","valueFrom":"arn:aws:secretsmanager:us-west-2:123456789:secret:api-key"}]',
        '[{"name":"DB_PASSWORD","valueFrom":"arn:aws:secretsmanager:us-west-2:123456789:secret:db-pass"}]',
    ],
)
def test_user_guide_secret_examples_verbatim(value):
    parsed = v.secrets(origin(SECRETS, "my_rule"), value)
    assert len(parsed) == 1


@pytest.mark.parametrize(
    "value_from",
    [
        SM_ARN,
        "arn:aws:secretsmanager:eu-central-1:123456789012:secret:db-pass-AbCdEf",
        "arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:x",
        SSM_ARN,
        "arn:aws:ssm:eu-central-1:123456789012:parameter/plain",
        "/my/param",
        "plain-param_name.v1",
    ],
)
def test_secret_references_accepted(value_from):
    value = json.dumps([{"name": "API_KEY", "valueFrom": value_from}])
    assert v.secrets(origin(SECRETS), value) == {"API_KEY": value_from}


def test_secrets_keep_order_and_accept_an_empty_array():
    value = json.dumps(
        [
            {"name": "B", "valueFrom": SM_ARN},
            {"name": "A", "valueFrom": "/ssm/name"},
            {"name": "_C1", "valueFrom": SSM_ARN},
        ]
    )
    assert list(v.secrets(origin(SECRETS), value).items()) == [
        ("B", SM_ARN),
        ("A", "/ssm/name"),
        ("_C1", SSM_ARN),
    ]
    assert v.secrets(origin(SECRETS), "[]") == {}


def test_secrets_reserved_prefix_is_case_insensitive():
    value = json.dumps([{"name": "aws_batch_job", "valueFrom": SM_ARN}])
    with pytest.raises(WorkflowError, match="reserved by AWS Batch"):
        v.secrets(origin(SECRETS), value)


def test_secret_errors_quote_the_bad_entry():
    value = json.dumps([{"name": "OK", "valueFrom": SM_ARN}, {"name": "9X", "valueFrom": SM_ARN}])
    message = error_of(v.secrets, SECRETS, value)
    assert 'Entry 1 ({"name": "9X"' in message


# Consumable resources ----------------------------------------------------------------


def test_user_guide_licensed_analysis_consumable_resources():
    value = '[{"consumableResource": "license-pool", "quantity": 2}]'
    assert v.consumable_resources(origin(CONSUMABLE, "licensed_analysis"), value) == [
        {"consumableResource": "license-pool", "quantity": 2}
    ]


def test_several_consumable_resources_and_arns():
    arn = "arn:aws:batch:us-west-2:123456789012:consumable-resource/db-connections"
    value = json.dumps(
        [
            {"consumableResource": "license-pool", "quantity": 1},
            {"consumableResource": arn, "quantity": 25},
        ]
    )
    assert v.consumable_resources(origin(CONSUMABLE), value) == [
        {"consumableResource": "license-pool", "quantity": 1},
        {"consumableResource": arn, "quantity": 25},
    ]


# Retry strategies ---------------------------------------------------------------------

GUIDE_SPOT = {"attempts": 3, "evaluateOnExit": [{"action": "RETRY", "onStatusReason": "Host EC2*"}]}
GUIDE_OOM = {"attempts": 2, "evaluateOnExit": [{"action": "RETRY", "onExitCode": "137"}]}
GUIDE_EXIT_CODES = {
    "attempts": 4,
    "evaluateOnExit": [
        {"action": "RETRY", "onExitCode": "1*"},
        {"action": "EXIT", "onExitCode": "0"},
    ],
}


@pytest.mark.parametrize(
    ("rule", "strategy"),
    [
        ("flaky_task", {"attempts": 3}),
        ("conditional_retry", GUIDE_CONDITIONAL_RETRY),
        ("spot", GUIDE_SPOT),
        ("oom", GUIDE_OOM),
        ("exit_codes", GUIDE_EXIT_CODES),
    ],
)
def test_user_guide_retry_examples(rule, strategy):
    checked = v.retry_strategy(origin(RETRY, rule), json.dumps(strategy))
    assert checked == strategy


def test_conditional_retry_keeps_the_four_rules_in_order():
    checked = v.retry_strategy(origin(RETRY), json.dumps(GUIDE_CONDITIONAL_RETRY))
    assert [rule["action"] for rule in checked["evaluateOnExit"]] == [
        "RETRY",
        "RETRY",
        "RETRY",
        "EXIT",
    ]
    assert checked["evaluateOnExit"][2] == {"action": "RETRY", "onReason": "*timeout*"}


def test_retry_actions_are_case_insensitive_and_sent_upper_case():
    value = json.dumps(
        {
            "attempts": 4,
            "evaluateOnExit": [
                {"action": "retry", "onExitCode": "1*"},
                {"action": "Exit", "onExitCode": "0"},
            ],
        }
    )
    assert v.retry_strategy(origin(RETRY), value) == GUIDE_EXIT_CODES


def test_retry_rule_with_several_conditions_and_the_limits():
    rule = {
        "action": "RETRY",
        "onExitCode": "1" * 511 + "*",
        "onStatusReason": "Essential container in task exited",
        "onReason": "OutOfMemoryError: Container killed\tdue to memory*",
    }
    value = json.dumps({"attempts": 10, "evaluateOnExit": [rule] * 5})
    assert v.retry_strategy(origin(RETRY), value) == {"attempts": 10, "evaluateOnExit": [rule] * 5}


def test_retry_strategy_accepts_a_dict_and_an_empty_object():
    assert v.retry_strategy(origin(RETRY), {"attempts": 2}) == {"attempts": 2}
    assert v.retry_strategy(origin(RETRY), "{}") == {}


def test_evaluate_on_exit_without_attempts_is_refused():
    value = json.dumps({"evaluateOnExit": [{"action": "RETRY", "onExitCode": "137"}]})
    with pytest.raises(WorkflowError) as info:
        v.retry_strategy(origin(RETRY), value)
    assert "attempts" in str(info.value)


ANY_JSON_SCALAR = st.one_of(
    st.integers(-1000, 1000),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=5),
    st.booleans(),
    st.none(),
)


@given(attempts=ANY_JSON_SCALAR)
def test_retry_strategy_never_accepts_attempts_outside_1_to_10(attempts):
    value = json.dumps({"attempts": attempts})
    if type(attempts) is int and 1 <= attempts <= 10:
        assert v.retry_strategy(origin(RETRY), value) == {"attempts": attempts}
    else:
        with pytest.raises(WorkflowError, match="from 1 to 10"):
            v.retry_strategy(origin(RETRY), value)


@given(st.integers(min_value=1, max_value=10))
def test_retry_strategy_accepts_every_attempts_from_1_to_10(attempts):
    assert v.retry_strategy(origin(RETRY), json.dumps({"attempts": attempts})) == {
        "attempts": attempts
    }


@given(st.text(max_size=20))
def test_exit_code_patterns_are_digits_with_an_optional_trailing_star(pattern):
    value = json.dumps(
        {"attempts": 2, "evaluateOnExit": [{"action": "RETRY", "onExitCode": pattern}]}
    )
    expected_ok = bool(pattern) and pattern.rstrip("*").isascii() and pattern.rstrip("*").isdigit()
    expected_ok = expected_ok or pattern == "*"
    expected_ok = expected_ok and pattern.count("*") <= 1
    try:
        v.retry_strategy(origin(RETRY), value)
    except WorkflowError:
        assert not expected_ok
    else:
        assert expected_ok


# Tags ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    ["a=b,c=d", " a = b , c=d ,", '{"a": "b", "c": "d"}', '  {"a": "b", "c": "d"}'],
)
def test_tags_in_both_forms(value):
    assert v.tags(origin(TAGS), value) == {"a": "b", "c": "d"}


def test_tags_edge_values():
    assert v.tags(origin(TAGS), "url=a=b") == {"url": "a=b"}
    assert v.tags(origin(TAGS), "empty=") == {"empty": ""}
    assert v.tags(origin(TAGS), "") == {}
    assert v.tags(origin(TAGS), ",,") == {}
    assert v.tags(origin(TAGS), "a=1,a=2") == {"a": "2"}


def test_tag_limits_are_inclusive():
    fifty = ",".join(f"k{i}=v" for i in range(50))
    assert len(v.tags(origin(TAGS), fifty)) == 50
    key, value = "k" * 128, "x" * 256
    assert v.tags(origin(TAGS), f"{key}={value}") == {key: value}
    assert v.tags(origin(TAGS), "awsome=1") == {"awsome": "1"}


def test_check_tags_names_the_origin_and_returns_a_copy():
    parsed = {"team": "genomics"}
    result = v.check_tags(origin(TAGS, "r"), "team=genomics", parsed)
    assert result == parsed
    assert result is not parsed
    with pytest.raises(WorkflowError, match=r"rule 'r', resource aws_batch_tags.*aws:"):
        v.check_tags(origin(TAGS, "r"), None, {"aws:x": "1"})


@given(
    st.dictionaries(
        st.text(max_size=140),
        st.text(max_size=270),
        max_size=55,
    )
)
def test_tags_either_follow_aws_rules_or_are_refused(tag_map):
    try:
        result = v.tags(origin(TAGS), json.dumps(tag_map))
    except WorkflowError:
        assert (
            len(tag_map) > 50
            or any(not 1 <= len(k) <= 128 or k.lower().startswith("aws:") for k in tag_map)
            or any(len(value) > 256 for value in tag_map.values())
        )
        return
    assert result == tag_map
    assert len(result) <= 50
    for key, value in result.items():
        assert 1 <= len(key) <= 128
        assert not key.lower().startswith("aws:")
        assert len(value) <= 256
