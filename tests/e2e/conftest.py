"""Helpers to run the real ``snakemake`` command line on the local AWS Batch endpoint."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from snakemake_aws_batch_local import LocalBatch
from snakemake_aws_batch_local.forkserver import ForkServer

from ..conftest import client as aws_client

# A shell's background job starts with SIGINT ignored, and its children inherit that:
# the Ctrl-C tests would then interrupt nothing. A handler here is reset to the default in
# every command these tests start.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

# Planted on the submitting side: none of these may reach a job, a definition or a log.
PLANTED_HOST_SECRET = "PLANTED-HOST-SECRET-7f3a"
PLANTED_STORAGE_SECRET = "PLANTED-STORAGE-SECRET-91c2"


def calls(local: LocalBatch) -> dict[str, int]:
    return local.calls()


def sent(local: LocalBatch, operation: str) -> list[dict[str, Any]]:
    return local.requests(operation)


def batch_client(local: LocalBatch) -> Any:
    return aws_client(local, "batch")


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

    def assert_refused(self, local: LocalBatch, expected: list[str]) -> None:
        """The run stopped at start, said each of ``expected``, and submitted nothing."""
        assert self.returncode != 0
        for text in expected:
            assert text in self.output, self.output[-3000:]
        assert "Traceback" not in self.output
        assert sent(local, "SubmitJob") == []


@dataclass
class Workflow:
    """A Snakefile in a fresh directory, run with ``snakemake --executor aws-batch``."""

    local: LocalBatch
    path: Path
    prefix: str
    python: str = sys.executable  # what runs ``python -m snakemake``
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
            self.python, "-m", "snakemake",
            "--executor", "aws-batch",
            "--jobs", "8",
            "--default-storage-provider", "s3",
            "--default-storage-prefix", self.prefix,
            "--seconds-between-status-checks", "1",
            "--latency-wait", "5",
            "--container-image", "snakemake/snakemake:local",
            *extra,
        ]  # fmt: skip

    def options(self) -> dict[str, Any]:
        """Where and how the command runs: output and errors together, as text."""
        return {
            "cwd": self.path,
            "env": self.environment(),
            "stdout": subprocess.PIPE,
            "stderr": subprocess.STDOUT,
            "text": True,
        }

    def run(self, *extra: str, timeout: float = 600) -> Run:
        done = subprocess.run(self.command(*extra), **self.options(), timeout=timeout, check=False)
        return Run(done.returncode, done.stdout)

    def start(self, *extra: str) -> subprocess.Popen[str]:
        return subprocess.Popen(self.command(*extra), **self.options(), start_new_session=True)

    def read(self, key: str) -> str:
        bucket, _, base = self.prefix.removeprefix("s3://").partition("/")
        body = aws_client(self.local, "s3").get_object(Bucket=bucket, Key=f"{base}/{key}")["Body"]
        return str(body.read().decode())


@pytest.fixture(scope="session")
def snakemake_python() -> Iterator[str]:
    """The ``python`` that runs these tests' ``python -m snakemake``: the local endpoint's
    fork server (its README says what it passes on: arguments, environment, working
    directory, streams, signals, exit status), which has imported Snakemake and its plugins
    once. Each run is still Snakemake's own command line, parsed and run from its
    ``__main__``, in a process of its own; it no longer spends about a CPU-second on
    imports, which a hundred runs on two cores feel."""
    server = ForkServer(modules=("snakemake",))
    yield os.path.join(server.bin, "python")
    server.close()


@pytest.fixture
def workflow(
    local: LocalBatch, tmp_path: Path, request: pytest.FixtureRequest, snakemake_python: str
) -> Any:
    def make(snakefile: str) -> Workflow:
        (tmp_path / "Snakefile").write_text(textwrap.dedent(snakefile))
        # The test's name, short, and a digest of its id: each parametrization its own.
        name = request.node.name.replace("[", "-").replace("]", "").replace("_", "-").lower()
        digest = hashlib.sha256(request.node.nodeid.encode()).hexdigest()[:8]
        name = f"{name[:31]}-{digest}"
        return Workflow(local, tmp_path, f"{local.storage_prefix}/{name}", snakemake_python)

    return make


def interrupt(process: subprocess.Popen[str], sig: signal.Signals) -> None:
    os.killpg(process.pid, sig) if sig is signal.SIGINT else process.send_signal(sig)


def cancel_held(
    flow: Workflow,
    process: subprocess.Popen[str],
    submitted: Callable[[], bool],
    sig: signal.Signals = signal.SIGINT,
    *,
    settle_s: float = 0.0,
) -> tuple[str, float]:
    """Stop a run whose jobs are held once ``submitted()`` (or after 300 s: a bound only,
    on a loaded machine the DAG is slow), ``settle_s`` later; its output, and the seconds
    it took to exit after the signal. The run is killed if it outlives 60 s, and the
    endpoint releases its jobs."""
    try:
        deadline = time.monotonic() + 300
        while not submitted() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(settle_s)
        interrupt(process, sig)
        signalled = time.monotonic()
        output, _ = process.communicate(timeout=60)
        return output, time.monotonic() - signalled
    finally:
        if process.poll() is None:
            process.kill()
        flow.local.set_knobs(hold_jobs=False)
