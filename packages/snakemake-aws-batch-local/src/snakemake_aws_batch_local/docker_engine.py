"""Run jobs in containers of their images, through a Docker API (Docker, or podman's)."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from typing import Any

import docker
import docker.errors
from docker.types import Mount as DockerMount
from docker.types import Ulimit as DockerUlimit

from .container import Options
from .engines import Launch, LaunchError

MIB = 1024 * 1024
# What AWS Batch says of a container that the kernel killed for exceeding its memory.
OUT_OF_MEMORY_REASON = "OutOfMemoryError: Container killed due to memory usage"
SIGKILL_EXIT = 137


def run_options(
    options: Options, *, vcpus: float | None = None, memory_mib: int | None = None
) -> dict[str, Any]:
    """``containers.run`` keywords for the container options and resources.

    Host paths are binds (``volumes``), which the daemon creates when missing, as on an ECS
    instance; a volume without a host path is an anonymous volume, removed with the container.
    Memory is a hard limit and vCPUs are CPU shares (1,024 a vCPU), as ECS sets them on EC2.
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
    if memory_mib:
        keywords["mem_limit"] = memory_mib * MIB
    if vcpus:
        keywords["cpu_shares"] = max(2, round(vcpus * 1024))
    return keywords


def _explanation(err: Exception) -> str:
    text = getattr(err, "explanation", None) or str(err)
    return str(text).strip() or type(err).__name__


def pull_error(image: str, err: Exception) -> LaunchError:
    """AWS Batch's failure for an image that cannot be had: the reason is in both fields."""
    message = f"CannotPullContainerError: failed to pull image {image}: {_explanation(err)}"
    return LaunchError(message, status_reason=message)


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
        image = launch.image or ""
        self._ensure_image(client, image)
        try:
            self._container = client.containers.run(
                image,
                launch.command,
                environment=launch.environment,
                network_mode="host",
                detach=True,
                name=launch.name,
                labels=launch.labels,
                **run_options(launch.options, vcpus=launch.vcpus, memory_mib=launch.memory_mib),
            )
        except docker.errors.ImageNotFound as err:
            raise pull_error(image, err) from err
        except Exception as err:
            raise LaunchError(f"CannotStartContainerError: {_explanation(err)}") from err
        self._memory_limited = bool(launch.memory_mib)
        self._stopped = False
        self._exit: int | None = None
        self._oom_killed = False
        self._waited = threading.Event()
        self._reader = threading.Thread(target=self._pump, args=(launch,), daemon=True)
        self._reader.start()
        threading.Thread(target=self._wait, daemon=True).start()

    @staticmethod
    def _ensure_image(client: Any, image: str) -> None:
        """The image from the engine's store, else pulled (as the ECS agent would)."""
        if not image:
            raise pull_error("(none)", ValueError("the job definition names no image"))
        try:
            client.images.get(image)
            return
        except docker.errors.ImageNotFound:
            pass
        except Exception as err:
            raise pull_error(image, err) from err
        try:
            client.images.pull(image)
        except Exception as err:
            raise pull_error(image, err) from err

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

    def _wait(self) -> None:
        """Blocks on the engine's wait, so that polling costs no request."""
        with contextlib.suppress(Exception):
            code = int(self._container.wait()["StatusCode"])
            self._container.reload()
            self._oom_killed = bool(self._container.attrs["State"].get("OOMKilled"))
            self._exit = code
        self._waited.set()

    def poll(self) -> int | None:
        if not self._waited.is_set():
            return None
        if self._exit is None:  # the wait failed: ask the engine
            with contextlib.suppress(Exception):
                self._container.reload()
                if self._container.status not in ("created", "running", "restarting"):
                    self._exit = int(self._container.attrs["State"]["ExitCode"])
        return self._exit

    def stop(self, grace: float) -> None:
        self._stopped = True
        with contextlib.suppress(Exception):
            self._container.stop(timeout=max(0, round(grace)))
        self._waited.wait(timeout=5)

    def exit_reason(self) -> str | None:
        """Out of memory: the engine says so, or (some engines never do) a container with a
        memory limit was killed by SIGKILL that nobody here sent."""
        if self._oom_killed or (
            self._exit == SIGKILL_EXIT and self._memory_limited and not self._stopped
        ):
            return OUT_OF_MEMORY_REASON
        return None

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
        where = os.environ.get("DOCKER_HOST") or "the default socket"
        try:
            self._client = docker.from_env()
            version = self._client.version()
        except Exception as err:
            raise RuntimeError(f"no Docker API answers at {where}: {err}") from err
        components = version.get("Components") or [{}]
        product = components[0].get("Name") or "Docker Engine"
        self._description = f"docker ({product} {version.get('Version', '?')} at {where})"

    def describe(self) -> str:
        return self._description

    def launch(self, launch: Launch) -> DockerExecution:
        return DockerExecution(self._client, launch)
