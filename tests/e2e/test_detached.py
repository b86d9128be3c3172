"""Detached runs through the real ``snakemake-aws-batch`` command: a coordinator job on the
local endpoint runs the workflow, with the workflow's folder out of its reach."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import tarfile
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from snakemake_aws_batch_local import LocalBatch

from ..conftest import client as aws_client
from .conftest import PLANTED_HOST_SECRET, PLANTED_STORAGE_SECRET, Workflow, calls, sent

pytestmark = pytest.mark.timeout(600)
CLI = str(Path(sys.executable).parent / "snakemake-aws-batch")
FAN_OUT = """
rule all:
    input: expand("out/{i}.txt", i=range(8))

rule fan:
    output: "out/{i}.txt"
    shell: "echo fanned {wildcards.i} > {output}"
"""
LOG_GROUP = "/snakemake/detached"
SLOW = """
rule all:
    input: expand("slow/{i}.txt", i=range(8))

rule slow:
    output: "slow/{i}.txt"
    shell: "sleep 600; touch {output}"
"""


class Detached:
    """The ``snakemake-aws-batch`` command run in a workflow's folder, on the local endpoint."""

    def __init__(self, flow: Workflow) -> None:
        self.flow = flow

    def snakemake_args(self) -> list[str]:
        return [
            "--jobs", "8",
            "--default-storage-provider", "s3",
            "--default-storage-prefix", self.flow.prefix,
            "--storage-s3-endpoint-url", self.flow.local.endpoint_url,
            "--container-image", "snakemake/snakemake:local",
            "--seconds-between-status-checks", "1",
            "--aws-batch-array-min-size", "0",
        ]  # fmt: skip

    def command(self, *args: str) -> list[str]:
        return [CLI, *args]

    def run(
        self, *args: str, timeout: float = 300, **variables: str
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.command(*args), cwd=self.flow.path, env={**self.flow.environment(), **variables},
            capture_output=True, text=True, timeout=timeout, check=False,
        )  # fmt: skip

    def start(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            self.command(*args), cwd=self.flow.path, env=self.flow.environment(),
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip

    def object(self, url: str) -> bytes:
        bucket, _, key = url.removeprefix("s3://").partition("/")
        body = aws_client(self.flow.local, "s3").get_object(Bucket=bucket, Key=key)["Body"]
        return bytes(body.read())


def coordinator_id(output: str) -> str:
    [line] = [line for line in output.splitlines() if line.startswith("Coordinator job: ")]
    return line.removeprefix("Coordinator job: ")


@pytest.fixture
def detached(workflow: Any) -> Any:
    def make(snakefile: str) -> Detached:
        return Detached(workflow(textwrap.dedent(snakefile)))

    return make


def test_run_wait_runs_the_workflow_from_its_sources_and_keeps_its_log(
    detached: Any, tmp_path: Path
) -> None:
    run = detached(FAN_OUT)
    (run.flow.path / ".snakemake" / "old").mkdir(parents=True)
    (run.flow.path / ".snakemake" / "old" / "left-behind.txt").write_text("not a source")
    (run.flow.path / "data").mkdir()
    with (run.flow.path / "data" / "reads.fastq").open("wb") as data:
        data.truncate(11 * 1024 * 1024)  # data: above a source file's 10 MB
    aws_client(run.flow.local, "logs").create_log_group(logGroupName=LOG_GROUP)
    args = [*run.snakemake_args(), "--aws-batch-log-group", LOG_GROUP]
    process = run.start("run", "--wait", "--poll-seconds", "1", "--", *args)
    assert process.stdout is not None
    printed = []
    while not printed or not printed[-1].startswith("Sources: "):  # until it is submitted
        printed.append(process.stdout.readline())
        assert printed[-1], "".join(printed)
    # From here on, the workflow's folder is gone: the coordinator has its own copy.
    moved = tmp_path.parent / f"{tmp_path.name}-moved"
    run.flow.path.rename(moved)
    # Read on through the same buffer (communicate() would skip what it holds already).
    rest = process.stdout.read()
    process.wait(timeout=300)
    output = "".join(printed) + rest
    assert process.returncode == 0, output[-4000:]
    job_id = coordinator_id(output)
    for i in range(8):
        assert run.flow.read(f"out/{i}.txt").strip() == f"fanned {i}"
    assert "4 of 4 steps" not in output  # 9 steps: the whole workflow ran in the coordinator
    assert "9 of 9 steps (100%) done" in output  # its log, followed by --wait
    results = f"{run.flow.prefix}/.snakemake-aws-batch/{job_id}"
    assert b"9 of 9 steps (100%) done" in run.object(f"{results}/snakemake.log")
    assert run.object(f"{results}/run-record/jobs.tsv").count(b"\tSUCCEEDED\t") == 8
    [job] = aws_client(run.flow.local, "batch").describe_jobs(jobs=[job_id])["jobs"]
    assert job["jobName"].startswith(f"snakemake-coordinator-{tmp_path.name}-")
    assert job["status"] == "SUCCEEDED"
    # The coordinator logs where its workers do: the log group setting, not AWS's default.
    assert f"Its log: CloudWatch Logs group {LOG_GROUP}," in output
    assert job["container"]["logConfiguration"]["options"]["awslogs-group"] == LOG_GROUP
    stream = job["container"]["logStreamName"]
    events = aws_client(run.flow.local, "logs").get_log_events(
        logGroupName=LOG_GROUP, logStreamName=stream
    )["events"]
    assert any("9 of 9 steps (100%) done" in event["message"] for event in events)
    described = json.dumps(job)
    assert PLANTED_HOST_SECRET not in described
    assert PLANTED_STORAGE_SECRET not in described
    environment = {e["name"] for e in job["container"]["environment"]}
    assert "AWS_SECRET_ACCESS_KEY" not in environment
    assert "SNAKEMAKE_AWS_BATCH_JOB_QUEUE" in environment
    assert "Warning: data/reads.fastq (11.0 MiB) stays behind" in output
    # The sources: the Snakefile alone, not .snakemake/ nor data (the outputs are in S3).
    [sources] = [line for line in output.splitlines() if line.startswith("Sources: ")]
    url = sources.removeprefix("Sources: 1 files, ")
    with tarfile.open(fileobj=io.BytesIO(run.object(url)), mode="r:gz") as tar:
        assert tar.getnames() == ["Snakefile"]


def test_run_then_status_logs_and_cancel_with_eight_workers_running(detached: Any) -> None:
    run = detached(SLOW)
    run.flow.local.set_knobs(stop_timeout_seconds=30)  # AWS's: the coordinator has 30 s
    submitted = run.run("run", "--", *run.snakemake_args())
    assert submitted.returncode == 0, submitted.stderr[-3000:]
    job_id = coordinator_id(submitted.stdout)
    assert f"snakemake-aws-batch cancel {job_id}" in submitted.stdout
    deadline = time.monotonic() + 180
    while True:
        status = run.run("status", job_id)
        assert status.returncode == 0, status.stderr
        if "  RUNNING    8" in status.stdout:
            break
        assert time.monotonic() < deadline, status.stdout
        time.sleep(1)
    assert f"Coordinator {job_id} (snakemake-coordinator-" in status.stdout
    assert "): RUNNING" in status.stdout
    logs = run.run("logs", job_id)
    assert logs.returncode == 0
    assert "source files from s3://" in logs.stdout
    assert "Submitting AWS Batch job snakejob-slow-" in logs.stdout
    cancelled_at = time.monotonic()
    cancel = run.run("cancel", job_id)
    assert cancel.returncode == 0, cancel.stderr
    assert f"Terminating coordinator {job_id}" in cancel.stdout
    batch = aws_client(run.flow.local, "batch")
    while True:
        workers = [
            job
            for queue in (run.flow.local.job_queue,)
            for summary in batch.list_jobs(jobQueue=queue, jobStatus="RUNNING")["jobSummaryList"]
            for job in [summary]
            if job["jobName"].startswith("snakejob-slow-")
        ]
        if not workers:
            break
        assert time.monotonic() - cancelled_at < 30, workers
        time.sleep(0.5)
    assert calls(run.flow.local).get("TerminateJob", 0) >= 9  # the coordinator, its 8 workers
    while "): RUNNING" in (final := run.run("status", job_id)).stdout:  # its Snakemake ends
        assert time.monotonic() - cancelled_at < 30, final.stdout
        time.sleep(0.5)
    assert "): FAILED (Cancelled with snakemake-aws-batch cancel)" in final.stdout
    assert "  FAILED     8" in final.stdout
    # Its Snakemake log was kept, the cancellation in it.
    log = run.object(f"{run.flow.prefix}/.snakemake-aws-batch/{job_id}/snakemake.log")
    assert b"snakejob-slow-" in log


def test_a_folder_too_large_is_refused_before_anything_is_submitted(
    detached: Any, local: LocalBatch
) -> None:
    run = detached(FAN_OUT)
    (run.flow.path / "ref").mkdir()
    (run.flow.path / "ref" / "genome.txt").write_bytes(b"x" * (3 * 1024 * 1024))
    (run.flow.path / "ref" / "small.txt").write_bytes(b"x" * 1024)
    refused = run.run("run", "--max-sources-mib", "2", "--", *run.snakemake_args())
    assert refused.returncode == 1
    assert "ref/genome.txt (3.0 MiB)" in refused.stderr
    assert "above the limit of 2 MiB (--max-sources-mib)" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert calls(local).get("SubmitJob", 0) == 0
    # S3 elsewhere than AWS_ENDPOINT_URL says: the storage plugin's endpoint is the one used.
    accepted = run.run(
        "run", "--max-sources-mib", "2", "--exclude", "ref", "--", *run.snakemake_args(),
        AWS_ENDPOINT_URL_S3="http://127.0.0.1:9",
    )  # fmt: skip
    assert accepted.returncode == 0, accepted.stderr
    assert "Sources: 1 files" in accepted.stdout
    run.run("cancel", coordinator_id(accepted.stdout))


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (
            ["run", "--", "--executor", "slurm"],
            "a coordinator runs its workflow with --executor aws-batch",
        ),
        (["run", "--"], "Give Snakemake's arguments after `--`"),
        (["run", "--", "--jobs", "1"], "A detached run needs S3 default storage"),
        (["status", "no-such-job"], "AWS Batch knows no job no-such-job"),
    ],
)
def test_bad_input_is_a_clear_error(
    detached: Any, local: LocalBatch, args: list[str], said: str
) -> None:
    run = detached(FAN_OUT)
    result = run.run(*args)
    assert result.returncode == 1
    assert said in result.stderr
    assert "Traceback" not in result.stderr
    assert calls(local).get("SubmitJob", 0) == 0


def test_a_bad_log_group_is_refused_naming_the_setting(detached: Any, local: LocalBatch) -> None:
    run = detached(FAN_OUT)
    result = run.run("run", "--", *run.snakemake_args(), "--aws-batch-log-group", "my logs")
    assert result.returncode == 1
    assert "setting --aws-batch-log-group (SNAKEMAKE_AWS_BATCH_LOG_GROUP): 'my logs'" in (
        result.stderr
    )
    assert "Traceback" not in result.stderr
    assert calls(local).get("SubmitJob", 0) == 0


def test_a_workflow_that_does_not_load_is_refused(detached: Any, local: LocalBatch) -> None:
    run = detached("rule broken:\n    output: 'x'\n    shell 'no colon'\n")
    result = run.run("run", "--", *run.snakemake_args())
    assert result.returncode == 1
    assert "The workflow does not load" in result.stderr
    assert "SyntaxError" in result.stderr or "invalid syntax" in result.stderr.lower()
    assert calls(local).get("SubmitJob", 0) == 0


@pytest.mark.parametrize(
    ("unset", "queue", "said"),
    [
        ("SNAKEMAKE_AWS_BATCH_JOB_ROLE", None, "No job role for the coordinator"),
        (
            "SNAKEMAKE_AWS_BATCH_EXECUTION_ROLE",
            "fargate",
            "runs on Fargate, which needs an execution role",
        ),
        (None, "snakemake-no-such-queue", "snakemake-no-such-queue"),
    ],
)
def test_missing_settings_and_bad_queues_are_refused(
    detached: Any, local: LocalBatch, unset: str | None, queue: str | None, said: str
) -> None:
    run = detached(FAN_OUT)
    environment = run.flow.environment()
    if unset:
        environment.pop(unset)
    chosen = local.fargate_job_queue if queue == "fargate" else queue
    result = subprocess.run(
        run.command("run", *(["--queue", chosen] if chosen else []), "--", *run.snakemake_args()),
        cwd=run.flow.path, env=environment, capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip
    assert result.returncode == 1, result.stdout
    assert said in result.stderr
    assert "Traceback" not in result.stderr
    assert calls(local).get("SubmitJob", 0) == 0
    assert calls(local).get("s3.PUT", 0) == 0  # no sources sent either


def test_bad_options_are_refused_by_the_parser(detached: Any) -> None:
    run = detached(FAN_OUT)
    result = run.run("run", "--vcpu", "0", "--", "--jobs", "1")
    assert result.returncode == 2
    assert "--vcpu: a positive number, not '0'" in result.stderr


# The workers run until the file RELEASE names exists (jobs here are local processes).
STEADY = """
rule all:
    input: expand("steady/{{i}}.txt", i=range(4))

rule steady:
    output: "steady/{{i}}.txt"
    shell: "while [ ! -e {release} ]; do sleep 0.2; done; echo steady {{wildcards.i}} > {{output}}"
"""


def kill_coordinator(prefix: str) -> None:
    """SIGKILL the coordinator's process group, as if its host were gone: found by the
    module it runs and the workflow's storage prefix in its command line."""
    for entry in Path("/proc").iterdir():
        try:
            line = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        coordinator = b"-m" in line and any(b"coordinator_job" in word for word in line)
        if coordinator and any(prefix.encode() in word for word in line):
            os.killpg(int(entry.name), signal.SIGKILL)
            return
    raise AssertionError(f"no coordinator process for {prefix}")


def test_a_coordinator_started_again_after_its_own_died_takes_over_its_workers(
    detached: Any, tmp_path: Path
) -> None:
    release = tmp_path.parent / f"{tmp_path.name}-release"  # not among the sources
    run = detached(STEADY.format(release=release))
    first = run.run("run", "--", *run.snakemake_args())
    assert first.returncode == 0, first.stderr[-3000:]
    deadline = time.monotonic() + 180
    while len(sent(run.flow.local, "SubmitJob")) < 5:  # the coordinator and its 4 workers
        assert time.monotonic() < deadline
        time.sleep(0.5)
    time.sleep(1)
    kill_coordinator(run.flow.prefix)
    batch = aws_client(run.flow.local, "batch")
    [dead] = batch.describe_jobs(jobs=[coordinator_id(first.stdout)])["jobs"]
    while dead["status"] != "FAILED":
        assert time.monotonic() < deadline
        time.sleep(0.5)
        [dead] = batch.describe_jobs(jobs=[dead["jobId"]])["jobs"]
    run.flow.local.reset_calls()

    def release_once_looked_for() -> None:
        """The workers end once the new coordinator has listed the queue's jobs."""
        until = time.monotonic() + 300
        while not run.flow.local.calls().get("ListJobs") and time.monotonic() < until:
            time.sleep(0.2)
        time.sleep(3)
        release.touch()

    releaser = threading.Thread(target=release_once_looked_for, daemon=True)
    releaser.start()
    try:
        again = run.run("run", "--wait", "--poll-seconds", "1", "--", *run.snakemake_args())
    finally:
        release.touch()
        releaser.join()
    assert again.returncode == 0, (again.stdout + again.stderr)[-4000:]
    for i in range(4):
        assert run.flow.read(f"steady/{i}.txt").strip() == f"steady {i}"
    [coordinator] = sent(run.flow.local, "SubmitJob")  # no worker submitted again
    assert coordinator["jobName"].startswith("snakemake-coordinator-")
    assert "4 AWS Batch jobs adopted, 0 cancelled" in again.stdout
