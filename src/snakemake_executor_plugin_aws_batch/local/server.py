"""One local AWS Batch server in this process: moto's app behind our middleware."""

from __future__ import annotations

import logging
import threading
from typing import Any

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import BaseWSGIServer, make_server

from . import patches
from .docker_engine import DockerEngine, docker_reachable
from .engines import Engine, ProcessEngine
from .faults import Middleware
from .knobs import KnobBoard
from .runtime import Runtime
from .setup import Resources, create_resources


def choose_engine(kind: str) -> Engine:
    """``process``, ``docker``, or ``auto`` (Docker when an engine answers a ping)."""
    if kind == "process":
        return ProcessEngine()
    if kind == "docker":
        return DockerEngine()
    if kind != "auto":
        raise ValueError(f"unknown engine {kind!r}: use auto, process or docker")
    return DockerEngine() if docker_reachable() else ProcessEngine()


class _QuietHandler(MotoRequestHandler):
    """No access log line per request."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return


class LocalServer:
    """Serves Batch, S3, CloudWatch Logs, Secrets Manager, SSM, IAM and EC2 on 127.0.0.1."""

    def __init__(
        self,
        port: int = 0,
        region: str = "us-east-1",
        *,
        engine: str = "auto",
        host: str = "127.0.0.1",
        **knobs: Any,
    ) -> None:
        self.port = port
        self.region = region
        self.host = host
        self.knobs = KnobBoard()
        self.knobs.update(knobs)
        self._engine_kind = engine
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self.runtime: Runtime | None = None
        self.middleware: Middleware | None = None
        self.resources: Resources | None = None

    def start(self) -> Resources:
        patches.install()
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        runtime = Runtime(self.knobs, choose_engine(self._engine_kind))
        runtime.region = self.region
        middleware = Middleware(DomainDispatcherApplication(create_backend_app), runtime)
        server = make_server(
            self.host, self.port, middleware, threaded=True, request_handler=_QuietHandler
        )
        self.port = int(server.server_port)
        runtime.endpoint_url = f"http://{self.host}:{self.port}"
        self._server, self.runtime, self.middleware = server, runtime, middleware
        self._thread = threading.Thread(
            target=server.serve_forever, name="snakemake-local-batch-server", daemon=True
        )
        self._thread.start()
        try:
            self.resources = create_resources(runtime.endpoint_url, self.region)
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
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = self._thread = None
