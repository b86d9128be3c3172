"""Container options of job definitions: kept and shown, log groups, host volumes, and Spot
interruptions (the ``interrupt_jobs`` knob)."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest

from local_helpers import client, definition, describe, submit, unique, wait_for
from snakemake_aws_batch_local import LocalBatch
from snakemake_aws_batch_local.__main__ import _parser, knob_values
from snakemake_aws_batch_local.container import Mount, Options, Ulimit, link_mounts, options_of
from snakemake_aws_batch_local.docker_engine import MIB, run_options

SPOT_REASON = re.compile(r"Host EC2 \(instance i-[0-9a-f]{17}\) terminated\.")
RETRY_SPOT = {
    "attempts": 2,
    "evaluateOnExit": [
        {"onStatusReason": "Host EC2*", "action": "RETRY"},
        {"onReason": "*", "action": "EXIT"},
    ],
}
EFS_VOLUME = {
    "name": "shared",
    "efsVolumeConfiguration": {
        "fileSystemId": "fs-0123456789abcdef0",
        "rootDirectory": "/",
        "transitEncryption": "ENABLED",
        "authorizationConfig": {"accessPointId": "fsap-0123456789abcdef0", "iam": "ENABLED"},
    },
}


def log_group(local: LocalBatch) -> str:
    name = f"/snakemake/{unique('group')}"
    client(local, "logs").create_log_group(logGroupName=name)
    return name


def awslogs(group: str, prefix: str | None = None, **options: str) -> dict[str, Any]:
    values = {"awslogs-group": group, **options}
    if prefix is not None:
        values["awslogs-stream-prefix"] = prefix
    return {"logDriver": "awslogs", "options": values}


def lines_in(local: LocalBatch, group: str, stream: str) -> list[str]:
    events = client(local, "logs").get_log_events(
        logGroupName=group, logStreamName=stream, startFromHead=True
    )["events"]
    return [str(event["message"]) for event in events]


def streams_in(local: LocalBatch, group: str) -> set[str]:
    found = client(local, "logs").describe_log_streams(logGroupName=group)["logStreams"]
    return {str(stream["logStreamName"]) for stream in found}


# -- kept and shown ----------------------------------------------------------------------
def test_container_options_are_kept_and_shown(
    batch: Any, local: LocalBatch, tmp_path: Path
) -> None:
    group = log_group(local)
    ec2 = {
        "image": "local/ignored:latest",
        "command": ["/bin/sh", "-c", "echo ran"],
        "resourceRequirements": [
            {"type": "VCPU", "value": "1"},
            {"type": "MEMORY", "value": "1024"},
        ],
        "linuxParameters": {"sharedMemorySize": 2048},
        "volumes": [{"name": "refs", "host": {"sourcePath": str(tmp_path)}}, EFS_VOLUME],
        "mountPoints": [
            {"sourceVolume": "refs", "containerPath": "/refs", "readOnly": True},
            {"sourceVolume": "shared", "containerPath": "/mnt/efs", "readOnly": False},
        ],
        "ulimits": [{"name": "nofile", "softLimit": 65536, "hardLimit": 65536}],
        "privileged": True,
        "logConfiguration": awslogs(group, "snakemake"),
    }
    fargate = {
        "image": "local/ignored:latest",
        "command": ["/bin/sh", "-c", "echo ran"],
        "resourceRequirements": [
            {"type": "VCPU", "value": "1"},
            {"type": "MEMORY", "value": "2048"},
        ],
        "executionRoleArn": local.execution_role_arn,
        "runtimePlatform": {"operatingSystemFamily": "LINUX", "cpuArchitecture": "ARM64"},
        "fargatePlatformConfiguration": {"platformVersion": "1.4.0"},
        "networkConfiguration": {"assignPublicIp": "ENABLED"},
        "volumes": [EFS_VOLUME],
        "mountPoints": [{"sourceVolume": "shared", "containerPath": "/mnt/efs"}],
        "logConfiguration": awslogs(group, "snakemake"),
    }
    names = {"ec2": unique("def"), "fargate": unique("def")}
    batch.register_job_definition(
        jobDefinitionName=names["ec2"], type="container", containerProperties=ec2
    )
    batch.register_job_definition(
        jobDefinitionName=names["fargate"],
        type="container",
        platformCapabilities=["FARGATE"],
        containerProperties=fargate,
    )
    sent = {"ec2": ec2, "fargate": fargate}
    for kind, name in names.items():
        [found] = batch.describe_job_definitions(jobDefinitionName=name)["jobDefinitions"]
        shown = found["containerProperties"]
        assert {k: shown[k] for k in sent[kind]} == sent[kind]
    ids = {
        "ec2": submit(batch, local, names["ec2"]),
        "fargate": batch.submit_job(
            jobName=unique("job"), jobQueue=local.fargate_job_queue, jobDefinition=names["fargate"]
        )["jobId"],
    }
    for kind, job_id in ids.items():
        job = wait_for(batch, job_id)
        # Accepted and shown, not enforced: privileged, ulimits, ARM64 and EFS all "run".
        assert job["status"] == "SUCCEEDED", job
        container = job["container"]
        for key in ("volumes", "mountPoints", "logConfiguration"):
            assert container[key] == sent[kind][key]
        stream = f"snakemake/default/{job_id}"
        assert container["logStreamName"] == stream
        assert lines_in(local, group, stream) == ["ran"]
    ec2_container = describe(batch, ids["ec2"])["container"]
    assert ec2_container["linuxParameters"] == {"sharedMemorySize": 2048}
    assert ec2_container["ulimits"] == ec2["ulimits"]
    assert ec2_container["privileged"] is True
    fargate_container = describe(batch, ids["fargate"])["container"]
    assert fargate_container["runtimePlatform"]["cpuArchitecture"] == "ARM64"
    assert fargate_container["fargatePlatformConfiguration"] == {"platformVersion": "1.4.0"}


# -- log groups --------------------------------------------------------------------------
def test_logs_go_to_the_definitions_log_group(batch: Any, local: LocalBatch) -> None:
    group = log_group(local)
    with_prefix = definition(batch, "echo one; echo two", logConfiguration=awslogs(group, "p"))
    without_prefix = definition(batch, "echo three", logConfiguration=awslogs(group))
    first, second = submit(batch, local, with_prefix), submit(batch, local, without_prefix)
    jobs = [wait_for(batch, first), wait_for(batch, second)]
    assert [job["status"] for job in jobs] == ["SUCCEEDED", "SUCCEEDED"]
    expected = [f"p/default/{first}", f"{without_prefix}/default/{second}"]
    assert [job["container"]["logStreamName"] for job in jobs] == expected
    assert [job["attempts"][0]["container"]["logStreamName"] for job in jobs] == expected
    assert jobs[0]["container"]["logConfiguration"] == awslogs(group, "p")
    assert lines_in(local, group, expected[0]) == ["one", "two"]
    assert lines_in(local, group, expected[1]) == ["three"]
    assert not streams_in(local, "/aws/batch/job") & set(expected)


def test_a_missing_log_group_fails_the_attempt_as_on_aws(batch: Any, local: LocalBatch) -> None:
    missing = f"/snakemake/{unique('missing')}"
    name = definition(
        batch, "echo ran", logConfiguration=awslogs(missing), retryStrategy={"attempts": 2}
    )
    fargate = unique("def")
    batch.register_job_definition(
        jobDefinitionName=fargate,
        type="container",
        platformCapabilities=["FARGATE"],
        containerProperties={
            "image": "local/ignored:latest",
            "command": ["echo", "ran"],
            "executionRoleArn": local.execution_role_arn,
            "resourceRequirements": [
                {"type": "VCPU", "value": "0.25"},
                {"type": "MEMORY", "value": "512"},
            ],
            "logConfiguration": awslogs(missing),
        },
    )
    created = definition(
        batch, "echo ran", logConfiguration=awslogs(missing, **{"awslogs-create-group": "true"})
    )
    ec2_id = submit(batch, local, name)
    fargate_id = batch.submit_job(
        jobName=unique("job"), jobQueue=local.fargate_job_queue, jobDefinition=fargate
    )["jobId"]
    ec2_job, fargate_job = wait_for(batch, ec2_id), wait_for(batch, fargate_id)
    for job in (ec2_job, fargate_job):
        assert (job["status"], job["statusReason"]) == ("FAILED", "Task failed to start")
        assert "startedAt" not in job
        assert "logStreamName" not in job["container"]
        assert all("logStreamName" not in a["container"] for a in job["attempts"])
    assert len(ec2_job["attempts"]) == 2  # a container that fails to start is retried
    assert ec2_job["container"]["reason"] == (
        "CannotStartContainerError: Error response from daemon: failed to initialize logging "
        "driver: failed to create Cloudwatch log stream: ResourceNotFoundException: The "
        "specified log group does not exist."
    )
    assert fargate_job["container"]["reason"] == (
        "ResourceInitializationError: failed to validate logger args: create stream has been "
        "retried 1 times: failed to create Cloudwatch log stream: ResourceNotFoundException: "
        "The specified log group does not exist. : exit status 1"
    )
    # awslogs-create-group: the driver creates the group itself.
    job_id = submit(batch, local, created)
    job = wait_for(batch, job_id)
    assert job["status"] == "SUCCEEDED"
    assert lines_in(local, missing, job["container"]["logStreamName"]) == ["ran"]


def test_another_log_driver_sends_nothing_to_cloudwatch(batch: Any, local: LocalBatch) -> None:
    name = definition(batch, "echo ran", logConfiguration={"logDriver": "json-file"})
    job = wait_for(batch, submit(batch, local, name))
    assert job["status"] == "SUCCEEDED"
    assert "logStreamName" not in job["container"]
    assert not any(s.startswith(f"{name}/") for s in streams_in(local, "/aws/batch/job"))


# -- host volumes ------------------------------------------------------------------------
def test_host_volumes_are_reachable_from_the_job(
    batch: Any, local: LocalBatch, tmp_path: Path
) -> None:
    refs, same, made = tmp_path / "refs", tmp_path / "same", tmp_path / "made" / "here"
    refs.mkdir()
    (refs / "genome.fa").write_text(">chr1\n")
    same.mkdir()
    (same / "same.txt").write_text("same path\n")
    command = (
        "cat refs/genome.fa; cat $HOME/refs/genome.fa; "
        f"cat {same}/same.txt; cat .{same}/same.txt; "
        "test -d scratch && echo scratch is empty $(ls -A scratch | wc -l); "
        "echo written > out/result.txt"
    )
    name = definition(
        batch,
        command,
        volumes=[
            {"name": "refs", "host": {"sourcePath": str(refs)}},
            {"name": "same", "host": {"sourcePath": str(same)}},
            {"name": "out", "host": {"sourcePath": str(made)}},
            {"name": "scratch"},
        ],
        mountPoints=[
            {"sourceVolume": "refs", "containerPath": "/refs", "readOnly": True},
            {"sourceVolume": "same", "containerPath": str(same)},
            {"sourceVolume": "out", "containerPath": "/out"},
            {"sourceVolume": "scratch", "containerPath": "/scratch"},
        ],
    )
    job = wait_for(batch, submit(batch, local, name))
    assert job["status"] == "SUCCEEDED", job
    lines = lines_in(local, "/aws/batch/job", job["container"]["logStreamName"])
    assert lines == [">chr1", ">chr1", "same path", "same path", "scratch is empty 0"]
    # The missing host path was made, as the Docker daemon does; the links went with the
    # working directory, the host files stayed.
    assert (made / "result.txt").read_text() == "written\n"
    assert (refs / "genome.fa").read_text() == ">chr1\n"


def test_options_of_a_definition() -> None:
    options = options_of(
        {
            "linuxParameters": {"sharedMemorySize": 256},
            "ulimits": [{"name": "nofile", "softLimit": 1024, "hardLimit": 4096}],
            "privileged": True,
            "volumes": [{"name": "a", "host": {"sourcePath": "/srv/a"}}, {"name": "b"}, EFS_VOLUME],
            "mountPoints": [
                {"sourceVolume": "a", "containerPath": "/a", "readOnly": True},
                {"sourceVolume": "b", "containerPath": "/b"},
                {"sourceVolume": "shared", "containerPath": "/efs"},
                {"sourceVolume": "unknown", "containerPath": "/u"},
            ],
        }
    )
    assert options == Options(
        mounts=(Mount("/a", "/srv/a", read_only=True), Mount("/b", None)),
        shared_memory_mib=256,
        ulimits=(Ulimit("nofile", 1024, 4096),),
        privileged=True,
    )
    assert options_of({}) == Options()


def test_links_that_cannot_be_made_are_left_out(tmp_path: Path) -> None:
    workdir, source = tmp_path / "work", tmp_path / "source"
    workdir.mkdir()
    problems = link_mounts(
        str(workdir),
        (
            Mount("/data", str(source)),
            Mount("/data/inner", str(tmp_path / "inner")),  # would land in the source
            Mount("/data", str(tmp_path)),  # taken
            Mount("/", str(tmp_path)),
            Mount("relative", str(tmp_path)),
            Mount("/a/../b/./c", None),
        ),
    )
    assert len(problems) == 4
    assert (workdir / "data").resolve() == source.resolve()
    assert not (source / "inner").exists()
    assert not (tmp_path / "inner").exists()
    assert (workdir / "b" / "c").is_dir()
    assert not (workdir / "b" / "c").is_symlink()


def test_docker_run_options() -> None:
    options = Options(
        mounts=(Mount("/a", "/srv/a", read_only=True), Mount("/w", "/srv/w"), Mount("/b", None)),
        shared_memory_mib=256,
        ulimits=(Ulimit("nofile", 1024, 4096),),
        privileged=True,
    )
    keywords = run_options(options)
    assert keywords["volumes"] == ["/srv/a:/a:ro", "/srv/w:/w:rw"]
    assert [dict(m) for m in keywords["mounts"]] == [
        {"Target": "/b", "Source": None, "Type": "volume", "ReadOnly": False}
    ]
    assert keywords["shm_size"] == 256 * MIB
    assert [dict(u) for u in keywords["ulimits"]] == [
        {"Name": "nofile", "Soft": 1024, "Hard": 4096}
    ]
    assert keywords["privileged"] is True
    assert run_options(Options()) == {}


# -- Spot interruptions ------------------------------------------------------------------
def test_an_interrupted_job_is_retried_on_host_ec2(batch: Any, local: LocalBatch) -> None:
    prefix = unique("snakejob-align")
    local.set_knobs(interrupt_jobs=[f"{prefix}-*"])
    name = definition(batch, "echo attempt $AWS_BATCH_JOB_ATTEMPT", retryStrategy=RETRY_SPOT)
    matching = batch.submit_job(
        jobName=f"{prefix}-1", jobQueue=local.job_queue, jobDefinition=name
    )["jobId"]
    other = batch.submit_job(
        jobName=unique("snakejob-sort"), jobQueue=local.job_queue, jobDefinition=name
    )["jobId"]
    job = wait_for(batch, matching)
    assert job["status"] == "SUCCEEDED", job
    first, second = job["attempts"]
    assert SPOT_REASON.fullmatch(first["statusReason"]), first
    assert "exitCode" not in first["container"]
    assert (second["statusReason"], second["container"]["exitCode"]) == (
        "Essential container in task exited",
        0,
    )
    assert lines_in(local, "/aws/batch/job", second["container"]["logStreamName"]) == ["attempt 2"]
    assert len(wait_for(batch, other)["attempts"]) == 1


def test_an_interrupted_job_without_retries_fails(batch: Any, local: LocalBatch) -> None:
    job_name = unique("snakejob-call")
    local.set_knobs(interrupt_jobs=job_name)  # one pattern may be given alone
    assert local.knobs()["interrupt_jobs"] == [job_name]
    name = definition(batch, "echo ran")
    job_id = batch.submit_job(jobName=job_name, jobQueue=local.job_queue, jobDefinition=name)[
        "jobId"
    ]
    job = wait_for(batch, job_id)
    assert job["status"] == "FAILED"
    assert SPOT_REASON.fullmatch(job["statusReason"]), job
    [attempt] = job["attempts"]
    assert attempt["statusReason"] == job["statusReason"]
    assert "exitCode" not in job["container"]


def test_a_running_job_is_interrupted_when_its_id_is_named(batch: Any, local: LocalBatch) -> None:
    job_id = submit(batch, local, definition(batch, "sleep 60"))
    wait_for(batch, job_id, ("RUNNING",))
    started = time.monotonic()
    local.set_knobs(interrupt_jobs=[job_id])
    job = wait_for(batch, job_id, timeout=15)
    assert time.monotonic() - started < 10
    assert job["status"] == "FAILED"
    assert SPOT_REASON.fullmatch(job["statusReason"]), job


def test_interruptions_of_array_children_and_instant_jobs(batch: Any, local: LocalBatch) -> None:
    prefix = unique("snakejob-array")
    local.set_knobs(interrupt_jobs=[f"{prefix}*"], instant_jobs=True)
    name = definition(batch, "exit 1", retryStrategy=RETRY_SPOT)
    parent = batch.submit_job(
        jobName=prefix, jobQueue=local.job_queue, jobDefinition=name, arrayProperties={"size": 2}
    )["jobId"]
    assert wait_for(batch, parent)["status"] == "SUCCEEDED"
    for index in (0, 1):
        child = describe(batch, f"{parent}:{index}")
        first, second = child["attempts"]
        assert SPOT_REASON.fullmatch(first["statusReason"])
        assert second["container"]["exitCode"] == 0
    with pytest.raises(ValueError, match="interrupt_jobs"):
        local.set_knobs(interrupt_jobs=[3])


def test_interrupt_jobs_on_the_command_line() -> None:
    args = _parser().parse_args(["--interrupt-jobs", "snakejob-a*", "--interrupt-jobs", "x"])
    assert knob_values(args) == {"interrupt_jobs": ["snakejob-a*", "x"]}
