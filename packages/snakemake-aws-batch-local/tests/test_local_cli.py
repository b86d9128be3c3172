"""The command line: serve, print the environment, stop cleanly on SIGTERM or SIGINT."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import boto3
import pytest

from local_helpers import alive

PLANTED = "PLANTED-HOST-SECRET"


def start_cli(tmp_path: Path, *args: str) -> tuple[subprocess.Popen[str], dict[str, str]]:
    environment = {**os.environ, "AWS_SECRET_ACCESS_KEY": PLANTED, "HOST_ONLY_VARIABLE": "x"}
    process = subprocess.Popen(
        [sys.executable, "-m", "snakemake_aws_batch_local", *args],
        stdout=subprocess.PIPE,
        text=True,
        env=environment,
        cwd=tmp_path,
    )
    assert process.stdout is not None
    exported: dict[str, str] = {}
    for line in process.stdout:
        if line.startswith("#"):
            break
        key, _, value = line.removeprefix("export ").strip().partition("=")
        exported[key] = value
    return process, exported


def aws(exported: dict[str, str], service: str) -> Any:
    return boto3.client(
        service,  # type: ignore[call-overload]
        endpoint_url=exported["AWS_ENDPOINT_URL"],
        region_name=exported["AWS_DEFAULT_REGION"],
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def wait_for_output(exported: dict[str, str], job_id: str) -> list[str]:
    batch, logs = aws(exported, "batch"), aws(exported, "logs")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        job = batch.describe_jobs(jobs=[job_id])["jobs"][0]
        stream = job["container"].get("logStreamName")
        if stream:
            events = logs.get_log_events(
                logGroupName="/aws/batch/job", logStreamName=stream, startFromHead=True
            )["events"]
            if any(event["message"] == "ready" for event in events):
                return [str(event["message"]) for event in events]
        time.sleep(0.1)
    raise AssertionError("the job printed nothing")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_cli_serves_and_stops_cleanly(tmp_path: Path, sig: signal.Signals) -> None:
    env_file = tmp_path / "local.env"
    process, exported = start_cli(
        tmp_path, "--env-file", str(env_file), "--status-pace", "0.05", "--engine", "process"
    )
    try:
        assert exported["SNAKEMAKE_AWS_BATCH_JOB_QUEUE"] == "snakemake-local-queue"
        assert exported["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")
        assert env_file.read_text().count("export ") == len(exported)
        batch = aws(exported, "batch")
        batch.register_job_definition(
            jobDefinitionName="cli",
            type="container",
            containerProperties={
                "image": "ignored",
                "command": ["/bin/sh", "-c", "env; echo $$; echo ready; sleep 60"],
                "resourceRequirements": [
                    {"type": "VCPU", "value": "1"},
                    {"type": "MEMORY", "value": "512"},
                ],
            },
        )
        job_id = batch.submit_job(
            jobName="cli", jobQueue=exported["SNAKEMAKE_AWS_BATCH_JOB_QUEUE"], jobDefinition="cli"
        )["jobId"]
        lines = wait_for_output(exported, job_id)
        assert all(PLANTED not in line for line in lines)
        assert not any(line.startswith("HOST_ONLY_VARIABLE=") for line in lines)
        shell = int(lines[lines.index("ready") - 1])
        assert alive(shell)
        process.send_signal(sig)
        assert process.wait(timeout=30) == 0
        assert not alive(shell)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--throttle-rate", "3"], "throttle_rate"),
        (["--poll-seconds", "0"], "poll_seconds must be a positive number"),
        (["--poll-seconds", "-0.5"], "poll_seconds must be a positive number"),
        (["--poll-seconds", "soon"], "poll_seconds must be a positive number"),
    ],
)
def test_cli_rejects_bad_values(args: list[str], message: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "snakemake_aws_batch_local", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert message in done.stderr


def local_cli(*args: str, **options: Any) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "snakemake_aws_batch_local", *args], text=True, **options
    )


def test_env_file_appears_whole_once_the_endpoint_answers(tmp_path: Path) -> None:
    env_file = tmp_path / "local.env"
    # Started before the endpoint, as in the quick start: it waits for the file.
    waiter = local_cli("wait", "--env-file", str(env_file), "--timeout", "120")
    process = local_cli(
        "--env-file", str(env_file), "--engine", "process", stdout=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 120
        while not env_file.exists():
            assert process.poll() is None, "the endpoint exited"
            assert time.monotonic() < deadline, "no env file"
            time.sleep(0.001)
        # At once: the file is whole, a shell can source it, and the endpoint answers.
        sourced = subprocess.run(
            ["sh", "-c", '. "$1" && printf "%s %s" "$AWS_ENDPOINT_URL" "$AWS_DEFAULT_REGION"',
             "sh", str(env_file)],
            capture_output=True, text=True, check=True, timeout=30,
        )  # fmt: skip
        endpoint_url, region = sourced.stdout.split()
        exported = {"AWS_ENDPOINT_URL": endpoint_url, "AWS_DEFAULT_REGION": region}
        queues = aws(exported, "batch").describe_job_queues()["jobQueues"]
        assert "snakemake-local-queue" in {q["jobQueueName"] for q in queues}
        assert env_file.read_text().count("export ") == 11
        assert waiter.wait(timeout=30) == 0
        assert [p.name for p in tmp_path.iterdir()] == ["local.env"]  # no partial file left
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        assert not env_file.exists()  # an endpoint gone leaves no env file behind
    finally:
        for child in (process, waiter):
            if child.poll() is None:
                child.kill()
                child.wait()


def test_wait_gives_up_on_a_file_whose_endpoint_is_gone(tmp_path: Path) -> None:
    with socket.socket() as closed:  # a port nobody listens on once the socket is closed
        closed.bind(("127.0.0.1", 0))
        gone = f"http://127.0.0.1:{closed.getsockname()[1]}"
    env_file = tmp_path / "local.env"
    env_file.write_text(
        f"export AWS_ENDPOINT_URL={gone}\nexport SNAKEMAKE_AWS_BATCH_LOCAL_CONTROL_URL={gone}\n"
    )
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "snakemake_aws_batch_local", "wait", "--env-file", str(env_file),
         "--timeout", "0.5"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 1
    assert "no endpoint answered" in done.stderr
    assert time.monotonic() - started < 30
    missing = subprocess.run(
        [sys.executable, "-m", "snakemake_aws_batch_local", "wait"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert missing.returncode == 2
    assert "--env-file" in missing.stderr
    endless = subprocess.run(
        [sys.executable, "-m", "snakemake_aws_batch_local", "wait", "--env-file", str(env_file),
         "--timeout", "nan"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert endless.returncode == 2
    assert "a number of seconds" in endless.stderr
