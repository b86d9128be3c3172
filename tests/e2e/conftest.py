"""The local AWS Batch endpoint and helpers to run the real ``snakemake`` command line on it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

from snakemake_aws_batch_local import LocalBatch

# Planted on the submitting side: none of these may reach a job, a definition or a log.
PLANTED_HOST_SECRET = "PLANTED-HOST-SECRET-7f3a"
PLANTED_STORAGE_SECRET = "PLANTED-STORAGE-SECRET-91c2"


@pytest.fixture(scope="session")
def local_batch() -> Iterator[LocalBatch]:
    with LocalBatch(status_pace_seconds=0.2) as local:
        yield local


@pytest.fixture
def local(local_batch: LocalBatch) -> LocalBatch:
    local_batch.set_knobs(
        latency_ms=0,
        submit_rate_limit=None,
        throttle_rate=0.0,
        server_error_rate=0.0,
        ambiguous_rate=0.0,
        hold_jobs=False,
        forget_jobs=[],
        instant_jobs=False,
        status_pace_seconds=0.2,
    )
    requests.post(f"{local_batch.endpoint_url}/_local/reset-calls", timeout=10).raise_for_status()
    return local_batch


def calls(local: LocalBatch) -> dict[str, int]:
    answer = requests.get(f"{local.endpoint_url}/_local/calls", timeout=10)
    answer.raise_for_status()
    return dict(answer.json())


def sent(local: LocalBatch, operation: str) -> list[dict[str, Any]]:
    answer = requests.get(
        f"{local.endpoint_url}/_local/requests", params={"op": operation}, timeout=10
    )
    answer.raise_for_status()
    return list(answer.json())


def batch_client(local: LocalBatch) -> Any:
    return boto3.client(
        "batch",
        endpoint_url=local.endpoint_url,
        region_name=local.region,
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def aws_client(local: LocalBatch, service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=local.endpoint_url,
        region_name=local.region,
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def jobs_named(local: LocalBatch, prefix: str) -> list[dict[str, Any]]:
    """The jobs of this test (submitted since the counters were reset) named ``prefix*``."""
    names = {request["jobName"] for request in sent(local, "SubmitJob")}
    batch = batch_client(local)
    ids = []
    for queue in (local.job_queue, local.fargate_job_queue):
        listed = batch.list_jobs(
            jobQueue=queue, filters=[{"name": "JOB_NAME", "values": [f"{prefix}*"]}]
        )
        ids += [summary["jobId"] for summary in listed["jobSummaryList"]]
    described = [
        job
        for start in range(0, len(ids), 100)
        for job in batch.describe_jobs(jobs=ids[start : start + 100])["jobs"]
    ]
    return [job for job in described if job["jobName"] in names]


@dataclass
class Run:
    returncode: int
    output: str


@dataclass
class Workflow:
    """A Snakefile in a fresh directory, run with ``snakemake --executor aws-batch``."""

    local: LocalBatch
    path: Path
    prefix: str
    unset: tuple[str, ...] = ()  # variables of the endpoint's environment to leave out

    def environment(self) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
        env.update({k: v for k, v in self.local.env().items() if k not in self.unset})
        env["AWS_SECRET_ACCESS_KEY"] = PLANTED_HOST_SECRET  # moto accepts any key
        env["SNAKEMAKE_STORAGE_S3_SECRET_KEY"] = PLANTED_STORAGE_SECRET
        env["SNAKEMAKE_STORAGE_S3_ACCESS_KEY"] = "local"
        return env

    def command(self, *extra: str) -> list[str]:
        return [
            sys.executable, "-m", "snakemake",
            "--executor", "aws-batch",
            "--jobs", "8",
            "--default-storage-provider", "s3",
            "--default-storage-prefix", self.prefix,
            "--seconds-between-status-checks", "1",
            "--latency-wait", "5",
            "--container-image", "snakemake/snakemake:local",
            *extra,
        ]  # fmt: skip

    def run(self, *extra: str, timeout: float = 600) -> Run:
        done = subprocess.run(
            self.command(*extra),
            cwd=self.path,
            env=self.environment(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
            check=False,
        )
        return Run(done.returncode, done.stdout)

    def start(self, *extra: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            self.command(*extra),
            cwd=self.path,
            env=self.environment(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )

    def read(self, key: str) -> str:
        bucket, _, base = self.prefix.removeprefix("s3://").partition("/")
        body = aws_client(self.local, "s3").get_object(Bucket=bucket, Key=f"{base}/{key}")["Body"]
        return str(body.read().decode())


@pytest.fixture
def workflow(local: LocalBatch, tmp_path: Path, request: pytest.FixtureRequest) -> Any:
    def make(snakefile: str) -> Workflow:
        (tmp_path / "Snakefile").write_text(textwrap.dedent(snakefile))
        name = request.node.name.replace("[", "-").replace("]", "").replace("_", "-").lower()[:40]
        return Workflow(local, tmp_path, f"{local.storage_prefix}/{name}")

    return make


def interrupt(process: subprocess.Popen[str], sig: signal.Signals) -> None:
    os.killpg(process.pid, sig) if sig is signal.SIGINT else process.send_signal(sig)
