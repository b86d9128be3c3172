"""Run the example workflow on the local AWS Batch endpoint and show what happened.

Starts the endpoint, stores a secret, runs ``snakemake --executor aws-batch`` on
``examples/demo/Snakefile`` with S3 default storage, prints a table of the AWS Batch
jobs, the results and where the run record's timeline is, and stops the endpoint. The
workflow runs in ``.demo/`` (made afresh each time), which keeps Snakemake's log and the
run record after the run.

The jobs run in containers of Snakemake's default image when a Docker API answers
(``DOCKER_HOST`` or Docker's socket), or when podman is installed and has the image
(``make image``): podman then serves the API for the demo's length. Otherwise they run
as local processes. The demo says which.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import boto3
from snakemake.common import get_container_image

from snakemake_aws_batch_local import LocalBatch, PodmanService
from snakemake_aws_batch_local.podman import podman_installed

HERE = Path(__file__).resolve().parent
WORKFLOW = HERE / "demo"
WORKDIR = HERE.parent / ".demo"
SECRET_NAME = "demo/api-token"
PODMAN_CONFIG = HERE.parent / "podman" / "containers.conf"
DOCKER_SOCKET = Path("/var/run/docker.sock")


def podman_for_the_demo(stack: contextlib.ExitStack, workdir: Path) -> str | None:
    """Podman serving Docker's API for the demo, when no Docker API is configured and
    podman has Snakemake's default image; a sentence saying why not, otherwise."""
    if os.environ.get("DOCKER_HOST") or DOCKER_SOCKET.exists():
        return None  # the endpoint asks that API itself
    if not podman_installed():
        return "no Docker API answers and podman is not installed (`make image` installs it)"
    service = stack.enter_context(
        PodmanService(workdir / ".podman" / "podman.sock", config=PODMAN_CONFIG)
    )
    image = get_container_image()
    if not service.has_image(image):
        return f"podman has no {image} (`make image` builds it)"
    os.environ["DOCKER_HOST"] = service.docker_host  # the endpoint inherits it
    return None


def main() -> int:
    workdir = WORKDIR
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    shutil.copy(WORKFLOW / "Snakefile", workdir / "Snakefile")
    with contextlib.ExitStack() as stack:
        why_not_containers = podman_for_the_demo(stack, workdir)
        local = stack.enter_context(LocalBatch(status_pace_seconds=0.2))
        health = local.health()
        if health["engine"] == "docker":
            ran = f"in containers of {get_container_image()}, by {health['engine_description']}"
        else:
            ran = f"as local processes: {why_not_containers or 'no Docker API answers'}"
        print(f"The local AWS Batch runs its jobs {ran}.\n", flush=True)
        returncode = run_workflow(local, workdir)
    print(f"\nThe workflow's folder, with Snakemake's log under .snakemake/log: {workdir}")
    records = sorted((workdir / ".snakemake" / "aws-batch").glob("*/timeline.html"))
    if records:
        folder = records[-1].parent
        print(f"The run record (jobs.tsv, summary.json): {folder}")
        print(f"The timeline, to open in a browser: {records[-1]}")
    print(f"The jobs ran {ran}.")
    if returncode != 0:
        print(f"\nThe workflow failed (exit code {returncode}).")
    return returncode


def run_workflow(local: LocalBatch, workdir: Path) -> int:
    """Run the workflow on ``local``, then show its jobs and results; Snakemake's exit code."""
    os.environ.update(local.env())  # this process talks to the local endpoint too
    session = boto3.session.Session(region_name=local.region)
    secret_arn = session.client("secretsmanager", endpoint_url=local.endpoint_url).create_secret(
        Name=SECRET_NAME, SecretString="s3cr3t-demo-token"
    )["ARN"]
    command = [
        sys.executable, "-m", "snakemake",
        "--executor", "aws-batch",
        "--jobs", "4",
        "--default-storage-provider", "s3",
        "--default-storage-prefix", local.storage_prefix,
        "--storage-s3-endpoint-url", local.endpoint_url,
        "--seconds-between-status-checks", "1",
        "--config", f"token_secret={secret_arn}",
        "--printshellcmds",
    ]  # fmt: skip
    print(f"$ {' '.join(command)}\n", flush=True)
    result = subprocess.run(command, cwd=workdir, env=dict(os.environ), check=False)
    batch = session.client("batch", endpoint_url=local.endpoint_url)
    print_jobs(batch, [local.job_queue, local.fargate_job_queue])
    print_results(session.client("s3", endpoint_url=local.endpoint_url), local.storage_prefix)
    return result.returncode


def print_jobs(batch: Any, queues: list[str]) -> None:
    ids = [
        summary["jobId"]
        for queue in queues
        for status in (
            "SUBMITTED",
            "PENDING",
            "RUNNABLE",
            "STARTING",
            "RUNNING",
            "SUCCEEDED",
            "FAILED",
        )
        for summary in batch.list_jobs(jobQueue=queue, jobStatus=status)["jobSummaryList"]
    ]
    jobs = [
        job
        for start in range(0, len(ids), 100)
        for job in batch.describe_jobs(jobs=ids[start : start + 100])["jobs"]
    ]
    jobs.sort(key=lambda job: job.get("createdAt", 0))
    rows = [("job name", "queue", "vCPU", "memory", "attempts", "status", "duration")]
    for job in jobs:
        requirements = {
            r["type"]: r["value"] for r in job.get("container", {}).get("resourceRequirements", [])
        }
        started, stopped = job.get("startedAt"), job.get("stoppedAt")
        duration = f"{(stopped - started) / 1000:.1f} s" if started and stopped else "-"
        rows.append(
            (
                job["jobName"],
                job["jobQueue"].rsplit("/", 1)[-1],
                requirements.get("VCPU", "-"),
                f"{requirements.get('MEMORY', '-')} MiB",
                str(len(job.get("attempts", [])) or 1),
                job["status"],
                duration,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    print(f"\nAWS Batch jobs ({datetime.now():%Y-%m-%d %H:%M}):")
    for index, row in enumerate(rows):
        print("  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
        if index == 0:
            print("  " + "  ".join("-" * width for width in widths))


def print_results(s3: Any, prefix: str) -> None:
    bucket, _, key_prefix = prefix.removeprefix("s3://").partition("/")
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=f"{key_prefix}/results/").get("Contents", [])
    print(f"\nResults in {prefix}/results/ (on the local endpoint's S3):")
    for item in listed:
        body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read().decode()
        print(f"\n  s3://{bucket}/{item['Key']}")
        for line in body.splitlines()[:8]:
            print(f"    {line}")


if __name__ == "__main__":
    sys.exit(main())
