"""The one boto3 boundary: clients, the retry policy and AWS error translation.

botocore's own retries are switched off so that exactly one place decides what
is retried: throttling, 5xx answers and connection failures, with capped
exponential back-off and jitter. SubmitJob is not idempotent, so it is never
blindly repeated after an answer that may have been lost; see :mod:`.service`.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

import boto3
import botocore.config
import botocore.exceptions
from snakemake_interface_common.exceptions import WorkflowError

from ..logs import Logger

if TYPE_CHECKING:
    from mypy_boto3_batch import BatchClient
    from mypy_boto3_logs import CloudWatchLogsClient

T = TypeVar("T")

THROTTLING_CODES = frozenset(
    {
        "TooManyRequestsException",
        "ThrottlingException",
        "Throttling",
        "ThrottledException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "RequestThrottledException",
        "SlowDown",
        "ProvisionedThroughputExceededException",
    }
)

# Failures after which the request may or may not have been carried out.
_AMBIGUOUS_CONNECTION_ERRORS = (
    botocore.exceptions.ReadTimeoutError,
    botocore.exceptions.ConnectionClosedError,
)
# Failures before the request reached AWS: always safe to send again.
_CONNECTION_ERRORS = (
    botocore.exceptions.EndpointConnectionError,
    botocore.exceptions.ConnectTimeoutError,
    botocore.exceptions.ConnectionError,
    botocore.exceptions.HTTPClientError,
)


class AwsError(Exception):
    """An AWS API call failed for good. ``code`` is AWS's error code."""

    def __init__(self, operation: str, code: str, message: str, *, transient: bool) -> None:
        super().__init__(f"{operation} failed: {code}: {message}")
        self.operation = operation
        self.code = code
        self.message = message
        self.transient = transient


class AmbiguousError(AwsError):
    """The request may have been carried out although no answer arrived."""


class BatchError(WorkflowError):
    """What every public method of the AWS Batch service raises: a message for the user.

    :class:`AwsError` stays inside the service; it is translated into this once,
    at the service's boundary.
    """


@dataclass(frozen=True, slots=True)
class Failure:
    kind: str  # "throttled", "server", "connection", "ambiguous" or "client"
    code: str
    message: str

    @property
    def transient(self) -> bool:
        return self.kind != "client"


def classify(exc: BaseException) -> Failure:
    """What kind of failure an exception from botocore is."""
    if isinstance(exc, botocore.exceptions.ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "Unknown"))
        message = str(error.get("Message", ""))
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        if code in THROTTLING_CODES or status == 429:
            return Failure("throttled", code, message)
        if status >= 500:
            return Failure("server", code, message or f"HTTP {status}")
        return Failure("client", code, message)
    if isinstance(exc, _AMBIGUOUS_CONNECTION_ERRORS):
        return Failure("ambiguous", type(exc).__name__, str(exc))
    if isinstance(exc, _CONNECTION_ERRORS):
        return Failure("connection", type(exc).__name__, str(exc))
    return Failure("client", type(exc).__name__, str(exc))


@dataclass(frozen=True, slots=True)
class Backoff:
    """Capped exponential back-off with full jitter."""

    base: float = 0.2
    cap: float = 20.0

    def delay(self, attempt: int) -> float:
        return random.uniform(0, min(self.cap, self.base * 2 ** min(attempt, 32)))


class Health:
    """Tells the user once that AWS is throttling or unreachable, and once that it is back.

    Short episodes that follow each other (e.g. a steady share of throttled calls) are
    told once per ``quiet_seconds``; everything else goes to the debug log.
    """

    def __init__(
        self,
        logger: Logger,
        *,
        quiet_seconds: float = 600,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._logger = logger
        self._quiet = quiet_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._troubled = False
        self._told = False
        self._last_warning: float | None = None

    def trouble(self, operation: str, failure: Failure) -> None:
        with self._lock:
            now = self._clock()
            tell = not self._troubled and (
                self._last_warning is None or now - self._last_warning >= self._quiet
            )
            self._troubled = True
            if tell:
                self._told = True
                self._last_warning = now
        if tell:
            self._logger.warning(
                f"AWS Batch API: {operation} answered {failure.code} ({failure.kind}). "
                "Retrying with back-off; no job is lost or failed because of this. "
                "Further retries are logged at debug level only."
            )
        else:
            self._logger.debug(f"AWS Batch API: {operation} {failure.kind}: {failure.code}")

    def ok(self) -> None:
        if not self._troubled:
            return
        with self._lock:
            told, self._troubled, self._told = self._told, False, False
        if told:
            self._logger.info("AWS Batch API answers normally again.")


def call(
    operation: str,
    function: Callable[[], T],
    *,
    health: Health,
    deadline: float,
    backoff: Backoff = Backoff(),
    retry_ambiguous: bool = True,
    before_retry: Callable[[Failure], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Call ``function``, retrying transient failures until ``deadline`` (monotonic).

    With ``retry_ambiguous=False`` an answer that may have been lost raises
    :class:`AmbiguousError` so the caller can check what happened first.
    ``before_retry`` runs after the back-off, before the call is sent again.
    """
    attempt = 0
    while True:
        try:
            result = function()
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
            failure = classify(exc)
            if not failure.transient:
                raise AwsError(operation, failure.code, failure.message, transient=False) from exc
            health.trouble(operation, failure)
            if failure.kind in {"server", "ambiguous"} and not retry_ambiguous:
                raise AmbiguousError(
                    operation, failure.code, failure.message, transient=True
                ) from exc
            wait = backoff.delay(attempt)
            if time.monotonic() + wait > deadline:
                raise AwsError(operation, failure.code, failure.message, transient=True) from exc
            sleep(wait)
            if before_retry is not None:
                before_retry(failure)
            attempt += 1
        else:
            health.ok()
            return result


def client_config(*, max_pool_connections: int) -> botocore.config.Config:
    """botocore retries off (we retry), generous pools for concurrent submission."""
    return botocore.config.Config(
        retries={"total_max_attempts": 1, "mode": "standard"},
        max_pool_connections=max_pool_connections,
        connect_timeout=10,
        read_timeout=60,
        user_agent_extra="snakemake-executor-plugin-aws-batch",
    )


@dataclass
class Clients:
    batch: BatchClient
    logs: CloudWatchLogsClient


def make_clients(
    *,
    region: str | None,
    session: boto3.session.Session | None = None,
    max_pool_connections: int = 32,
) -> Clients:
    """Create the Batch and CloudWatch Logs clients (endpoints from ``AWS_ENDPOINT_URL*``)."""
    session = session or boto3.session.Session()
    config = client_config(max_pool_connections=max_pool_connections)
    try:
        return Clients(
            batch=session.client("batch", region_name=region, config=config),
            logs=session.client("logs", region_name=region, config=config),
        )
    except botocore.exceptions.NoRegionError as exc:
        raise WorkflowError(
            "No AWS region: set --aws-batch-region (or SNAKEMAKE_AWS_BATCH_REGION, "
            "AWS_REGION, or a region in the AWS config file)."
        ) from exc
