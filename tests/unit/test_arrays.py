"""The one command of an array job: every child runs exactly its own job's command."""

from __future__ import annotations

import itertools
import json
import os
import shlex
import subprocess
import uuid
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from snakemake_interface_common.exceptions import WorkflowError

from snakemake_executor_plugin_aws_batch.aws.service import MARKER_VARIABLE
from snakemake_executor_plugin_aws_batch.jobspec import payloads
from snakemake_executor_plugin_aws_batch.submission import arrays
from snakemake_executor_plugin_aws_batch.tracking import status

from ..factories import job_spec

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


# Any text a wildcard can hold: every character but NUL (which no argument can hold).
ANY_TEXT = st.characters(exclude_categories=["Cs"], exclude_characters="\x00")
WILDCARDS = st.one_of(
    VALUES,
    st.text(alphabet=ANY_TEXT, max_size=40),
    st.text(alphabet=ANY_TEXT, min_size=300, max_size=1200),
)


def printing(args: list[str]) -> str:
    """A command that prints each of ``args`` on a line of its own, quoted for the shell."""
    return "printf '%s\\n' " + " ".join(shlex.quote(arg) for arg in args)


def run_bytes(script: str, index: int) -> subprocess.CompletedProcess[bytes]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), arrays.INDEX_VARIABLE: str(index)}
    return subprocess.run(["/bin/sh", "-c", script], env=env, capture_output=True, check=False)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(WILDCARDS, min_size=1, max_size=2), min_size=1, max_size=5))
def test_any_wildcard_values_reach_the_child_exactly(jobs: list[list[str]]) -> None:
    args_of = [
        ["snakemake", "--target-jobs", *(f"map:sample={value}" for value in values), "--cores"]
        for values in jobs
    ]
    script = arrays.script(arrays.split([printing(args) for args in args_of]))
    for index, args in enumerate(args_of):
        child = run_bytes(script, index)
        assert (child.returncode, child.stderr) == (0, b"")
        assert child.stdout == "".join(f"{arg}\n" for arg in args).encode()
    beyond = run_bytes(script, len(jobs))
    assert (beyond.returncode, beyond.stdout) == (arrays.NO_JOB_EXIT_CODE, b"")


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


# The budget of a real request ----------------------------------------------------------

DEFINITION_ARN = "arn:aws:batch:us-east-1:123456789012:job-definition/snakejob-def-0123456789:12"


def array_request(environment: dict[str, str], **changes: Any) -> dict[str, Any]:
    """An array's request with an empty command, as the executor sizes its scripts on."""
    return payloads.submit_job(
        job_spec(**changes),
        job_definition=DEFINITION_ARN,
        command="",
        environment=environment,
        array_size=arrays.MAX_SIZE,
    )


def with_script(request: dict[str, Any], script: str, *, marked: bool = True) -> dict[str, Any]:
    """``request`` running ``script``, with the marker the service adds when ``marked``."""
    overrides = request["containerOverrides"]
    command = [*overrides["command"][:-1], script]
    filled = {**request, "containerOverrides": {**overrides, "command": command}}
    return (
        payloads.with_environment(filled, {MARKER_VARIABLE: uuid.uuid4().hex}) if marked else filled
    )


ENVIRONMENTS = [{}, {"SNAKEMAKE_STORAGE_S3_ENDPOINT": "http://localhost:9000"}]
BIG_TAGS = {f"tag-{i}": "v" * 250 for i in range(90)}  # ~24 KiB: the payload limit binds


@pytest.mark.parametrize("environment", ENVIRONMENTS)
@pytest.mark.parametrize("tags", [{}, BIG_TAGS])
def test_a_script_of_the_whole_budget_fits_with_the_services_marker(
    environment: dict[str, str], tags: dict[str, str]
) -> None:
    request = array_request(environment, tags=tags)
    budget = arrays.script_budget(request)
    assert 0 < budget < payloads.MAX_CONTAINER_OVERRIDES
    payloads.check_size("map", with_script(request, "x" * budget))
    # Nothing is held back but the marker's room.
    payloads.check_size(
        "map", with_script(request, "x" * (budget + arrays.MARKER_ALLOWANCE), marked=False)
    )
    with pytest.raises(WorkflowError, match="Rule 'map'"):
        payloads.check_size(
            "map", with_script(request, "x" * (budget + arrays.MARKER_ALLOWANCE + 1), marked=False)
        )


def test_the_payload_limit_is_the_budget_when_it_is_the_nearer() -> None:
    plain = arrays.script_budget(array_request({}))
    tagged = arrays.script_budget(array_request({}, tags=BIG_TAGS))
    assert tagged < plain - 1000
    too_long = with_script(
        array_request({}, tags=BIG_TAGS), "x" * (tagged + arrays.MARKER_ALLOWANCE + 1), marked=False
    )
    with pytest.raises(WorkflowError, match="the SubmitJob request is"):
        payloads.check_size("map", too_long)


def test_the_budget_counts_characters_as_json_writes_them() -> None:
    request = array_request({})
    budget = arrays.script_budget(request)
    # "é" takes six characters in JSON ("\\u00e9"), a newline two.
    payloads.check_size("map", with_script(request, "\u00e9" * (budget // 6)))
    payloads.check_size("map", with_script(request, "\n" * (budget // 2)))
    with pytest.raises(WorkflowError):
        payloads.check_size(
            "map", with_script(request, "\u00e9" * (budget // 6 + 30), marked=False)
        )


def test_the_marker_fits_in_its_allowance_with_or_without_an_environment() -> None:
    for environment in ENVIRONMENTS:
        request = array_request(environment)
        before = len(json.dumps(request["containerOverrides"], separators=(",", ":")))
        marked = with_script(request, "")
        after = len(json.dumps(marked["containerOverrides"], separators=(",", ":")))
        assert 0 < after - before <= arrays.MARKER_ALLOWANCE


@settings(max_examples=40, deadline=None)
@given(st.lists(WILDCARDS, min_size=2, max_size=120), st.sampled_from(ENVIRONMENTS))
def test_every_array_request_of_a_group_passes_the_size_check(
    values: list[str], environment: dict[str, str]
) -> None:
    commands = [
        f"snakemake --target-jobs {shlex.quote(f'map:sample={value}')} --cores all"
        for value in values
    ]
    parts = arrays.split(commands)
    request = array_request(environment)
    budget = arrays.script_budget(request)
    for start, stop in arrays.chunks(parts, budget):
        if stop - start == 1:
            continue  # submitted alone, with its own command
        script = arrays.script(parts, start, stop)
        assert json_length(script) <= budget
        payloads.check_size("map", with_script(request, script))


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


def gathered(keys, min_size, times=None):
    """What a round of jobs with these keys gives: the groups released while it was
    gathered (at ``times``, one per job), then the end's groups and lone jobs."""
    gathering = arrays.Gathering(min_size, started=0.0, first_release=0.25)
    released = []
    for position, key in enumerate(keys):
        released += gathering.add(key, position, times[position] if times else 0.0)
    grouped, alone = gathering.rest()
    return released, grouped, alone


def test_groups_of_enough_jobs_become_arrays_in_order_and_the_rest_go_alone():
    keys = ["a", "b", "a", "a", "b", "c"]
    assert gathered(keys, 3) == ([], [[0, 2, 3]], [1, 4, 5])
    assert gathered(keys, 2) == ([], [[0, 2, 3], [1, 4]], [5])


def test_min_size_zero_turns_arrays_off_and_one_still_needs_two_jobs():
    keys = ["a", "a", "b"]
    assert gathered(keys, 0, [0, 1, 2]) == ([], [], [0, 1, 2])
    assert gathered(keys, 1) == ([], [[0, 1]], [2])


def test_a_long_round_releases_full_groups_as_it_goes_then_less_and_less_often():
    # One job every 0.1 s: releases at 0.3 s (the first past 0.25), then 0.5 s later
    # (0.8), then 1 s later (1.8); the rest at the end.
    keys = ["a", "b", "a", "a", "a", "b", "a", "a", "a", "a", "c", "a", "a", "a", "a", "a",
            "a", "a", "a", "a", "a"]  # fmt: skip
    times = [position / 10 for position in range(len(keys))]
    released, grouped, alone = gathered(keys, 3, times)
    assert released == [[0, 2, 3], [4, 6, 7, 8], [9, 11, 12, 13, 14, 15, 16, 17, 18]]
    # "a" went out already: its last two are an array too; "b" never had 3, nor "c": alone.
    assert grouped == [[19, 20]]
    assert alone == [1, 5, 10]


def test_a_group_released_once_leaves_a_single_job_alone_at_the_end():
    keys = ["a", "a", "a"]
    assert gathered(keys, 2, [0.0, 0.3, 0.31]) == ([[0, 1]], [], [2])


@given(
    st.lists(st.tuples(st.sampled_from("abcd"), st.floats(0, 0.2)), max_size=60),
    st.integers(0, 6),
)
def test_every_job_is_placed_exactly_once(jobs, min_size):
    keys = [key for key, _ in jobs]
    times = list(itertools.accumulate(step for _, step in jobs))
    released, grouped, alone = gathered(keys, min_size, times)
    placed = [position for members in released + grouped for position in members] + alone
    assert sorted(placed) == list(range(len(keys)))
    assert alone == sorted(alone)
    for members in released + grouped:
        assert members == sorted(members)
        assert len({keys[p] for p in members}) == 1
        assert min_size > 0
        assert len(members) >= 2
    for members in released:
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
    assert status.children_may_have_finished(described, known) is expected


# Reading an array's script back


@given(
    st.lists(st.text(min_size=0, max_size=30), min_size=1, max_size=12),
    st.text(max_size=20),
    st.text(max_size=20),
    st.data(),
)
def test_a_script_gives_back_the_commands_of_its_children(middles, head, tail, data):
    commands = [f"{head}{middle}{tail}" for middle in middles]
    parts = arrays.split(commands)
    start = data.draw(st.integers(0, len(commands) - 1))
    stop = data.draw(st.integers(start + 1, len(commands)))
    assert arrays.commands_of(arrays.script(parts, start, stop)) == commands[start:stop]


@pytest.mark.parametrize(
    "text",
    [
        "snakemake --target-jobs a:x=1",  # a single job's command
        "",
        arrays.script(arrays.split(["a 1", "a 2"])).replace("1) _m", "7) _m"),  # out of order
        arrays.script(arrays.split(["a 1", "a 2"])).rpartition("\n")[0],  # cut short
        arrays.script(arrays.split(["a 1", "a 2"])) + "\nrm -rf /",  # something added
    ],
)
def test_anything_else_is_not_read_as_an_array_script(text):
    assert arrays.commands_of(text) is None
