"""Workflows through the real ``snakemake`` command line, every job in a container of
Snakemake's default image: the sources travel through the default storage, since the
workflow's folder is not in the container."""

from __future__ import annotations

import shutil
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from ...conftest import client as aws_client
from ..conftest import interrupt, jobs_named
from .conftest import IMAGE, REPOSITORY, job_containers

pytestmark = pytest.mark.timeout(600)
IN_THE_IMAGE = ("--container-image", IMAGE)


def test_the_demo_workflow_runs_in_containers(workflow: Any) -> None:
    flow = workflow("")
    shutil.copy(REPOSITORY / "examples" / "demo" / "Snakefile", flow.path / "Snakefile")
    secret = aws_client(flow.local, "secretsmanager").create_secret(
        Name=f"containers/token-{time.time_ns()}", SecretString="a-token-of-17-char"
    )["ARN"]
    result = flow.run(*IN_THE_IMAGE, "--config", f"token_secret={secret}")
    assert result.returncode == 0, result.output[-4000:]
    summary = flow.read("results/summary.tsv").splitlines()
    assert summary[0] == "sample\tn\tmean\tstdev"
    assert sorted(line.split("\t")[0] for line in summary[1:]) == [
        "alpha", "beta", "delta", "gamma",
    ]  # fmt: skip
    assert all(line.split("\t")[1] == "20000" for line in summary[1:])
    assert flow.read("results/flaky.txt").strip() == "succeeded on attempt 2"
    assert flow.read("results/token-check.txt").strip() == "API_TOKEN received, 18 characters"
    jobs = jobs_named(flow.local, "snakejob-")
    assert len(jobs) == 11
    assert {job["container"]["image"] for job in jobs} == {IMAGE}


def test_a_job_sees_its_container_not_this_machine(workflow: Any, tmp_path: Path) -> None:
    flow = workflow(
        f"""
        rule where:
            output: "where.txt"
            shell:
                "(python -c 'import sys; print(sys.executable)'; "
                "test -e /run/.containerenv && echo in-a-container; "
                "test -e {tmp_path} || echo no-workflow-folder; "
                "cat /etc/os-release | grep ^ID=) > {{output}}"
        """
    )
    result = flow.run(*IN_THE_IMAGE)
    assert result.returncode == 0, result.output[-4000:]
    assert flow.read("where.txt").splitlines() == [
        "/opt/snakemake/bin/python", "in-a-container", "no-workflow-folder", "ID=debian",
    ]  # fmt: skip


def test_a_failing_job_in_a_container_reports_its_exit_code_and_log(workflow: Any) -> None:
    flow = workflow(
        """
        rule broken:
            output: "never.txt"
            shell: "echo 'line-before-failure-17'; exit 3"
        """
    )
    result = flow.run(*IN_THE_IMAGE)
    assert result.returncode != 0
    assert "Essential container in task exited" in result.output
    assert "Exit code: 1." in result.output  # the job's Snakemake, for its command's 3
    assert "line-before-failure-17" in result.output  # the log tail, from CloudWatch Logs
    assert "non-zero exit status 3" in result.output
    assert "Traceback" not in result.output


def test_a_missing_image_fails_with_the_pull_error_and_the_hint(workflow: Any) -> None:
    flow = workflow(
        """
        rule elsewhere:
            output: "never.txt"
            resources: aws_batch_container_image="localhost/snakemake-aws-batch/missing:1"
            shell: "touch {output}"
        """
    )
    result = flow.run(*IN_THE_IMAGE)
    assert result.returncode != 0
    assert (
        "CannotPullContainerError: failed to pull image localhost/snakemake-aws-batch/missing:1"
        in result.output
    )
    assert "The image could not be pulled: check --container-image" in result.output
    assert "Traceback" not in result.output


def test_ctrl_c_leaves_no_container_running(workflow: Any, engine: Any) -> None:
    flow = workflow(
        """
        rule all:
            input: expand("slow/{i}.txt", i=range(3))

        rule slow:
            output: "slow/{i}.txt"
            shell: "sleep 600; touch {output}"
        """
    )
    process = flow.start(*IN_THE_IMAGE)
    try:
        deadline = time.monotonic() + 180
        while len(job_containers(engine, running_only=True)) < 3:
            assert time.monotonic() < deadline, "the three jobs never ran"
            assert process.poll() is None, process.communicate()[0][-3000:]
            time.sleep(0.5)
        interrupt(process, signal.SIGINT)
        output, _ = process.communicate(timeout=90)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode != 0
    ids = [job["jobId"] for job in jobs_named(flow.local, "snakejob-slow-")]
    assert len(ids) == 3, output[-3000:]
    deadline = time.monotonic() + 30
    while job_containers(engine, *ids) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert job_containers(engine, *ids) == []
    jobs = aws_client(flow.local, "batch").describe_jobs(jobs=ids)["jobs"]
    assert {job["status"] for job in jobs} == {"FAILED"}
