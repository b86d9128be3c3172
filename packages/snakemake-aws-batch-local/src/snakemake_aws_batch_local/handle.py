"""``LocalBatch``: a local AWS Batch endpoint in a child process, for tests and demos."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any

from .knobs import KnobBoard
from .resources import Resources
from .runtime import DEFAULT_POLL_SECONDS, checked_poll_seconds

START_TIMEOUT_SECONDS = 120.0
STOP_TIMEOUT_SECONDS = 30.0


class LocalBatch:
    """A local AWS Batch on 127.0.0.1 (moto's server with jobs that really run).

    The server runs in its own process, so moto's global state and the changes the local mode
    makes to moto never touch the calling process; it ends with ``stop()``, or when the calling
    process exits. ``poll_seconds`` is how often a running job's command is checked for its
    exit, termination and timeout.
    """

    def __init__(
        self,
        port: int = 0,
        region: str = "us-east-1",
        *,
        engine: str = "auto",
        poll_seconds: float = DEFAULT_POLL_SECONDS,
        **knobs: Any,
    ) -> None:
        KnobBoard().update(knobs)  # reject unknown knobs and bad values early
        self.port = port
        self.region = region
        self.engine = engine
        self.poll_seconds = checked_poll_seconds(poll_seconds)
        self._knobs = knobs
        self._process: subprocess.Popen[bytes] | None = None
        self._resources: Resources | None = None

    # -- attributes ----------------------------------------------------------------------
    @property
    def resources(self) -> Resources:
        if self._resources is None:
            raise RuntimeError("LocalBatch is not started")
        return self._resources

    endpoint_url = property(lambda self: self.resources.endpoint_url)
    job_queue = property(lambda self: self.resources.job_queue)
    fargate_job_queue = property(lambda self: self.resources.fargate_job_queue)
    job_role_arn = property(lambda self: self.resources.job_role_arn)
    execution_role_arn = property(lambda self: self.resources.execution_role_arn)
    bucket = property(lambda self: self.resources.bucket)
    storage_prefix = property(lambda self: self.resources.storage_prefix)
    control_url = property(lambda self: self.resources.control_url)

    def env(self) -> dict[str, str]:
        """Environment variables pointing AWS clients, Snakemake and the plugin here."""
        return self.resources.env()

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> LocalBatch:
        if self._process is not None:
            return self
        with tempfile.TemporaryDirectory(prefix="snakemake-local-batch-") as scratch:
            ready = Path(scratch) / "ready.json"
            command = [
                sys.executable, "-m", "snakemake_aws_batch_local",
                "--port", str(self.port), "--region", self.region, "--engine", self.engine,
                "--poll-seconds", repr(self.poll_seconds),
                "--ready-file", str(ready), "--exit-with-stdin",
            ]  # fmt: skip
            environment = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
            self._process = subprocess.Popen(command, stdin=subprocess.PIPE, env=environment)
            deadline = time.monotonic() + START_TIMEOUT_SECONDS
            while not ready.exists():
                if self._process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("the local AWS Batch server did not start")
                time.sleep(0.05)
            self._resources = Resources.from_json(ready.read_text())
        self.port = int(urllib.parse.urlsplit(self.endpoint_url).port or 0)
        if self._knobs:
            self.set_knobs(**self._knobs)
        return self

    def stop(self) -> None:
        """Stop the server: running jobs are killed, nothing is left behind."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.stdin is not None:
            process.stdin.close()
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def __enter__(self) -> LocalBatch:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # -- control -------------------------------------------------------------------------
    def _local(self, method: str, route: str, document: Any = None) -> Any:
        data = None if document is None else json.dumps(document).encode()
        request = urllib.request.Request(
            f"{self.control_url}/_local/{route}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as answer:
            return json.loads(answer.read())

    def set_knobs(self, **knobs: Any) -> dict[str, Any]:
        """Change knobs now (see ``KNOB_NAMES``); returns every knob's value."""
        KnobBoard().update(knobs)
        result: dict[str, Any] = self._local("POST", "knobs", knobs)
        return result

    def reset_knobs(self, **knobs: Any) -> dict[str, Any]:
        """Put every knob back to its default (ending an outage), except those given here."""
        return self.set_knobs(**{**KnobBoard().as_json(), **knobs})

    def knobs(self) -> dict[str, Any]:
        result: dict[str, Any] = self._local("GET", "knobs")
        return result

    def calls(self) -> dict[str, int]:
        """How many requests of each API operation the server received."""
        result: dict[str, int] = self._local("GET", "calls")
        return result

    def requests(self, operation: str) -> list[Any]:
        """The JSON bodies received for ``operation`` (e.g. ``SubmitJob``)."""
        query = urllib.parse.urlencode({"op": operation})
        result: list[Any] = self._local("GET", f"requests?{query}")
        return result

    def health(self) -> dict[str, Any]:
        """The engine, and how many jobs have not ended, attempts run and threads exist."""
        result: dict[str, Any] = self._local("GET", "health")
        return result

    def reset_calls(self) -> None:
        self._local("POST", "reset-calls", {})
