"""What a job carries for a later run to recognise it."""

from __future__ import annotations

import copy

import pytest

from snakemake_executor_plugin_aws_batch.resume import identity

REQUEST = {
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
    base = identity.fingerprint(REQUEST, rule="map", attempt=1)
    renamed = copy.deepcopy(REQUEST)
    renamed["jobName"] = "snakejob-map-2"
    renamed["containerOverrides"]["command"] = ["/bin/sh", "-c", "other"]
    renamed["tags"] = {"snakemake-aws-batch-coordinator": "job-2"}
    assert identity.fingerprint(renamed, rule="map", attempt=1) == base
    assert identity.fingerprint(REQUEST, rule="other", attempt=1) != base
    assert identity.fingerprint(REQUEST, rule="map", attempt=2) != base


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("jobQueue",), "q2"),
        (("jobDefinition",), "def2"),
        (("containerOverrides", "resourceRequirements"), [{"type": "VCPU", "value": "2"}]),
        (("containerOverrides", "environment"), []),
        (("timeout",), {"attemptDurationSeconds": 301}),
    ],
)
def test_any_change_of_what_the_job_runs_with_changes_the_fingerprint(path, value):
    changed = copy.deepcopy(REQUEST)
    target = changed
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    assert identity.fingerprint(changed, rule="map", attempt=1) != identity.fingerprint(
        REQUEST, rule="map", attempt=1
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
