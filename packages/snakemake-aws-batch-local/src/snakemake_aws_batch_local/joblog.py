"""A job attempt's output, written to CloudWatch Logs line by line as it is produced.

Where it goes follows the job definition's ``logConfiguration`` as the ``awslogs`` driver
does on AWS: the ``awslogs-group`` (default ``/aws/batch/job``), in ``awslogs-region``
(default the job's), stream ``<awslogs-stream-prefix>/default/<job id>`` (the prefix
defaults to the definition's name). Another log driver sends nothing to CloudWatch Logs.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from moto.logs.models import logs_backends

logger = logging.getLogger(__name__)

LOG_GROUP = "/aws/batch/job"
AWSLOGS = "awslogs"

# What the container agent reports when the awslogs driver cannot create the stream because
# the group does not exist (EC2: Docker's awslogs driver; Fargate: the Fargate agent).
MISSING_GROUP = "ResourceNotFoundException: The specified log group does not exist."
_EC2_PREFIX = (
    "CannotStartContainerError: Error response from daemon: failed to initialize logging "
    "driver: failed to create Cloudwatch log stream: "
)
_FARGATE_PREFIX = (
    "ResourceInitializationError: failed to validate logger args: create stream has been "
    "retried 1 times: failed to create Cloudwatch log stream: "
)
_FARGATE_SUFFIX = " : exit status 1"


def start_failure(cause: str, *, fargate: bool) -> str:
    """The container's reason when its awslogs driver fails with ``cause``."""
    return f"{_FARGATE_PREFIX}{cause}{_FARGATE_SUFFIX}" if fargate else f"{_EC2_PREFIX}{cause}"


# moto's logs backend is not thread-safe; every job thread writes through this lock.
_LOCK = threading.Lock()


class LogStartError(Exception):
    """The attempt cannot start: its log stream cannot be made. The message is the reason."""


@dataclass(frozen=True)
class LogDestination:
    """Where the awslogs driver sends an attempt's output."""

    group: str
    prefix: str
    region: str | None = None  # None: the job's region
    create_group: bool = False  # ``awslogs-create-group``

    def stream(self, job_id: str, number: int) -> str:
        """``<prefix>/default/<job id>``, with ``-<n>`` for attempt n > 1."""
        suffix = "" if number == 1 else f"-{number}"
        return f"{self.prefix}/default/{job_id.replace(':', '-')}{suffix}"


def log_destination(properties: dict[str, Any], definition_name: str) -> LogDestination | None:
    """The destination of a job definition's ``logConfiguration``; None unless ``awslogs``.

    Without a ``logConfiguration`` (or without ``awslogs-group``) the lines go to the default
    group, which is made again if it is missing; any other group must exist, unless
    ``awslogs-create-group`` is ``true``.
    """
    configuration = properties.get("logConfiguration")
    if not isinstance(configuration, dict):
        return LogDestination(LOG_GROUP, definition_name, create_group=True)
    if str(configuration.get("logDriver", AWSLOGS)) != AWSLOGS:
        return None
    options = configuration.get("options")
    options = options if isinstance(options, dict) else {}
    group = str(options.get("awslogs-group") or LOG_GROUP)
    return LogDestination(
        group=group,
        prefix=str(options.get("awslogs-stream-prefix") or definition_name),
        region=str(options["awslogs-region"]) if options.get("awslogs-region") else None,
        create_group=group == LOG_GROUP
        or str(options.get("awslogs-create-group", "")).lower() == "true",
    )


class AttemptLog:
    """Lines of one attempt in one stream (none for a log driver other than awslogs)."""

    def __init__(self, backend: Any, group: str, stream: str | None) -> None:
        self._backend = backend
        self.group = group
        self.stream = stream

    @classmethod
    def discarding(cls) -> AttemptLog:
        """Output of a log driver other than awslogs: it never reaches CloudWatch Logs."""
        return cls(None, "", None)

    @classmethod
    def open(
        cls, destination: LogDestination, stream: str, *, account: str, region: str, fargate: bool
    ) -> AttemptLog:
        """Create the stream (and the group if allowed); ``LogStartError`` otherwise."""
        target = destination.region or region
        try:
            backend = logs_backends[account][target]
        except KeyError:
            cause = f"awslogs-region {target!r} is not a region the endpoint serves"
            raise LogStartError(start_failure(cause, fargate=fargate)) from None
        with _LOCK:
            if destination.group not in backend.groups:
                if not destination.create_group:
                    raise LogStartError(start_failure(MISSING_GROUP, fargate=fargate))
                backend.ensure_log_group(destination.group)
            backend.ensure_log_stream(destination.group, stream)
        return cls(backend, destination.group, stream)

    def write(self, line: str) -> None:
        if self._backend is None or self.stream is None:
            return
        event = {"timestamp": int(time.time() * 1000), "message": line}
        with _LOCK:
            try:
                self._backend.put_log_events(self.group, self.stream, [event])
            except Exception:  # the group or stream was deleted meanwhile: the line is lost
                logger.debug("log line of %s lost", self.stream, exc_info=True)
