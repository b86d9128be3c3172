"""Run jobs in containers when a Docker-compatible engine is reachable."""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any

import docker
from docker.types import Mount as DockerMount
from docker.types import Ulimit as DockerUlimit

from .container import Options
from .engines import Launch, LaunchError

MIB = 1024 * 1024


def run_options(options: Options) -> dict[str, Any]:
    """``containers.run`` keywords for the container options.

    Host paths are binds (``volumes``), which the daemon creates when missing, as on an ECS
    instance; a volume without a host path is an anonymous volume, removed with the container.
    """
    keywords: dict[str, Any] = {}
    binds = [
        f"{m.source}:{m.container_path}:{'ro' if m.read_only else 'rw'}"
        for m in options.mounts
        if m.source is not None
    ]
    if binds:
        keywords["volumes"] = binds
    anonymous = [
        DockerMount(m.container_path, None, type="volume", read_only=m.read_only)
        for m in options.mounts
        if m.source is None
    ]
    if anonymous:
        keywords["mounts"] = anonymous
    if options.shared_memory_mib:
        keywords["shm_size"] = options.shared_memory_mib * MIB
    if options.ulimits:
        keywords["ulimits"] = [
            DockerUlimit(name=u.name, soft=u.soft, hard=u.hard) for u in options.ulimits
        ]
    if options.privileged:
        keywords["privileged"] = True
    return keywords


def docker_reachable() -> bool:
    try:
        client = docker.from_env(timeout=3)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:
        return False


class DockerExecution:
    """One container on the host network, so it reaches the endpoint on 127.0.0.1."""

    def __init__(self, client: Any, launch: Launch) -> None:
        try:
            self._container = client.containers.run(
                launch.image or "public.ecr.aws/docker/library/alpine:latest",
                launch.command,
                environment=launch.environment,
                network_mode="host",
                detach=True,
                name=launch.name,
                **run_options(launch.options),
            )
        except Exception as err:
            raise LaunchError(f"CannotStartContainerError: {err}") from err
        self._reader = threading.Thread(target=self._pump, args=(launch,), daemon=True)
        self._reader.start()

    def _pump(self, launch: Launch) -> None:
        with contextlib.suppress(Exception):
            pending = b""
            for chunk in self._container.logs(stream=True, follow=True):
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    launch.on_output(line.decode("utf-8", errors="replace").rstrip("\r"))
            if pending:
                launch.on_output(pending.decode("utf-8", errors="replace"))

    def poll(self) -> int | None:
        self._container.reload()
        if self._container.status in ("created", "running", "restarting"):
            return None
        return int(self._container.attrs["State"]["ExitCode"])

    def stop(self, grace: float) -> None:
        with contextlib.suppress(Exception):
            self._container.stop(timeout=max(1, int(grace)))

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._container.kill()
        deadline = time.monotonic() + 5
        while self._reader.is_alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        with contextlib.suppress(Exception):
            self._container.remove(force=True, v=True)


class DockerEngine:
    """Runs each attempt's command in its job definition's image."""

    name = "docker"

    def __init__(self) -> None:
        self._client = docker.from_env()

    def launch(self, launch: Launch) -> DockerExecution:
        return DockerExecution(self._client, launch)
