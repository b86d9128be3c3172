"""What a job carries for a later run to recognise it: its workflow, its request's
fingerprint, and the key of its command (the same up to the order of an option's values)."""

from __future__ import annotations

import copy
import shlex
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from snakemake_executor_plugin_aws_batch.resume import identity

REQUEST: dict[str, Any] = {
    "jobName": "snakejob-map-1",
    "jobQueue": "q",
    "jobDefinition": "def",
    "containerOverrides": {
        "command": ["/bin/sh", "-c", "snakemake --target-jobs map:s=1"],
        "resourceRequirements": [{"type": "VCPU", "value": "1"}],
        "environment": [{"name": "A", "value": "1"}],
    },
    "timeout": {"attemptDurationSeconds": 300},
    "tags": {"snakemake-aws-batch-coordinator": "job-1"},
    "propagateTags": True,
}


def test_the_workflow_is_its_storage_prefix_when_it_has_one_else_its_folder():
    coordinator_1 = identity.workflow_id(
        storage_prefix="s3://b/p/", workdir="/tmp/a", snakefile="/tmp/a/Snakefile"
    )
    coordinator_2 = identity.workflow_id(
        storage_prefix="s3://b/p", workdir="/tmp/b", snakefile="/tmp/b/Snakefile"
    )
    assert coordinator_1 == coordinator_2  # a new folder each time, the same outputs
    other_prefix = identity.workflow_id(
        storage_prefix="s3://b/q", workdir="/tmp/a", snakefile="/tmp/a/Snakefile"
    )
    other_snakefile = identity.workflow_id(
        storage_prefix="s3://b/p", workdir="/tmp/a", snakefile="/tmp/a/other.smk"
    )
    here = identity.workflow_id(storage_prefix=None, workdir="/w/a", snakefile="/w/a/Snakefile")
    there = identity.workflow_id(storage_prefix=None, workdir="/w/b", snakefile="/w/b/Snakefile")
    assert len({coordinator_1, other_prefix, other_snakefile, here, there}) == 5


def test_the_fingerprint_leaves_out_name_command_and_tags_only():
    base = identity.fingerprint(REQUEST, rule="map", sources="src-1")
    renamed = copy.deepcopy(REQUEST)
    renamed["jobName"] = "snakejob-map-2"
    renamed["containerOverrides"]["command"] = ["/bin/sh", "-c", "other"]
    renamed["tags"] = {"snakemake-aws-batch-coordinator": "job-2"}
    assert identity.fingerprint(renamed, rule="map", sources="src-1") == base
    assert identity.fingerprint(REQUEST, rule="other", sources="src-1") != base
    # The attempt is left out: what it changes is in the request.
    assert identity.fingerprint(REQUEST, rule="map", sources="src-1") == base
    assert identity.fingerprint(REQUEST, rule="map", sources="src-2") != base


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("jobQueue",), "q2"),
        (("jobDefinition",), "def2"),
        (("containerOverrides", "resourceRequirements"), [{"type": "VCPU", "value": "2"}]),
        (("containerOverrides", "environment"), []),
        (("containerOverrides", "environment"), [{"name": "A", "value": "2"}]),
        (("timeout",), {"attemptDurationSeconds": 301}),
    ],
)
def test_any_change_of_what_the_job_runs_with_changes_the_fingerprint(path, value):
    changed = copy.deepcopy(REQUEST)
    target = changed
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    assert identity.fingerprint(changed, rule="map", sources="src-1") != identity.fingerprint(
        REQUEST, rule="map", sources="src-1"
    )


def test_a_described_job_gives_back_what_it_carries():
    job = {
        "container": {
            "environment": [
                {"name": "A", "value": "1"},
                *(
                    {"name": k, "value": v}
                    for k, v in identity.variables("workflow-1", "request-1").items()
                ),
            ]
        }
    }
    assert identity.carried(job) == ("workflow-1", "request-1")
    assert identity.carried({}) == (None, None)
    assert identity.carried({"container": {"environment": [{"name": "A"}]}}) == (None, None)
    assert identity.carried({"container": None}) == (None, None)
    assert identity.carried({"container": {"environment": None}}) == (None, None)


def test_only_the_two_variables_are_read_each_on_its_own():
    only_workflow = {
        "container": {"environment": [{"name": identity.WORKFLOW_VARIABLE, "value": "w"}]}
    }
    only_request = {
        "container": {"environment": [{"name": identity.REQUEST_VARIABLE, "value": "r"}]}
    }
    assert identity.carried(only_workflow) == ("w", None)
    assert identity.carried(only_request) == (None, "r")


JOB = "snakemake --target-jobs 'work:i=1' --rerun-triggers {triggers} --attempt 1 --cores all"


def test_the_order_of_an_options_values_does_not_change_the_key():
    one = identity.command_key(JOB.format(triggers="code params mtime"))
    other = identity.command_key(JOB.format(triggers="mtime code params"))
    assert one == other
    assert one != identity.command_key(JOB.format(triggers="code params"))


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("--target-jobs 'work:i=1' --attempt 1", "--target-jobs 'work:i=2' --attempt 1"),
        ("--config 'x=1' 'x=2' --cores 1", "--config 'x=2' 'x=1' --cores 1"),  # last wins
        ("cp a b", "cp b a"),  # plain arguments keep their order
        ("--a x --b y", "--a --b x y"),  # a value stays with its option
        ("--a x && echo y", "--a y && echo x"),  # and on its side of the &&
        ("--a x || echo y", "--a y || echo x"),
        ("--a x ; echo y", "--a y ; echo x"),
    ],
)
def test_commands_that_differ_in_a_value_have_different_keys(one, other):
    assert identity.command_key(f"snakemake {one}") != identity.command_key(f"snakemake {other}")


def test_a_command_the_shell_cannot_split_is_its_own_key():
    unbalanced = "snakemake --target-jobs 'work:i=1 --attempt 1"
    assert identity.command_key(unbalanced) == unbalanced
    balanced = "snakemake --target-jobs 'work:i=1' --attempt 1"
    assert identity.command_key(unbalanced) != identity.command_key(balanced)


# A value as Snakemake writes one: no option, no shell operator.
VALUE = st.text(min_size=1, max_size=8).filter(
    lambda v: not v.startswith("-") and v not in identity.SHELL_OPERATORS
)
PROPERTY = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])


def triggers_command(triggers: list[str]) -> str:
    return shlex.join(["snakemake", "--rerun-triggers", *triggers, "&&", "echo", "done"])


@PROPERTY
@given(st.lists(VALUE, min_size=1, max_size=5), st.randoms(use_true_random=False))
def test_shuffling_an_options_values_never_changes_the_key(values, random):
    shuffled = random.sample(values, len(values))
    key = identity.command_key(triggers_command(values))
    assert identity.command_key(triggers_command(shuffled)) == key


@PROPERTY
@given(st.lists(VALUE, min_size=1, max_size=5), VALUE)
def test_adding_a_value_always_changes_the_key(values, extra):
    key = identity.command_key(triggers_command(values))
    assert identity.command_key(triggers_command([*values, extra])) != key


def test_where_the_sources_are_fetched_from_is_not_in_the_key():
    def job(sources: str, target: str = "'work:i=1'") -> str:
        return identity.command_key(
            f"snakemake --deploy-sources {sources} --target-jobs {target} --attempt 1"
        )

    one = job("s3://b/archive-1.tar.xz abc123")
    assert job("s3://b/archive-2.tar.xz def456") == one
    assert job("s3://b/archive-1.tar.xz abc123", "'work:i=2'") != one


def test_the_sources_digest_is_of_the_files_content(tmp_path):
    first, second = tmp_path / "Snakefile", tmp_path / "rules.smk"
    first.write_text("rule a: pass")
    second.write_text("rule b: pass")
    paths = [str(first), str(second)]
    digest = identity.sources_digest(paths)
    assert identity.sources_digest([*reversed(paths), str(first)]) == digest
    second.write_text("rule b: shell: 'true'")
    assert identity.sources_digest(paths) != digest
    missing = [str(tmp_path / "missing.smk")]
    assert identity.sources_digest(missing) != identity.sources_digest(missing)


def test_the_targets_of_a_command_are_its_target_jobs_in_any_order():
    def targets(values: str, rest: str = "--attempt 1") -> str:
        return identity.targets(f"snakemake --target-jobs {values} {rest}")

    assert targets("'a:i=1' 'b:i=2'") == targets("'b:i=2' 'a:i=1'", "--attempt 2 --cores 4")
    assert targets("'a:i=1' 'b:i=2'") != targets("'a:i=1'")
    assert targets("'a:i=1'", "&& echo 'b:i=2'") == targets("'a:i=1'", "--cores 1")
    assert targets("'a:i=1'") != targets("'a:i=2'")
    no_targets = "snakemake --rerun-triggers mtime code --attempt 1"
    assert identity.targets(no_targets) == identity.command_key(no_targets)
    assert identity.targets("snakemake --target-jobs 'a:i=1") == "snakemake --target-jobs 'a:i=1"


def test_the_attempt_and_the_sources_archive_do_not_change_the_key():
    first = (
        "snakemake --deploy-sources s3://b/w/sources.aa.tar.xz aa --target-jobs 'w:i=1' --attempt 1"
    )
    second = (
        "snakemake --deploy-sources s3://b/w/sources.bb.tar.xz bb --target-jobs 'w:i=1' --attempt 2"
    )
    assert identity.command_key(first) == identity.command_key(second)
