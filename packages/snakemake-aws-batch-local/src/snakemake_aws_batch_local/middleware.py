"""WSGI middleware in front of moto: counting, latency, fault injection and ``/_local``."""

from __future__ import annotations

import collections
import json
import random
import re
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from functools import cache
from io import BytesIO
from typing import Any
from urllib.parse import parse_qs

import botocore.session

from . import consumables
from .knobs import KnobBoard, Knobs
from .runtime import (
    JOB_ACCESS_KEY_ID,
    JOB_SECRET_ACCESS_KEY,
    JOB_SESSION_TOKEN,
    Runtime,
    serving,
)

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
StartResponse = Callable[..., Any]

_SERVICE = re.compile(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/")
_MAX_RECORDED = 100_000
_JOB_KEY = f"Credential={JOB_ACCESS_KEY_ID}/"
# How long a container's role credentials are said to last (the ECS agent's last 6 hours
# and are renewed before they expire; these are never renewed, nor need to be).
CREDENTIALS_LIFETIME = timedelta(hours=6)
THROTTLED = {"__type": "TooManyRequestsException", "message": "Too Many Requests"}
THROTTLING = {"__type": "ThrottlingException", "message": "Rate exceeded"}
SERVER_ERROR = {"__type": "ServerException", "message": "Internal Server Error"}


@cache
def batch_operations() -> dict[str, str]:
    """Batch's REST paths (``/v1/submitjob``) to operation names, from botocore's model."""
    model = botocore.session.get_session().get_service_model("batch")
    paths = {}
    for name in model.operation_names:
        uri = str(model.operation_model(name).http.get("requestUri", ""))
        if "{" not in uri:
            paths[uri.lower()] = name
    return paths


def _json(body: bytes) -> Any:
    try:
        return json.loads(body or b"{}")
    except ValueError:
        return None


class ReplyError(Exception):
    """Stop handling and answer with this status and JSON document."""

    def __init__(self, status: str, document: Any) -> None:
        super().__init__(status)
        self.status = status
        self.document = document


class Middleware:
    """Wraps moto's WSGI application; one instance per server."""

    def __init__(self, app: WSGIApp, runtime: Runtime) -> None:
        self.app = app
        self.runtime = runtime
        self._lock = threading.Lock()
        self._random = random.Random()
        self._calls: collections.Counter[str] = collections.Counter()
        self._requests: dict[str, list[Any]] = collections.defaultdict(list)
        self._submits: collections.deque[float] = collections.deque()

    # -- entry ---------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = str(environ.get("PATH_INFO", ""))
        try:
            if path.startswith("/_local/"):
                return self._respond(start_response, "200 OK", self._control(environ, path))
            if path.startswith("/moto-api"):
                return self.app(environ, start_response)
            return self._aws(environ, start_response, path)
        except ReplyError as answer:
            return self._respond(start_response, answer.status, answer.document)

    def control_only(
        self, environ: dict[str, Any], start_response: StartResponse
    ) -> Iterable[bytes]:
        """The control port: ``/_local/...`` only."""
        path = str(environ.get("PATH_INFO", ""))
        try:
            if not path.startswith("/_local/"):
                raise ReplyError("404 Not Found", {"message": "this port serves /_local/ only"})
            return self._respond(start_response, "200 OK", self._control(environ, path))
        except ReplyError as answer:
            return self._respond(start_response, answer.status, answer.document)

    @staticmethod
    def _respond(start_response: StartResponse, status: str, document: Any) -> list[bytes]:
        body = b"" if document is None else json.dumps(document).encode()
        headers = [("Content-Length", str(len(body)))]
        if document is not None:
            headers.append(("Content-Type", "application/json"))
        if isinstance(document, dict) and "__type" in document:
            headers.append(("x-amzn-ErrorType", str(document["__type"])))
        start_response(status, headers)
        return [body]

    @staticmethod
    def _drop(environ: dict[str, Any]) -> None:
        """End the connection without an HTTP answer (a reset where the platform allows)."""
        sock = environ.get("werkzeug.socket")
        if isinstance(sock, socket.socket):
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        raise ConnectionAbortedError("connection dropped by the local fault injection")

    # -- AWS requests --------------------------------------------------------------------
    def _read_body(self, environ: dict[str, Any]) -> bytes:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        body = environ["wsgi.input"].read(length) if length > 0 else b""
        environ["wsgi.input"] = BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        return bytes(body)

    def _operation(self, environ: dict[str, Any], path: str) -> tuple[str, bool, Any]:
        """(operation name, whether it is a Batch call, the JSON body or None)."""
        match = _SERVICE.search(str(environ.get("HTTP_AUTHORIZATION", "")))
        service = match.group(1) if match else ""
        target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
        content_type = str(environ.get("CONTENT_TYPE", ""))
        is_batch = service == "batch" or (not service and path.startswith("/v1/"))
        if is_batch:
            body = self._read_body(environ)
            name = batch_operations().get(path.lower().rstrip("/"), f"batch.{path}")
            return name, True, _json(body)
        if target:
            body = self._read_body(environ)
            prefix = service or target.split(".", maxsplit=1)[0].split("_", maxsplit=1)[0].lower()
            return f"{prefix}.{target.rsplit('.', 1)[-1]}", False, _json(body)
        if "x-www-form-urlencoded" in content_type:
            form = parse_qs(self._read_body(environ).decode(errors="replace"))
            action = form.get("Action", ["?"])[0]
            return f"{service or 'query'}.{action}", False, None
        return f"{service or 's3'}.{environ.get('REQUEST_METHOD', 'GET')}", False, None

    def _record(self, name: str, body: Any) -> None:
        with self._lock:
            self._calls[name] += 1
            if body is not None and len(self._requests[name]) < _MAX_RECORDED:
                self._requests[name].append(body)

    def _over_submit_limit(self, limit: float | None) -> bool:
        if limit is None:
            return False
        now = time.monotonic()
        with self._lock:
            while self._submits and now - self._submits[0] >= 1.0:
                self._submits.popleft()
            if len(self._submits) >= limit:
                return True
            self._submits.append(now)
            return False

    def _chance(self, rate: float) -> bool:
        with self._lock:
            return rate > 0 and self._random.random() < rate

    def _aws(
        self, environ: dict[str, Any], start_response: StartResponse, path: str
    ) -> Iterable[bytes]:
        name, is_batch, body = self._operation(environ, path)
        self._record(name, body)
        knobs = self.runtime.knobs
        # A job's requests come from inside AWS: the knobs model the client's side only
        # (but a port closed by an outage is closed for everyone).
        outside = _JOB_KEY not in str(environ.get("HTTP_AUTHORIZATION", "")) or knobs.refusing()
        settings = knobs.snapshot()
        if outside:
            self._before(environ, name, is_batch, settings)
        if not is_batch:
            return self.app(environ, start_response)
        if name in consumables.OPERATIONS:
            status, headers, content = self._call_consumables(environ, name, body)
        else:
            status, headers, content = self._call_moto(environ, body)
        if outside and self._chance(settings.ambiguous_rate):
            # Processed, but the answer is lost: a 500 or a connection reset, half each.
            if self._chance(0.5):
                self._drop(environ)
            raise ReplyError("500 Internal Server Error", SERVER_ERROR)
        if outside and name == "DescribeJobs" and settings.forget_jobs:
            content = self._forget(content, set(settings.forget_jobs))
            headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
            headers.append(("Content-Length", str(len(content))))
        start_response(status, headers)
        return [content]

    def _before(self, environ: dict[str, Any], name: str, is_batch: bool, settings: Knobs) -> None:
        """The knobs that act before the request is processed: outage, latency, refusals."""
        if self.runtime.knobs.in_outage():
            self._drop(environ)
        if settings.latency_ms:
            time.sleep(settings.latency_ms / 1000)
        if not is_batch:
            return
        if name == "SubmitJob" and self._over_submit_limit(settings.submit_rate_limit):
            raise ReplyError("429 Too Many Requests", THROTTLED)
        if self._chance(settings.throttle_rate):
            raise ReplyError("429 Too Many Requests", THROTTLED)
        if self._chance(settings.throttle_400_rate):
            raise ReplyError("400 Bad Request", THROTTLING)
        if self._chance(settings.server_error_rate):
            raise ReplyError("500 Internal Server Error", SERVER_ERROR)

    def _call_moto(self, environ: dict[str, Any], body: Any) -> tuple[str, list[Any], bytes]:
        answer: dict[str, Any] = {}

        def capture(status: str, headers: list[Any], exc_info: Any = None) -> Callable[..., Any]:
            answer["status"], answer["headers"] = status, list(headers)
            return lambda data: None

        request = body if isinstance(body, dict) else {}
        with serving(self.runtime, request):
            chunks = self.app(environ, capture)
            try:
                content = b"".join(chunks)
            finally:
                close = getattr(chunks, "close", None)
                if close is not None:
                    close()
        return str(answer["status"]), answer["headers"], content

    @staticmethod
    def _call_consumables(
        environ: dict[str, Any], name: str, body: Any
    ) -> tuple[str, list[Any], bytes]:
        """The consumable-resource operations, which moto does not implement."""
        status, document = "200 OK", dict[str, Any]()
        try:
            if not isinstance(body, dict):
                raise consumables.ConsumableError("the request body must be a JSON object")
            registry = consumables.registry_of(consumables.backend_for(environ))
            document = registry.handle(name, body)
        except consumables.ConsumableError as err:
            status, document = "400 Bad Request", {"__type": "ClientException", "message": str(err)}
        content = json.dumps(document).encode()
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(content)))]
        if "__type" in document:
            headers.append(("x-amzn-ErrorType", "ClientException"))
        return status, headers, content

    @staticmethod
    def _forget(content: bytes, forgotten: set[str]) -> bytes:
        document = _json(content)
        if not isinstance(document, dict) or not isinstance(document.get("jobs"), list):
            return content
        document["jobs"] = [
            job for job in document.get("jobs", []) if job.get("jobId") not in forgotten
        ]
        return json.dumps(document).encode()

    # -- /_local -------------------------------------------------------------------------
    def _control(self, environ: dict[str, Any], path: str) -> Any:
        method = str(environ.get("REQUEST_METHOD", "GET"))
        route = path.removeprefix("/_local/").rstrip("/")
        if route == "knobs" and method == "POST":
            values = _json(self._read_body(environ))
            if not isinstance(values, dict):
                raise ReplyError("400 Bad Request", {"message": "send a JSON object of knobs"})
            try:
                self.runtime.knobs.update(values)
            except ValueError as err:
                raise ReplyError("400 Bad Request", {"message": str(err)}) from err
            return self.runtime.knobs.as_json()
        if route == "reset-knobs" and method == "POST":
            self.runtime.knobs.update(KnobBoard().as_json())
            return self.runtime.knobs.as_json()
        if route == "knobs" and method == "GET":
            return self.runtime.knobs.as_json()
        if route == "calls" and method == "GET":
            with self._lock:
                return dict(self._calls)
        if route == "requests" and method == "GET":
            operation = parse_qs(str(environ.get("QUERY_STRING", ""))).get("op", [""])[0]
            with self._lock:
                return list(self._requests.get(operation, []))
        if route == "reset-calls" and method == "POST":
            self.reset_calls()
            return {"reset": True}
        if route.startswith("credentials/") and method == "GET":
            return self._credentials(route.removeprefix("credentials/"))
        if route == "health":
            return {
                "ok": True,
                "engine": self.runtime.engine.name,
                "engine_description": self.runtime.engine.describe(),
                "poll_seconds": self.runtime.poll_seconds,
                "active_jobs": self.runtime.scheduler.count(),
                "running_attempts": len(self.runtime.active()),
                "threads": threading.active_count(),
            }
        raise ReplyError("404 Not Found", {"message": f"no such local endpoint: {method} {path}"})

    def _credentials(self, token: str) -> dict[str, Any]:
        """A container's role credentials, in the ECS agent's answer's shape."""
        granted, role_arn = self.runtime.granted(token)
        if not granted:
            raise ReplyError("404 Not Found", {"message": "no such credentials"})
        expiration = datetime.now(UTC) + CREDENTIALS_LIFETIME
        answer = {
            "AccessKeyId": JOB_ACCESS_KEY_ID,
            "SecretAccessKey": JOB_SECRET_ACCESS_KEY,
            "Token": JOB_SESSION_TOKEN,
            "Expiration": expiration.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        if role_arn:
            answer["RoleArn"] = str(role_arn)
        return answer

    def reset_calls(self) -> None:
        with self._lock:
            self._calls.clear()
            self._requests.clear()
            self._submits.clear()
