"""One local AWS Batch server in this process: moto's app behind our middleware."""

from __future__ import annotations

import logging
from typing import Any

import moto.backends
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

from . import patches
from .docker_engine import DockerEngine, docker_reachable
from .engines import Engine, ProcessEngine
from .knobs import KnobBoard
from .listener import Listener
from .middleware import Middleware
from .resources import Resources, create_resources
from .runtime import DEFAULT_POLL_SECONDS, Runtime, checked_poll_seconds


def choose_engine(kind: str) -> Engine:
    """``process``, ``docker``, or ``auto`` (Docker when an engine answers a ping)."""
    if kind == "process":
        return ProcessEngine()
    if kind == "docker":
        return DockerEngine()
    if kind != "auto":
        raise ValueError(f"unknown engine {kind!r}: use auto, process or docker")
    return DockerEngine() if docker_reachable() else ProcessEngine()


def list_moto_modules_once() -> None:
    """moto's server lists its package's folders on disk for every request, to tell
    whether the host names a service (a third of a request's CPU here); they do not change
    while it runs, so they are listed once."""
    if getattr(moto.backends.list_of_moto_modules, "listed_once", False):
        return
    names = tuple(moto.backends.list_of_moto_modules())

    def listed() -> tuple[str, ...]:
        return names

    listed.listed_once = True  # type: ignore[attr-defined]
    moto.backends.list_of_moto_modules = listed


class LocalServer:
    """Serves Batch, S3, CloudWatch Logs, Secrets Manager, SSM, IAM and EC2 on 127.0.0.1.

    A second port, the control port, serves only ``/_local/...``: it keeps answering
    during an outage, when the main port refuses connections.
    """

    def __init__(
        self,
        port: int = 0,
        region: str = "us-east-1",
        *,
        engine: str = "auto",
        host: str = "127.0.0.1",
        poll_seconds: float = DEFAULT_POLL_SECONDS,
        **knobs: Any,
    ) -> None:
        self.port = port
        self.poll_seconds = checked_poll_seconds(poll_seconds)
        self.region = region
        self.host = host
        self.knobs = KnobBoard()
        self.knobs.update(knobs)
        self._engine_kind = engine
        self._listeners: list[Listener] = []
        self.runtime: Runtime | None = None
        self.middleware: Middleware | None = None
        self.resources: Resources | None = None

    def start(self) -> Resources:
        patches.install()
        list_moto_modules_once()
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        runtime = Runtime(
            self.knobs, choose_engine(self._engine_kind), poll_seconds=self.poll_seconds
        )
        runtime.region = self.region
        self.runtime = runtime
        middleware = Middleware(DomainDispatcherApplication(create_backend_app), runtime)
        self.middleware = middleware
        try:
            main = Listener(
                self.host,
                self.port,
                middleware,
                name="snakemake-local-batch-server",
                refusing=self.knobs.refusing,
            )
            self._listeners.append(main)
            control = Listener(
                self.host, 0, middleware.control_only, name="snakemake-local-batch-control"
            )
            self._listeners.append(control)
            for listener in self._listeners:
                listener.start()
            self.port = main.port
            runtime.endpoint_url = f"http://{self.host}:{main.port}"
            runtime.control_url = f"http://{self.host}:{control.port}"
            self.resources = create_resources(
                runtime.endpoint_url, self.region, control_url=runtime.control_url
            )
        except BaseException:
            self.stop()
            raise
        middleware.reset_calls()
        return self.resources

    def set_knobs(self, **knobs: Any) -> dict[str, Any]:
        self.knobs.update(knobs)
        return self.knobs.as_json()

    def stop(self) -> None:
        """Stop every job (killing its processes), then the HTTP server."""
        if self.runtime is not None:
            self.runtime.shutdown()
        for listener in self._listeners:
            listener.stop()
        self._listeners.clear()
