"""Job and job definition names that AWS Batch accepts."""

from __future__ import annotations

import re
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st
from snakemake_interface_common.exceptions import WorkflowError

from snakemake_executor_plugin_aws_batch import names

VALID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")


def test_default_name_is_prefix_rule_and_uuid4():
    name = names.job_name("my_analysis")
    prefix = "snakejob-my_analysis-"
    assert name.startswith(prefix)
    identifier = uuid.UUID(name[len(prefix) :])
    assert identifier.version == 4


def test_default_names_differ():
    assert names.job_name("r") != names.job_name("r")


def test_suffix_comes_before_uuid():
    name = names.job_name("my_analysis", suffix="experiment-v2")
    prefix = "snakejob-my_analysis-experiment-v2-"
    assert name.startswith(prefix)
    assert uuid.UUID(name[len(prefix) :]).version == 4


def test_custom_uuid():
    assert (
        names.job_name("my_analysis", job_uuid="custom-id-12345")
        == "snakejob-my_analysis-custom-id-12345"
    )


def test_suffix_and_custom_uuid():
    assert (
        names.job_name("my_analysis", suffix="experiment-v2", job_uuid="run-001")
        == "snakejob-my_analysis-experiment-v2-run-001"
    )


def test_disallowed_characters_are_replaced():
    assert names.job_name("a.b c", suffix="x/y", job_uuid="1") == "snakejob-a-b-c-x-y-1"


def test_long_rule_is_shortened_to_limit():
    name = names.job_name("r" * 300, job_uuid="id")
    assert len(name) == names.MAX_NAME_LENGTH
    assert name.endswith("-id")
    assert VALID.fullmatch(name)


def test_too_long_user_parts_are_error():
    with pytest.raises(WorkflowError, match="128-character"):
        names.job_name("r", suffix="s" * 100, job_uuid="u" * 30)


def test_suffix_without_letters_is_error():
    with pytest.raises(WorkflowError, match="resource aws_batch_job_name_suffix"):
        names.job_name("r", suffix="!!!")


@given(
    rule=st.text(max_size=200),
    suffix=st.none() | st.text(max_size=150),
    job_uuid=st.none() | st.text(max_size=150),
)
def test_job_name_is_valid_or_error(rule, suffix, job_uuid):
    try:
        name = names.job_name(rule, suffix=suffix, job_uuid=job_uuid)
    except WorkflowError:
        return
    assert VALID.fullmatch(name), name
    assert names.is_valid(name)


def test_definition_name_same_for_equal_content():
    a = {"image": "img", "platform": "EC2", "secrets": [["A", "b"]]}
    b = {"secrets": [["A", "b"]], "platform": "EC2", "image": "img"}
    assert names.definition_name(a) == names.definition_name(b)
    assert names.is_valid(names.definition_name(a))
    assert names.definition_name(a).startswith("snakemake-")


def test_definition_name_differs_for_different_content():
    a = {"image": "img", "platform": "EC2"}
    b = {"image": "img2", "platform": "EC2"}
    c = {"image": "img", "platform": "FARGATE"}
    assert len({names.definition_name(a), names.definition_name(b), names.definition_name(c)}) == 3
