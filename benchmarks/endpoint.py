"""The AWS endpoint the benchmark talks to, in a process of its own.

The endpoint runs in a separate process so that its CPU time and memory never show
up in the measurements of the Snakemake process. Preferred is the project's local
AWS Batch endpoint (its command line, ``python -m snakemake_aws_batch_local``), which
counts calls and has knobs for latency, rate limits and held jobs; it checks running
commands every ``BENCH_ENDPOINT_POLL_SECONDS`` (default 1 s, its ``--poll-seconds``). When
that package is not installed, moto's plain server is used instead: jobs then succeed at
once, there are no knobs, and API calls are only counted on the client side.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LOCAL_MODULE = "snakemake_aws_batch_local"
POLL_VARIABLE = "BENCH_ENDPOINT_POLL_SECONDS"
DEFAULT_POLL_SECONDS = "1"
ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 120.0

# Moto fallback: the resources the benchmark creates itself.
MOTO_REGION = "us-east-1"
MOTO_QUEUE = "bench-queue"
MOTO_BUCKET = "bench"


@dataclass
class EndpointInfo:
    """Everything a Snakemake process needs to reach the endpoint (JSON-serialisable)."""

    kind: str  # "local" or "moto"
    endpoint_url: str
    region: str
    job_queue: str
    bucket: str
    env: dict[str, str] = field(default_factory=dict)

    @property
    def has_control(self) -> bool:
        """Whether the endpoint has ``/_local`` (knobs and server-side call counts)."""
        return self.kind == "local"

    def to_json(self) -> str:
        return json.dumps(self.__dict__)

    @classmethod
    def from_json(cls, text: str) -> EndpointInfo:
        return cls(**json.loads(text))


def local_endpoint_available() -> bool:
    try:
        return importlib.util.find_spec(LOCAL_MODULE) is not None
    except ModuleNotFoundError:
        return False


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _http(url: str, *, data: Any = None, method: str = "GET", timeout: float = 30) -> Any:
    body = None if data is None else json.dumps(data).encode()
    request = urllib.request.Request(url, data=body, method=method)
    if body is not None:
        request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=timeout) as answer:
        text = answer.read()
    return json.loads(text) if text else None


class Control:
    """Knobs and server-side call counts of a local endpoint (no-ops on moto)."""

    def __init__(self, info: EndpointInfo) -> None:
        self.info = info

    def calls(self) -> dict[str, int]:
        if not self.info.has_control:
            return {}
        return {str(k): int(v) for k, v in _http(f"{self.info.endpoint_url}/_local/calls").items()}

    def requests(self, operation: str) -> list[dict[str, Any]]:
        """The bodies of the ``operation`` requests since the last reset (refused ones too)."""
        if not self.info.has_control:
            return []
        query = urllib.parse.urlencode({"op": operation})
        return [dict(r) for r in _http(f"{self.info.endpoint_url}/_local/requests?{query}")]

    def reset_calls(self) -> None:
        if self.info.has_control:
            _http(f"{self.info.endpoint_url}/_local/reset-calls", data={}, method="POST")

    def set_knobs(self, **knobs: Any) -> None:
        if self.info.has_control:
            _http(f"{self.info.endpoint_url}/_local/knobs", data=knobs, method="POST")


class EndpointProcess:
    """Starts the endpoint in a child process; a context manager that stops it."""

    def __init__(self, workdir: Path, *, prefer_local: bool = True) -> None:
        self.workdir = workdir
        self.prefer_local = prefer_local
        self.process: subprocess.Popen[bytes] | None = None
        self.info: EndpointInfo | None = None
        self.log_path = workdir / "endpoint.log"

    def __enter__(self) -> EndpointInfo:
        self.workdir.mkdir(parents=True, exist_ok=True)
        if self.prefer_local and local_endpoint_available():
            self.info = self._start_local()
        else:
            self.info = self._start_moto()
        return self.info

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

    def _spawn(self, command: list[str]) -> subprocess.Popen[bytes]:
        log = self.log_path.open("ab")
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        self.process = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=ROOT,
            start_new_session=True,
        )
        log.close()
        return self.process

    def _check_alive(self) -> None:
        if self.process is not None and self.process.poll() is not None:
            tail = self.log_path.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"the endpoint process exited early:\n{tail}")

    # -- the project's local AWS Batch endpoint -------------------------------------------
    def _start_local(self) -> EndpointInfo:
        env_file = self.workdir / "endpoint.env"
        env_file.unlink(missing_ok=True)
        # Jobs never run their command here (instant_jobs): no container engine needed.
        poll_seconds = os.environ.get(POLL_VARIABLE, DEFAULT_POLL_SECONDS)
        self._spawn(
            [sys.executable, "-m", LOCAL_MODULE, "--engine", "process", "--port", "0",
             "--env-file", str(env_file), "--poll-seconds", poll_seconds]
        )  # fmt: skip
        deadline = time.monotonic() + START_TIMEOUT
        while not env_file.exists():  # written at once, when the endpoint is ready
            self._check_alive()
            if time.monotonic() > deadline:
                raise RuntimeError("the local endpoint did not start in time")
            time.sleep(0.1)
        env = _parse_exports(env_file.read_text())
        prefix = env.get("SNAKEMAKE_AWS_BATCH_LOCAL_STORAGE_PREFIX", "s3://snakemake-local/")
        return EndpointInfo(
            kind="local",
            endpoint_url=env["AWS_ENDPOINT_URL"],
            region=env["AWS_DEFAULT_REGION"],
            job_queue=env["SNAKEMAKE_AWS_BATCH_JOB_QUEUE"],
            bucket=prefix.removeprefix("s3://").split("/", 1)[0],
            env=env,
        )

    # -- moto's plain server --------------------------------------------------------------
    def _start_moto(self) -> EndpointInfo:
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        self._spawn([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)])
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            self._check_alive()
            try:
                _http(f"{url}/moto-api/data.json", timeout=2)
                break
            except (urllib.error.URLError, ConnectionError, OSError):
                if time.monotonic() > deadline:
                    raise RuntimeError("moto's server did not start in time") from None
                time.sleep(0.1)
        _http(f"{url}/moto-api/config", data={"batch": {"use_docker": False}}, method="POST")
        env = {
            "AWS_ENDPOINT_URL": url,
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_DEFAULT_REGION": MOTO_REGION,
            "SNAKEMAKE_AWS_BATCH_REGION": MOTO_REGION,
            "SNAKEMAKE_AWS_BATCH_JOB_QUEUE": MOTO_QUEUE,
        }
        _create_moto_resources(url)
        return EndpointInfo(
            kind="moto",
            endpoint_url=url,
            region=MOTO_REGION,
            job_queue=MOTO_QUEUE,
            bucket=MOTO_BUCKET,
            env=env,
        )


def _parse_exports(text: str) -> dict[str, str]:
    """``export K=V`` lines (values quoted for the shell) to a dictionary."""
    env = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        parts = shlex.split(value)
        env[key.strip()] = parts[0] if parts else ""
    return env


def _create_moto_resources(url: str) -> None:
    import boto3

    def client(service: str) -> Any:
        return boto3.client(
            service,  # type: ignore[call-overload]
            endpoint_url=url,
            region_name=MOTO_REGION,
            aws_access_key_id="bench",
            aws_secret_access_key="bench",
        )

    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "batch.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    role = client("iam").create_role(
        RoleName="bench-batch-service", AssumeRolePolicyDocument=json.dumps(trust)
    )["Role"]["Arn"]
    batch = client("batch")
    batch.create_compute_environment(
        computeEnvironmentName="bench-ce", type="UNMANAGED", state="ENABLED", serviceRole=role
    )
    batch.create_job_queue(
        jobQueueName=MOTO_QUEUE,
        state="ENABLED",
        priority=1,
        computeEnvironmentOrder=[{"order": 1, "computeEnvironment": "bench-ce"}],
    )
    client("s3").create_bucket(Bucket=MOTO_BUCKET)
