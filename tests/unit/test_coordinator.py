"""The coordinator job's name, arguments, environment and requests."""

from __future__ import annotations

import shlex

import pytest
from hypothesis import given
from hypothesis import strategies as st
from snakemake_interface_common.exceptions import WorkflowError

from snakemake_executor_plugin_aws_batch.detached import coordinator
from snakemake_executor_plugin_aws_batch.jobspec import names

from ..fakes import RecordingLogger


@given(st.text(max_size=300))
def test_the_job_name_is_valid_for_any_folder(folder: str) -> None:
    name = coordinator.job_name(folder)
    assert names.is_valid(name)
    assert name.startswith("snakemake-coordinator-")


def test_the_job_name_keeps_the_folder() -> None:
    assert coordinator.job_name("rna seq/v2").startswith("snakemake-coordinator-rna-seq-v2-")


def test_the_executor_is_added_when_missing_and_another_is_refused() -> None:
    assert coordinator.with_executor(["--jobs", "4"]) == ["--jobs", "4", "--executor", "aws-batch"]
    assert coordinator.with_executor(["-e", "aws-batch"]) == ["-e", "aws-batch"]
    with pytest.raises(WorkflowError, match="--executor slurm"):
        coordinator.with_executor(["--executor", "slurm"])


def test_the_arguments_a_detached_run_needs_are_read() -> None:
    known = coordinator.read_args(
        ["all", "--default-storage-provider", "s3", "--default-storage-prefix=s3://b/p",
         "--aws-batch-job-queue", "q", "--jobs", "10", "--aws-batch-assign-public-ip",
         "--storage-s3-endpoint-url", "http://minio:9000"]
    )  # fmt: skip
    assert (known.default_storage_provider, known.default_storage_prefix) == ("s3", "s3://b/p")
    assert (known.aws_batch_job_queue, known.aws_batch_assign_public_ip) == ("q", True)
    assert known.aws_batch_job_role is None
    assert known.storage_s3_endpoint_url == "http://minio:9000"


def test_the_environment_holds_settings_and_storage_settings_never_credentials() -> None:
    variables = {
        "SNAKEMAKE_AWS_BATCH_JOB_QUEUE": "q",
        "SNAKEMAKE_AWS_BATCH_LOCAL_CONTROL_URL": "http://127.0.0.1:1",  # not a setting
        "SNAKEMAKE_STORAGE_S3_ENDPOINT_URL": "http://s3",
        "SNAKEMAKE_STORAGE_S3_SECRET_KEY": "planted",
        "AWS_SECRET_ACCESS_KEY": "planted",
        "HOME": "/root",
    }
    environment = coordinator.environment(
        variables,
        settings=coordinator.setting_variables(["job_queue", "job_role"]),
        logger=RecordingLogger(),
    )
    assert environment == {
        "SNAKEMAKE_AWS_BATCH_JOB_QUEUE": "q",
        "SNAKEMAKE_STORAGE_S3_ENDPOINT_URL": "http://s3",
    }


def test_the_workers_are_tagged_with_the_coordinator() -> None:
    tag = "snakemake-aws-batch-coordinator=J"
    assert coordinator.worker_tags(["--jobs", "1"], {}, "J") == [
        "--jobs",
        "1",
        "--aws-batch-tags",
        tag,
    ]
    assert coordinator.worker_tags([], {"SNAKEMAKE_AWS_BATCH_TAGS": "a=1"}, "J") == [
        "--aws-batch-tags", f"a=1,{tag}",
    ]  # fmt: skip
    assert coordinator.worker_tags(["--aws-batch-tags", "b=2"], {}, "J") == [
        "--aws-batch-tags", f"b=2,{tag}",
    ]  # fmt: skip
    assert coordinator.worker_tags(["--aws-batch-tags=c=3"], {}, "J") == [
        f"--aws-batch-tags=c=3,{tag}"
    ]


def test_the_command_quotes_every_argument() -> None:
    args = ["--config", "name=it's $HOME", "--jobs", "4"]
    shell, flag, script = coordinator.command("s3://b/src.tar.gz", "s3://b", args, "1.2.3")
    assert (shell, flag) == ("/bin/sh", "-c")
    first, second = script.splitlines()
    assert "snakemake-executor-plugin-aws-batch==1.2.3" in first
    assert shlex.split(second) == [
        "exec", "python", "-m", "snakemake_executor_plugin_aws_batch.detached.coordinator_job",
        "s3://b/src.tar.gz", "s3://b", "--", *args,
    ]  # fmt: skip


def test_the_request_has_no_timeout_and_no_retry() -> None:
    request = coordinator.submit_request(
        name="n", queue="q", definition="d", command=["c"], environment={"A": "1"},
        vcpu=0.5, memory_mib=1024,
    )  # fmt: skip
    assert "timeout" not in request
    assert "retryStrategy" not in request
    assert request["containerOverrides"] == {
        "command": ["c"],
        "environment": [{"name": "A", "value": "1"}],
        "resourceRequirements": [
            {"type": "VCPU", "value": "0.5"},
            {"type": "MEMORY", "value": "1024"},
        ],
    }
    assert coordinator.results_url("s3://b/p/", "J") == "s3://b/p/.snakemake-aws-batch/J/"
