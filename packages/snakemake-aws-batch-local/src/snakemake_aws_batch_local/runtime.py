"""State shared by the HTTP side and the job runner of one local AWS Batch server."""

from __future__ import annotations

import contextlib
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .knobs import KnobBoard
from .scheduler import Scheduler

if TYPE_CHECKING:
    from .engines import Engine

# What clients outside the emulated Batch use (``env()``): moto accepts any key.
CLIENT_ACCESS_KEY_ID = "local"
CLIENT_SECRET_ACCESS_KEY = "local"
# What a container gets in place of the job role's temporary credentials, from the
# endpoint's credentials URI (see ``Runtime.grant_credentials``). Requests signed with
# this key come from inside: the fault knobs leave them alone.
JOB_ACCESS_KEY_ID = "local-job"
JOB_SECRET_ACCESS_KEY = "local-job"
JOB_SESSION_TOKEN = "local-job-session"
# How often a running attempt checks its command's exit, its termination and its timeout.
DEFAULT_POLL_SECONDS = 0.05


def checked_poll_seconds(value: Any) -> float:
    """``value`` as a polling step in seconds; ``ValueError`` unless a positive number."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ValueError(f"poll_seconds must be a positive number of seconds, not {value!r}")
    return float(value)


class Runtime:
    """One server's knobs, endpoint, engine, polling step, job scheduler and running attempts."""

    def __init__(
        self, knobs: KnobBoard, engine: Engine, *, poll_seconds: float = DEFAULT_POLL_SECONDS
    ) -> None:
        self.knobs = knobs
        self.engine = engine
        self.poll_seconds = checked_poll_seconds(poll_seconds)
        self.endpoint_url = ""
        self.control_url = ""
        self.region = "us-east-1"
        self._grants: dict[str, str | None] = {}
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._threads: set[threading.Thread] = set()
        self.scheduler = Scheduler()
        # Held or paced jobs look at the knobs again whenever they change.
        knobs.subscribe(self.scheduler.wake_all)

    def track(self, thread: threading.Thread) -> None:
        with self._lock:
            self._threads.add(thread)

    def untrack(self, thread: threading.Thread) -> None:
        with self._lock:
            self._threads.discard(thread)

    def grant_credentials(self, role_arn: str | None) -> str:
        """A credentials URI for one attempt's container, standing in for the ECS agent's.

        Its path is a fresh random token, as the agent's relative URIs are; the credentials it
        serves are the jobs' key, for the job role ``role_arn`` (or the instance's, without).
        """
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._grants[token] = role_arn
        return f"{self.control_url}/_local/credentials/{token}"

    def granted(self, token: str) -> tuple[bool, str | None]:
        """Whether ``token`` was granted, and for which role."""
        with self._lock:
            return token in self._grants, self._grants.get(token)

    def active(self) -> list[threading.Thread]:
        with self._lock:
            return list(self._threads)

    def shutdown(self, timeout: float = 20.0) -> None:
        """End every job (running commands are killed), then the scheduler."""
        self.stopping.set()
        self.scheduler.wake_all()
        deadline = time.monotonic() + timeout
        for thread in self.active():
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        while self.scheduler.count() and time.monotonic() < deadline:
            time.sleep(0.01)
        self.scheduler.stop()


@dataclass
class JobExtras:
    """What the local mode keeps beside moto's Job: the request moto partly drops."""

    runtime: Runtime
    request: dict[str, Any] = field(default_factory=dict)
    started: bool = False
    exit_code: int | None = None
    reason: str | None = None
    interrupted: bool = False  # an attempt was ended by the ``interrupt_jobs`` knob


_current = threading.local()


@contextlib.contextmanager
def serving(runtime: Runtime, request: dict[str, Any]) -> Iterator[None]:
    """Mark the current thread as handling ``request`` for ``runtime`` (read when jobs are made)."""
    _current.value = JobExtras(runtime, request)
    try:
        yield
    finally:
        _current.value = None


def current_extras() -> JobExtras | None:
    """A fresh ``JobExtras`` for a job made by the request this thread handles, if any."""
    value: JobExtras | None = getattr(_current, "value", None)
    if value is None:
        return None
    return JobExtras(value.runtime, value.request)
