"""Property tests of spec.build: a bad resource value is always a WorkflowError naming it."""

from __future__ import annotations

import json
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from snakemake_interface_common.exceptions import WorkflowError

from snakemake_executor_plugin_aws_batch.jobspec import spec
from snakemake_executor_plugin_aws_batch.jobspec.platform import FARGATE_MEMORY, Platform
from snakemake_executor_plugin_aws_batch.settings import configuration, resources

EXEC_ROLE = "arn:aws:iam::123456789012:role/ecsTaskExecutionRole"
SM = "arn:aws:secretsmanager:us-west-2:123456789012:secret:"
CONFIG = configuration.GlobalConfig(
    default_queue="default-q",
    image="img:1",
    execution_role=EXEC_ROLE,
    tags={"team": "genomics"},
    secrets={"DB_PASSWORD": SM + "db-pass"},
)

# Snakemake rule names are Python identifiers.
RULES = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,40}", fullmatch=True)

# --- The corpus of invalid values ----------------------------------------------------

NON_NUMERIC_TEXT = st.sampled_from(["", " ", "many", "4 cores", "1,5", "0x10", "NaN", "inf", "--1"])
WRONG_TYPES = st.sampled_from([True, False, 1.5, -0.5, [], [1], {}, {"a": 1}, (1,), b"4"])
NEGATIVE = st.integers(max_value=-1)
MALFORMED_JSON = st.sampled_from(
    ["[", "]", "{", "[{]", "{'a': 1}", '[{"name": "A",}]', "nul", "[1 2]", '{"attempts": }', "json"]
)


def json_text(value) -> st.SearchStrategy[str]:
    return st.just(json.dumps(value))


BAD_SECRETS = st.one_of(
    MALFORMED_JSON,
    WRONG_TYPES.filter(lambda v: not isinstance(v, list)),
    st.integers(),
    json_text({"name": "A", "valueFrom": SM + "a"}),
    json_text([1]),
    json_text(["A"]),
    json_text([{"name": "A"}]),
    json_text([{"valueFrom": SM + "a"}]),
    json_text([{"name": "A", "valueFrom": SM + "a", "type": "SECRET"}]),
    json_text([{"name": "A", "value": "plain"}]),
    json_text([{"name": "1A", "valueFrom": SM + "a"}]),
    json_text([{"name": "A B", "valueFrom": SM + "a"}]),
    json_text([{"name": "", "valueFrom": SM + "a"}]),
    json_text([{"name": None, "valueFrom": SM + "a"}]),
    json_text([{"name": "AWS_BATCH_JOB", "valueFrom": SM + "a"}]),
    json_text([{"name": "A", "valueFrom": SM + "a"}, {"name": "A", "valueFrom": SM + "b"}]),
    json_text([{"name": "A", "valueFrom": "arn:aws:s3:::bucket"}]),
    json_text([{"name": "A", "valueFrom": ""}]),
    json_text([{"name": "A", "valueFrom": 5}]),
    json_text([{"name": "A", "valueFrom": "has space"}]),
)
BAD_CONSUMABLES = st.one_of(
    MALFORMED_JSON,
    st.integers(),
    json_text([]),
    json_text({"consumableResource": "lic", "quantity": 1}),
    json_text(["lic"]),
    json_text([{"consumableResource": "lic"}]),
    json_text([{"quantity": 1}]),
    json_text([{"consumableResource": "lic", "quantity": 1, "extra": 1}]),
    json_text([{"consumableResource": "", "quantity": 1}]),
    json_text([{"consumableResource": 7, "quantity": 1}]),
    st.integers(max_value=0).map(
        lambda q: json.dumps([{"consumableResource": "lic", "quantity": q}])
    ),
    st.sampled_from(["2", 1.5, True, None, [2]]).map(
        lambda q: json.dumps([{"consumableResource": "lic", "quantity": q}])
    ),
)
BAD_ATTEMPTS = st.one_of(
    st.integers().filter(lambda n: not 1 <= n <= 10),
    st.sampled_from(["3", 2.5, 3.0, True, None, [3], {"n": 3}]),
)
BAD_RULES = st.one_of(
    st.just({"onExitCode": "137"}),
    st.just({"action": "RESTART"}),
    st.just({"action": None}),
    st.just({"action": "RETRY", "onExitCode": "13a"}),
    st.just({"action": "RETRY", "onExitCode": 137}),
    st.just({"action": "RETRY", "onExitCode": ""}),
    st.just({"action": "RETRY", "onReason": "a|b"}),
    st.just({"action": "RETRY", "onStatusReason": "x" * 513}),
    st.just({"action": "RETRY", "onExit": "1"}),
    st.just("RETRY"),
)
BAD_RETRY = st.one_of(
    MALFORMED_JSON,
    st.integers(),
    json_text([{"attempts": 3}]),
    json_text({"attempts": 3, "retries": 2}),
    json_text({"maxAttempts": 3}),
    BAD_ATTEMPTS.map(lambda a: json.dumps({"attempts": a})),
    json_text({"attempts": 3, "evaluateOnExit": {"action": "RETRY"}}),
    json_text({"attempts": 3, "evaluateOnExit": [{"action": "RETRY"}] * 6}),
    BAD_RULES.map(lambda r: json.dumps({"attempts": 3, "evaluateOnExit": [r]})),
)
BAD_TAGS = st.one_of(
    st.integers(),
    WRONG_TYPES,
    st.sampled_from(["team", "a=b,c", "=v", "aws:owner=me", "AWS:x=y", "{", '{"k": 1}']),
    st.just("k" * 129 + "=v"),
    st.just("k=" + "v" * 257),
    st.integers(min_value=51, max_value=80).map(lambda n: ",".join(f"k{i}=v" for i in range(n))),
)
PUNCTUATION_ONLY = st.text(alphabet="!@#$%^&*()+=[]{};:'\",.<>/?\\|`~ -", min_size=1, max_size=10)
BAD_NAME_PART = st.one_of(
    st.sampled_from(["", "  ", True, 1.5, [], {}, None]).filter(lambda v: v is not None),
    PUNCTUATION_ONLY,
    st.text(alphabet=string.ascii_letters + string.digits, min_size=119, max_size=200),
)
BAD_TEXT = st.one_of(st.sampled_from(["", " ", "\t\n"]), st.integers(), WRONG_TYPES)

CORPUS: dict[str, st.SearchStrategy[object]] = {
    "aws_batch_vcpu": st.one_of(
        NEGATIVE,
        st.just(0),
        st.just("0"),
        st.just("-2"),
        st.just("1/0"),
        NON_NUMERIC_TEXT,
        WRONG_TYPES,
    ),
    "aws_batch_mem_mb": st.one_of(
        NEGATIVE,
        st.just(0),
        NON_NUMERIC_TEXT,
        st.just("8GB"),
        st.just("1.5"),
        WRONG_TYPES,
    ),
    "aws_batch_gpu": st.one_of(NEGATIVE, NON_NUMERIC_TEXT, WRONG_TYPES),
    "aws_batch_job_queue": BAD_TEXT,
    "batch_queue": BAD_TEXT,
    "aws_batch_container_image": BAD_TEXT,
    "aws_batch_job_definition": BAD_TEXT,
    "aws_batch_secrets": BAD_SECRETS,
    "aws_batch_consumable_resources": BAD_CONSUMABLES,
    "aws_batch_timeout": st.one_of(
        st.integers(max_value=59), st.sampled_from(["59", "1h", "", "60.5"]), WRONG_TYPES
    ),
    "aws_batch_task_timeout": st.one_of(st.integers(max_value=59), NON_NUMERIC_TEXT),
    "aws_batch_job_name_suffix": BAD_NAME_PART,
    "aws_batch_job_uuid": BAD_NAME_PART,
    "aws_batch_retry_strategy": BAD_RETRY,
    "aws_batch_scheduling_priority": st.one_of(
        NEGATIVE, st.integers(min_value=10_000), NON_NUMERIC_TEXT, WRONG_TYPES
    ),
    "aws_batch_share_identifier": st.one_of(
        st.integers(),
        WRONG_TYPES,
        st.sampled_from(["", "team-a", "team a", "a*b", "**", "team_a"]),
        st.text(alphabet=string.ascii_letters, min_size=256, max_size=300),
    ),
    "aws_batch_tags": BAD_TAGS,
}

# Values that are valid whatever the platform, to sit beside the invalid one.
VALID_COMPANIONS = {
    "aws_batch_mem_mb": 2048,
    "aws_batch_timeout": 7200,
    "aws_batch_job_name_suffix": "experiment-v2",
    "aws_batch_retry_strategy": json.dumps({"attempts": 3}),
    "aws_batch_tags": "project=wgs",
    "aws_batch_consumable_resources": '[{"consumableResource": "license-pool", "quantity": 2}]',
    "aws_batch_secrets": json.dumps([{"name": "API_KEY", "valueFrom": SM + "api-key"}]),
    "aws_batch_scheduling_priority": 10,
    "mem_mb": 4096,
    "runtime": 30,
}


@st.composite
def bad_raw(draw) -> tuple[str, dict[str, object]]:
    resource = draw(st.sampled_from(sorted(CORPUS)))
    value = draw(CORPUS[resource])
    companions = draw(st.lists(st.sampled_from(sorted(VALID_COMPANIONS)), unique=True))
    raw = {name: VALID_COMPANIONS[name] for name in companions}
    # An alias is read only when the resource it stands for is not given.
    target = resources.ALIASES.get(resource, resource)
    raw.pop(target, None)
    raw[resource] = value
    return resource, raw


def build(rule: str, raw: dict[str, object], platform: Platform) -> spec.JobSpec:
    return spec.build(
        rule=rule, raw=raw, threads=2, config=CONFIG, platform_of=lambda queue: platform
    )


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow])
@given(rule=RULES, case=bad_raw(), platform=st.sampled_from(Platform))
def test_invalid_resource_value_is_a_workflow_error_naming_rule_and_resource(rule, case, platform):
    resource, raw = case
    with pytest.raises(WorkflowError) as info:
        build(rule, raw, platform)
    message = str(info.value)
    assert f"rule {rule!r}, resource " in message
    assert resource in message


# Values that only one platform refuses.
EC2_ONLY_INVALID = st.one_of(
    st.tuples(st.just("aws_batch_vcpu"), st.sampled_from(["0.25", "0.5", "1.5", "3/2"])),
    st.tuples(st.just("aws_batch_mem_mb"), st.integers(min_value=1, max_value=1023)),
)
FARGATE_ONLY_INVALID = st.one_of(
    st.tuples(
        st.just("aws_batch_vcpu"),
        st.sampled_from([3, 5, 6, 7, 12, 32, 64, "0.75", "1.5"]),
    ),
    st.tuples(
        st.just("aws_batch_mem_mb"),
        st.integers(min_value=16385, max_value=10**6),  # over what 2 vCPU allow
    ),
)


@given(rule=RULES, case=EC2_ONLY_INVALID)
def test_values_ec2_refuses_name_rule_and_resource(rule, case):
    resource, value = case
    with pytest.raises(WorkflowError) as info:
        build(rule, {resource: value}, Platform.EC2)
    assert f"rule {rule!r}, resource {resource}" in str(info.value)


@given(rule=RULES, case=FARGATE_ONLY_INVALID)
def test_values_fargate_refuses_name_rule_and_resource(rule, case):
    resource, value = case
    raw: dict[str, object] = {resource: value}
    if resource == "aws_batch_mem_mb":
        raw["aws_batch_vcpu"] = 2
    with pytest.raises(WorkflowError) as info:
        build(rule, raw, Platform.FARGATE)
    assert f"rule {rule!r}, resource {resource}" in str(info.value)


# --- Valid inputs give a consistent spec -----------------------------------------------


@given(
    vcpu=st.integers(min_value=1, max_value=256),
    memory=st.integers(min_value=1024, max_value=2_000_000),
    gpu=st.integers(min_value=0, max_value=8),
    timeout=st.integers(min_value=60, max_value=10**7),
)
def test_valid_ec2_resources_are_passed_through(vcpu, memory, gpu, timeout):
    job = build(
        "r",
        {
            "aws_batch_vcpu": vcpu,
            "aws_batch_mem_mb": str(memory),
            "aws_batch_gpu": gpu,
            "aws_batch_timeout": timeout,
        },
        Platform.EC2,
    )
    assert (job.resources.vcpu, job.resources.memory_mib, job.resources.gpu) == (
        vcpu,
        memory,
        gpu,
    )
    assert job.timeout == timeout
    assert job.warnings == ()
    assert job.notes == ()


@given(
    threads=st.integers(min_value=1, max_value=16),
    mem_mb=st.none() | st.integers(min_value=1, max_value=122_880),
)
def test_fargate_spec_from_snakemake_resources_is_an_allowed_pair_or_error(threads, mem_mb):
    raw = {} if mem_mb is None else {"mem_mb": mem_mb}
    try:
        job = spec.build(
            rule="r",
            raw=raw,
            threads=threads,
            config=CONFIG,
            platform_of=lambda queue: Platform.FARGATE,
        )
    except WorkflowError as exc:
        message = str(exc)
        assert "rule 'r', resource mem_mb" in message
        return
    vcpu, memory = job.resources.vcpu, job.resources.memory_mib
    assert vcpu in FARGATE_MEMORY
    assert memory in FARGATE_MEMORY[vcpu]
    assert vcpu >= threads
    assert memory >= (mem_mb or 1024)


# --- Exceptions other than WorkflowError ---------------------------------------------


@pytest.mark.parametrize(
    ("resource", "value"),
    [
        ("aws_batch_mem_mb", "9" * 5000),
        ("aws_batch_timeout", "1" * 5000),
        ("aws_batch_secrets", "[" * 100_000 + "]" * 100_000),
    ],
    ids=["mem-digits", "timeout-digits", "deep-json"],
)
def test_pathological_values_are_still_workflow_errors(resource, value):
    with pytest.raises(WorkflowError, match=f"rule 'r', resource {resource}"):
        build("r", {resource: value}, Platform.EC2)
