"""The one command of an array job: every child runs exactly its own job's command."""

from __future__ import annotations

import itertools
import json
import os
import shlex
import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from snakemake_executor_plugin_aws_batch import arrays

# Wildcard values as users write them, and the characters that break naive quoting.
VALUES = st.text(
    alphabet=st.sampled_from("abcXYZ019_-.,:;=/ '\"\\$`!*?&|<>(){}[]#~\t\n\u00e9\u4e2d"),
    min_size=0,
    max_size=40,
)


def job_command(value: str) -> str:
    """A command shaped like Snakemake's: the job's target in the middle, quoted."""
    target = shlex.quote(f"map:sample={value}")
    return f"printf '%s|' start {target} --cores all --attempt 1 && printf 'end\\n'"


def run(script: str, index: int | None) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    if index is not None:
        env[arrays.INDEX_VARIABLE] = str(index)
    return subprocess.run(
        ["/bin/sh", "-c", script], env=env, capture_output=True, text=True, check=False
    )


@given(st.lists(st.text(max_size=30), min_size=1, max_size=20))
def test_split_gives_back_every_command(commands):
    parts = arrays.split(commands)
    assert [parts.command(i) for i in range(len(commands))] == commands


@settings(max_examples=40, deadline=None)
@given(st.lists(VALUES, min_size=1, max_size=6, unique=True))
def test_each_child_runs_exactly_its_own_jobs_command(values):
    commands = [job_command(value) for value in values]
    script = arrays.script(arrays.split(commands))
    for index, command in enumerate(commands):
        expected = run(command, None)
        assert expected.returncode == 0
        child = run(script, index)
        assert (child.returncode, child.stdout, child.stderr) == (0, expected.stdout, "")


def test_a_range_of_jobs_is_indexed_from_zero():
    commands = [job_command(f"s{n}") for n in range(5)]
    script = arrays.script(arrays.split(commands), 2, 4)
    assert run(script, 0).stdout == "start|map:sample=s2|--cores|all|--attempt|1|end\n"
    assert run(script, 1).stdout == "start|map:sample=s3|--cores|all|--attempt|1|end\n"
    assert run(script, 2).returncode == arrays.NO_JOB_EXIT_CODE


def test_a_child_without_a_job_fails_saying_so():
    script = arrays.script(arrays.split([job_command("a"), job_command("b")]))
    for index in (None, 2, -1):
        child = run(script, index)
        assert child.returncode == arrays.NO_JOB_EXIT_CODE
        assert "no job for array index" in child.stderr
        assert "start" not in child.stdout


def test_the_exit_code_of_a_childs_command_is_the_childs():
    commands = ["exit 0", "exit 3"]
    script = arrays.script(arrays.split(commands))
    assert [run(script, i).returncode for i in range(2)] == [0, 3]


def json_length(text: str) -> int:
    return len(json.dumps(text)) - 2


@settings(max_examples=60, deadline=None)
@given(
    st.lists(VALUES, min_size=1, max_size=300),
    st.integers(min_value=300, max_value=4000),
)
def test_chunks_cover_every_job_in_order_within_the_budget(values, budget):
    parts = arrays.split([job_command(value) for value in values])
    ranges = list(arrays.chunks(parts, budget))
    assert ranges[0][0] == 0
    assert ranges[-1][1] == len(values)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(ranges))
    for start, stop in ranges:
        assert stop > start
        if stop - start > 1:
            assert json_length(arrays.script(parts, start, stop)) <= budget
        # Greedy: the next job would not have fitted.
        if stop < len(values):
            assert json_length(arrays.script(parts, start, stop + 1)) > budget


def test_no_array_holds_more_than_aws_allows():
    parts = arrays.split([f"echo {n}" for n in range(arrays.MAX_SIZE + 5)])
    sizes = [stop - start for start, stop in arrays.chunks(parts, 10**9)]
    assert sizes == [arrays.MAX_SIZE, 5]


def test_a_job_over_the_budget_alone_is_a_range_of_its_own():
    parts = arrays.split(["echo a", "echo " + "b" * 500, "echo c"])
    assert list(arrays.chunks(parts, 200)) == [(0, 1), (1, 2), (2, 3)]


def test_split_of_nothing_is_refused():
    with pytest.raises(ValueError, match="no commands"):
        arrays.split([])


# Grouping


def request(**changes):
    base = {
        "jobName": "snakejob-map-1",
        "jobQueue": "q",
        "jobDefinition": "arn:def:1",
        "containerOverrides": {
            "command": ["/bin/sh", "-c", "run 1"],
            "resourceRequirements": [{"type": "VCPU", "value": "1"}],
            "environment": [{"name": "A", "value": "1"}],
        },
        "timeout": {"attemptDurationSeconds": 600},
    }
    for name, value in changes.items():
        if name in base["containerOverrides"]:
            base["containerOverrides"] = {**base["containerOverrides"], name: value}
        else:
            base[name] = value
    return base


def key(rule="map", attempt=1, **changes):
    return arrays.group_key(request(**changes), rule=rule, attempt=attempt)


def test_jobs_differing_only_in_name_and_command_share_a_key():
    assert key(jobName="snakejob-map-2", command=["/bin/sh", "-c", "run 2"]) == key()


@pytest.mark.parametrize(
    "changes",
    [
        {"rule": "other"},
        {"attempt": 2},
        {"jobQueue": "q2"},
        {"jobDefinition": "arn:def:2"},
        {"resourceRequirements": [{"type": "VCPU", "value": "2"}]},
        {"environment": [{"name": "A", "value": "2"}]},
        {"timeout": {"attemptDurationSeconds": 601}},
        {"retryStrategy": {"attempts": 2}},
        {"tags": {"a": "b"}},
        {"schedulingPriorityOverride": 1},
        {"shareIdentifier": "s"},
        {"consumableResourcePropertiesOverride": {"consumableResourceList": []}},
    ],
)
def test_any_other_difference_gives_another_key(changes):
    assert key(**changes) != key()


def test_groups_of_enough_jobs_become_arrays_in_order_and_the_rest_go_alone():
    keys = ["a", "b", "a", None, "a", "b", "c"]
    assert arrays.groups(keys, 3) == ([[0, 2, 4]], [1, 3, 5, 6])
    assert arrays.groups(keys, 2) == ([[0, 2, 4], [1, 5]], [3, 6])


def test_min_size_zero_turns_arrays_off_and_one_still_needs_two_jobs():
    keys = ["a", "a", "b"]
    assert arrays.groups(keys, 0) == ([], [0, 1, 2])
    assert arrays.groups(keys, 1) == ([[0, 1]], [2])


@given(st.lists(st.one_of(st.none(), st.sampled_from("abcd")), max_size=50), st.integers(0, 6))
def test_every_job_is_placed_exactly_once(keys, min_size):
    grouped, alone = arrays.groups(keys, min_size)
    placed = [position for members in grouped for position in members] + alone
    assert sorted(placed) == list(range(len(keys)))
    for members in grouped:
        assert len({keys[p] for p in members}) == 1
        assert None not in {keys[p] for p in members}
        assert len(members) >= max(min_size, 2)


# Status arithmetic


def parent(status="PENDING", size=10, **summary):
    return {"status": status, "arrayProperties": {"size": size, "statusSummary": summary}}


@pytest.mark.parametrize(
    ("described", "known", "expected"),
    [
        (parent(RUNNING=10), 0, False),  # nothing finished: the parent alone is enough
        (parent(RUNNING=7, SUCCEEDED=3), 3, False),  # every finish is known already
        (parent(RUNNING=7, SUCCEEDED=2, FAILED=1), 2, True),  # one new
        (parent(RUNNING=10), 4, False),  # a lagging summary says less than is known
        (parent("SUCCEEDED", RUNNING=10), 4, True),  # finished parent, summary behind
        (parent("FAILED", SUCCEEDED=9, FAILED=1), 10, False),  # every child known
        (parent("SUBMITTED", size=0), 0, False),
    ],
)
def test_children_are_looked_at_only_when_one_may_have_finished(described, known, expected):
    assert arrays.children_may_have_finished(described, known) is expected
