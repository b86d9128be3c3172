"""Podman serving Docker's API on a unix socket: the Docker engine where no Docker daemon runs.

``PodmanService(socket).start()`` runs ``podman system service`` in the background until
``stop()``; point the endpoint at it with ``DOCKER_HOST=service.docker_host``. Podman's
settings come from ``config`` (``CONTAINERS_CONF``), e.g. the repository's
``podman/containers.conf``: host networking, runc and the ulimits a small VM grants.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from types import TracebackType

import docker
import docker.errors

START_TIMEOUT_SECONDS = 30.0


def podman_installed() -> bool:
    return shutil.which("podman") is not None


class PodmanService:
    """One ``podman system service`` on ``socket``; its output goes to ``socket``'s ``.log``."""

    def __init__(self, socket: Path, *, config: Path | None = None) -> None:
        self.socket = Path(socket)
        self.config = config
        self.log = self.socket.with_suffix(".log")
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def docker_host(self) -> str:
        return f"unix://{self.socket}"

    def start(self) -> PodmanService:
        """Start the service and wait until it answers; ``RuntimeError`` if it does not."""
        if not podman_installed():
            raise RuntimeError("podman is not installed")
        self.socket.parent.mkdir(parents=True, exist_ok=True)
        self.socket.unlink(missing_ok=True)
        environment = dict(os.environ)
        if self.config is not None:
            environment["CONTAINERS_CONF"] = str(self.config)
        with self.log.open("wb") as log:
            self._process = subprocess.Popen(
                ["podman", "system", "service", "--time=0", self.docker_host],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=environment,
                # conmon leaves files (an `oom` marker) in its working directory.
                cwd=self.socket.parent,
                start_new_session=True,
            )
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not self.answers():
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"podman's service did not answer: see {self.log}")
            time.sleep(0.1)
        return self

    def answers(self) -> bool:
        try:
            client = docker.DockerClient(base_url=self.docker_host, timeout=3)
        except Exception:
            return False
        try:
            return bool(client.ping())
        except Exception:
            return False
        finally:
            client.close()

    def has_image(self, image: str) -> bool:
        client = docker.DockerClient(base_url=self.docker_host, timeout=10)
        try:
            client.images.get(image)
            return True
        except docker.errors.ImageNotFound:
            return False
        finally:
            client.close()

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.socket.unlink(missing_ok=True)

    def __enter__(self) -> PodmanService:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
