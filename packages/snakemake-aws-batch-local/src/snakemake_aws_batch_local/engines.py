"""Where a job's command runs: a local process (no container engine) or a Docker engine."""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Protocol

from .container import Options, link_mounts
from .forkserver import ForkServer
from .wheelhouse import pip_environment

START_FAILED_REASON = "Task failed to start"
# Every container the Docker engine starts carries these labels (job id, attempt number).
JOB_LABEL = "snakemake-aws-batch-local.job-id"
ATTEMPT_LABEL = "snakemake-aws-batch-local.attempt"


class LaunchError(Exception):
    """The container could not start: the message becomes the attempt's ``container.reason``,
    ``status_reason`` its ``statusReason`` (AWS's for the failure)."""

    def __init__(self, message: str, status_reason: str = START_FAILED_REASON) -> None:
        super().__init__(message)
        self.status_reason = status_reason


@dataclass
class Launch:
    """One attempt's container: its command, environment, image, resources and options.

    The process engine honours the options' mount points (as links in the working
    directory) and nothing else of them, nor the image, vCPUs or memory; the Docker engine
    applies them all.
    """

    command: list[str]
    environment: dict[str, str]
    image: str | None
    name: str
    on_output: Callable[[str], None]
    options: Options = field(default_factory=Options)
    vcpus: float | None = None
    memory_mib: int | None = None
    labels: dict[str, str] = field(default_factory=dict)


class Execution(Protocol):
    def poll(self) -> int | None:
        """The exit code once the container has exited, else None."""

    def stop(self, grace: float) -> None:
        """Ask the container to stop (SIGTERM), kill it after ``grace`` seconds."""

    def exit_reason(self) -> str | None:
        """Once exited: the container's ``reason`` (an out-of-memory kill), else None."""

    def close(self) -> None:
        """Kill what is left, collect the last output and free the resources."""


class Engine(Protocol):
    name: str

    def describe(self) -> str:
        """The engine, for people: what runs the jobs, and where."""

    def launch(self, launch: Launch) -> Execution: ...


def exit_code_of(returncode: int) -> int:
    """A shell-style exit code: a process killed by signal N exits 128 + N."""
    return 128 - returncode if returncode < 0 else returncode


def _pump(stream: IO[bytes], on_output: Callable[[str], None]) -> None:
    for raw in iter(stream.readline, b""):
        on_output(raw.decode("utf-8", errors="replace").rstrip("\r\n"))
    stream.close()


# Jobs run at a lower CPU priority than the endpoint: on a small machine, many jobs
# starting at once must not keep it from answering (their credentials requests, above
# all, which botocore gives 2 seconds). Set on the job's process group as soon as it
# starts; what it starts later inherits it.
JOB_NICENESS = 10


class ProcessExecution:
    """A command run as a process group in a fresh working directory, empty but for links
    to its mount points (see ``container``)."""

    def __init__(self, launch: Launch, path: str, pip: dict[str, str]) -> None:
        self._workdir = tempfile.mkdtemp(prefix=f"{launch.name[:40]}-")
        link_mounts(self._workdir, launch.options.mounts)
        environment = {
            "PATH": path,
            "HOME": self._workdir,
            # The "image" here is the host's Python environment, which already holds
            # Snakemake's dependencies: when a job deploys a storage plugin with pip,
            # install the plugin alone instead of downloading (and shadowing) them again,
            # from the engine's wheels of the plugins installed here (see ``wheelhouse``).
            "PIP_NO_DEPS": "1",
            **pip,
            **launch.environment,
        }
        try:
            self._process = subprocess.Popen(
                launch.command,
                cwd=self._workdir,
                env=environment,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as err:
            shutil.rmtree(self._workdir, ignore_errors=True)
            raise LaunchError(
                f"CannotStartContainerError: failed to start the command {launch.command[:1]}: "
                f"{err.strerror or err}"
            ) from err
        with contextlib.suppress(OSError):  # gone already, or not allowed: it runs as it is
            os.setpriority(os.PRIO_PGRP, self._process.pid, JOB_NICENESS)
        assert self._process.stdout is not None
        self._reader = threading.Thread(
            target=_pump, args=(self._process.stdout, launch.on_output), daemon=True
        )
        self._reader.start()

    def _signal(self, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._process.pid, sig)

    def poll(self) -> int | None:
        code = self._process.poll()
        return None if code is None else exit_code_of(code)

    def stop(self, grace: float) -> None:
        self._signal(signal.SIGTERM)
        deadline = time.monotonic() + grace
        while self._process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        self._signal(signal.SIGKILL)
        self._process.wait()

    def exit_reason(self) -> str | None:
        return None

    def close(self) -> None:
        # A container ends with its main process: nothing it started outlives it.
        self._signal(signal.SIGKILL)
        self._process.wait()
        self._reader.join(timeout=5)
        shutil.rmtree(self._workdir, ignore_errors=True)


class ProcessEngine:
    """Runs each command as a local process; the image is ignored.

    The "image" is the host's Python environment: its interpreter first on ``PATH``,
    behind the fork server's ``python`` and ``pip`` (see ``forkserver``), and its storage
    plugins as wheels for the jobs' pip (see ``wheelhouse``).
    """

    name = "process"

    def __init__(self) -> None:
        host = f"{os.path.dirname(sys.executable)}:/usr/local/bin:/usr/bin:/bin"
        self._path = f"{ForkServer(JOB_NICENESS).bin}:{host}"
        wheels = tempfile.mkdtemp(prefix="snakemake-local-wheels-")
        atexit.register(shutil.rmtree, wheels, ignore_errors=True)
        self._pip = pip_environment(Path(wheels))

    def describe(self) -> str:
        return "process (each job a local process; images are not used)"

    def launch(self, launch: Launch) -> Execution:
        return ProcessExecution(launch, self._path, self._pip)
