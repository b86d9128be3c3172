"""Job and job definition names that AWS Batch accepts."""

from __future__ import annotations

import string
import uuid

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from snakemake_interface_common.exceptions import WorkflowError

from snakemake_executor_plugin_aws_batch.jobspec import names

from ..fakes import VALID_NAME


def identifier_after(name: str, prefix: str) -> uuid.UUID:
    assert name.startswith(prefix), name
    return uuid.UUID(name[len(prefix) :])


# The user guide's names --------------------------------------------------------------


def test_user_guide_default_name_is_rule_and_a_uuid4():
    name = names.job_name("my_analysis")
    assert identifier_after(name, "snakejob-my_analysis-").version == 4
    assert len(name) == len("snakejob-my_analysis-") + 36


def test_user_guide_suffix_goes_before_the_uuid():
    name = names.job_name("my_analysis", suffix="experiment-v2")
    assert identifier_after(name, "snakejob-my_analysis-experiment-v2-").version == 4


def test_user_guide_custom_uuid():
    assert (
        names.job_name("my_analysis", job_uuid="custom-id-12345")
        == "snakejob-my_analysis-custom-id-12345"
    )


def test_user_guide_suffix_and_custom_uuid():
    assert (
        names.job_name("my_analysis", suffix="experiment-v2", job_uuid="run-001")
        == "snakejob-my_analysis-experiment-v2-run-001"
    )


def test_each_job_gets_its_own_uuid():
    generated = {names.job_name("r") for _ in range(50)}
    assert len(generated) == 50


def test_numeric_uuid_is_allowed():
    assert names.job_name("r", job_uuid=12345) == "snakejob-r-12345"  # type: ignore[arg-type]


# Sanitising -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("part", "expected"),
    [
        ("ok_name-1", "ok_name-1"),
        ("a.b c", "a-b-c"),
        ("a...b", "a-b"),
        ("--a--", "a"),
        ("_a_", "_a_"),
        ("données", "donn-es"),
        ("!!!", ""),
    ],
)
def test_sanitise(part, expected):
    assert names.sanitise(part) == expected


def test_disallowed_characters_in_every_part_are_replaced():
    assert (
        names.job_name("a.b c", suffix="exp/v2 (new)", job_uuid="run#1")
        == "snakejob-a-b-c-exp-v2-new-run-1"
    )


@pytest.mark.parametrize(
    ("argument", "value"),
    [("suffix", "!!!"), ("suffix", "---"), ("job_uuid", "   "), ("job_uuid", "é")],
)
def test_user_part_without_letters_or_digits_is_an_error(argument, value):
    resource = "aws_batch_job_name_suffix" if argument == "suffix" else "aws_batch_job_uuid"
    with pytest.raises(WorkflowError) as info:
        names.job_name("r", **{argument: value})
    message = str(info.value)
    assert f"rule 'r', resource {resource}: {value!r}." in message
    assert "letters, digits, '-' and '_'" in message


@pytest.mark.parametrize("value", [True, 1.5, ["a"], {"a": 1}])
def test_user_part_of_the_wrong_type_is_an_error(value):
    with pytest.raises(WorkflowError, match="resource aws_batch_job_uuid"):
        names.job_name("r", job_uuid=value)


# Length ---------------------------------------------------------------------------------


def test_long_rule_is_shortened_to_the_limit():
    name = names.job_name("r" * 300, job_uuid="id")
    assert len(name) == names.MAX_NAME_LENGTH
    assert name == "snakejob-" + "r" * (128 - len("snakejob--id")) + "-id"


def test_shortened_rule_does_not_end_in_a_separator():
    rule = "a" * 100 + "_" * 40
    name = names.job_name(rule, job_uuid="u")
    assert VALID_NAME.fullmatch(name)
    assert "_-u" not in name
    assert name == "snakejob-" + "a" * 100 + "-u"


def test_longest_user_parts_that_fit():
    # prefix "snakejob-", at least one rule character and "-": 117 characters remain.
    tail = "s" * 58 + "-" + "u" * 58
    name = names.job_name("rule", suffix="s" * 58, job_uuid="u" * 58)
    assert name == "snakejob-r-" + tail
    assert len(name) == 128


def test_too_long_user_parts_are_an_error_naming_both_resources():
    with pytest.raises(WorkflowError) as info:
        names.job_name("r", suffix="s" * 59, job_uuid="u" * 58)
    message = str(info.value)
    assert "rule 'r', resource aws_batch_job_name_suffix/aws_batch_job_uuid" in message
    assert "128-character" in message
    assert "shorten" in message


@pytest.mark.parametrize("rule", ["_", "__x", "αβγ"])
def test_rule_without_leading_alphanumerics_and_long_tail_stays_valid(rule):
    try:
        name = names.job_name(rule, job_uuid="u" * 116)
    except WorkflowError:
        return
    assert VALID_NAME.fullmatch(name), (len(name), name)


# Properties -----------------------------------------------------------------------------

SNAKEMAKE_RULE = st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,150}", fullmatch=True)


@given(
    rule=st.text(max_size=200),
    suffix=st.none() | st.text(max_size=50),
    job_uuid=st.none() | st.text(max_size=50),
)
@example(rule="", suffix=None, job_uuid=None)
@example(rule="---", suffix="a", job_uuid="b")
def test_job_name_is_always_valid_or_an_error(rule, suffix, job_uuid):
    user_parts = [p for p in (suffix, job_uuid) if p is not None]
    if any(not names.sanitise(p) for p in user_parts):
        with pytest.raises(WorkflowError, match="rule "):
            names.job_name(rule, suffix=suffix, job_uuid=job_uuid)
        return
    name = names.job_name(rule, suffix=suffix, job_uuid=job_uuid)
    assert VALID_NAME.fullmatch(name), name
    assert names.is_valid(name)
    assert name.startswith("snakejob-")


@given(
    rule=SNAKEMAKE_RULE,
    suffix=st.none() | st.text(alphabet=string.printable, max_size=150),
    job_uuid=st.none() | st.text(alphabet=string.printable, max_size=150),
)
def test_job_name_of_a_snakemake_rule_is_valid_or_an_error_for_user_parts(rule, suffix, job_uuid):
    tail = [] if suffix is None else [names.sanitise(suffix)]
    tail.append("x" * 36 if job_uuid is None else names.sanitise(job_uuid))
    try:
        name = names.job_name(rule, suffix=suffix, job_uuid=job_uuid)
    except WorkflowError:
        # Only the user's own parts can make a name impossible.
        assert any(not part for part in tail) or sum(len(p) + 1 for p in tail) + 10 > 128
        return
    assert VALID_NAME.fullmatch(name), name
    # The user's parts are kept whole, the rule part is a prefix of the rule.
    for part in tail[: 1 if job_uuid is None else 2]:
        assert part in name or part == "x" * 36
    if job_uuid is not None:
        assert name.endswith("-" + names.sanitise(job_uuid))
    rule_part = name[len("snakejob-") :].split("-")[0]
    assert rule.startswith(rule_part)


@given(st.text(max_size=300))
def test_is_valid_matches_aws_rules(name):
    assert names.is_valid(name) == bool(VALID_NAME.fullmatch(name))


# Definition names ------------------------------------------------------------------------


def test_definition_name_is_stable_for_equal_content():
    a = {"image": "img", "platform": "EC2", "secrets": [["A", "b"]]}
    b = {"secrets": [["A", "b"]], "platform": "EC2", "image": "img"}
    assert names.definition_name(a) == names.definition_name(b)
    assert names.definition_name(a) == names.definition_name(dict(a))


def test_definition_name_shape():
    name = names.definition_name({"image": "img"})
    assert names.is_valid(name)
    assert name.startswith("snakemake-")
    digest = name[len("snakemake-") :]
    assert len(digest) == 32
    assert set(digest) <= set(string.hexdigits.lower())


@pytest.mark.parametrize(
    "other",
    [
        {"image": "img2", "platform": "EC2"},
        {"image": "img", "platform": "FARGATE"},
        {"image": "img", "platform": "EC2", "secrets": []},
        {"image": "img", "platform": "EC2 "},
    ],
)
def test_definition_name_changes_with_content(other):
    assert names.definition_name({"image": "img", "platform": "EC2"}) != names.definition_name(
        other
    )


@given(
    st.dictionaries(
        st.text(max_size=10), st.one_of(st.text(max_size=10), st.integers()), max_size=6
    )
)
def test_definition_name_always_valid_and_independent_of_key_order(content):
    reordered = dict(reversed(list(content.items())))
    assert names.definition_name(content) == names.definition_name(reordered)
    assert names.is_valid(names.definition_name(content))
