"""The AWS Batch and CloudWatch Logs operations the executor uses, with their retry rules.

Every public method raises :class:`~.aws.BatchError` and nothing else: AWS's
failures are translated into it in one place, :func:`_failure`.
"""

from __future__ import annotations

import functools
import itertools
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from snakemake_interface_common.exceptions import WorkflowError

from ..jobspec import payloads
from ..jobspec.platform import Platform
from ..logs import Logger, LogLocation
from ..states import Finished, Live
from .boundary import (
    AmbiguousError,
    AwsError,
    Backoff,
    BatchError,
    Clients,
    Failure,
    Health,
    call,
)
from .queues import QueueFacts, queue_facts

# How long each kind of call keeps retrying transient failures, in seconds.
SUBMIT_PATIENCE = 30 * 60
SETUP_PATIENCE = 10 * 60
STATUS_PATIENCE = 15
TERMINATE_PATIENCE = 20
LOG_PATIENCE = 15
LOG_TAIL_LINES = 50
LIST_JOBS_PAGE = 1000  # the most ListJobs returns at once
MARKER_VARIABLE = "SNAKEMAKE_AWS_BATCH_SUBMISSION"


class Pace(Protocol):
    """What paces SubmitJob calls: a token before each call, word of each throttle."""

    def acquire(self) -> None: ...

    def throttled(self) -> None: ...


def _deadline(seconds: float) -> float:
    return time.monotonic() + seconds


class BatchService:
    def __init__(self, clients: Clients, logger: Logger) -> None:
        self._batch = clients.batch
        self._logs = clients.logs
        self._logger = logger
        self.health = Health(logger)
        self._queues: dict[str, QueueFacts] = {}
        self._queue_lock = threading.Lock()

    @property
    def region(self) -> str:
        """The region the clients talk to."""
        return str(self._batch.meta.region_name)

    # Queues -------------------------------------------------------------------
    def platform(self, queue: str) -> Platform:
        """EC2 or Fargate, from the queue's compute environments."""
        return self.queue(queue).platform

    def architectures(self, queue: str) -> frozenset[str] | None:
        """The CPU architectures the queue's EC2 compute environments offer, if known."""
        return self.queue(queue).architectures

    def queue(self, queue: str) -> QueueFacts:
        """What the queue and its compute environments are; described once per queue."""
        known = self._queues.get(queue)
        if known is not None:
            return known
        with self._queue_lock:
            if queue not in self._queues:
                self._queues[queue] = self._describe_queue(queue)
            return self._queues[queue]

    def _describe_queue(self, queue: str) -> QueueFacts:
        answer = self._call(
            "DescribeJobQueues",
            lambda: self._batch.describe_job_queues(jobQueues=[queue]),
            SETUP_PATIENCE,
        )
        queues = answer.get("jobQueues", [])
        if not queues:
            raise BatchError(
                f"AWS Batch job queue {queue!r} does not exist in this account in region "
                f"{self.region}. Check --aws-batch-job-queue / "
                "aws_batch_job_queue and --aws-batch-region."
            )
        found = queues[0]
        arns = [entry["computeEnvironment"] for entry in found.get("computeEnvironmentOrder", [])]
        environments = []
        if arns:
            described = self._call(
                "DescribeComputeEnvironments",
                lambda: self._batch.describe_compute_environments(computeEnvironments=arns),
                SETUP_PATIENCE,
            )
            environments = described.get("computeEnvironments", [])
        facts = queue_facts(queue, found, environments)
        if not facts.usable:
            self._logger.warning(
                f"AWS Batch job queue {queue!r} in region {self.region} is "
                f"{found.get('state')} ({found.get('status')}): "
                "its jobs will wait in RUNNABLE until it is enabled and valid."
            )
        return facts

    # Job definitions ------------------------------------------------------------
    def find_definition(self, name: str) -> str | None:
        """The ARN of the newest ACTIVE revision of the job definition ``name``, if any."""
        found = sorted(self._active_definitions(jobDefinitionName=name), key=_revision)
        return str(found[-1]["jobDefinitionArn"]) if found else None

    def check_definition(self, definition: str) -> None:
        """Refuse an existing job definition (name, name:revision or ARN) SubmitJob cannot use."""
        if definition.startswith("arn:"):
            found = self._active_definitions(jobDefinitions=[definition])
        else:
            name, _, revision = definition.partition(":")
            found = [
                candidate
                for candidate in self._active_definitions(jobDefinitionName=name)
                if not revision or str(_revision(candidate)) == revision
            ]
        if not found:
            raise BatchError(
                f"AWS Batch has no ACTIVE job definition {definition!r} in this account in "
                f"region {self.region}. Give a name (its newest revision), "
                "name:revision or ARN that `aws batch describe-job-definitions --status ACTIVE` "
                "lists, or leave it out to let the plugin register one."
            )

    def _active_definitions(self, **query: Any) -> list[dict[str, Any]]:
        definitions: list[dict[str, Any]] = []
        token: dict[str, Any] = {}
        while True:
            page = self._call(
                "DescribeJobDefinitions",
                functools.partial(
                    self._batch.describe_job_definitions, status="ACTIVE", **query, **token
                ),
                SETUP_PATIENCE,
            )
            definitions += [
                d for d in page.get("jobDefinitions", []) if d.get("status") == "ACTIVE"
            ]
            if not page.get("nextToken"):
                return definitions
            token = {"nextToken": page["nextToken"]}

    def register_definition(self, request: dict[str, Any]) -> str:
        answer = self._call(
            "RegisterJobDefinition",
            lambda: self._batch.register_job_definition(**request),
            SETUP_PATIENCE,
        )
        return str(answer["jobDefinitionArn"])

    # Jobs ---------------------------------------------------------------------
    def submit(self, request: Mapping[str, Any], *, rule: str, pace: Pace | None = None) -> str:
        """Submit exactly once, although SubmitJob has no idempotency token.

        The request sent carries a new marker in an environment variable. When an
        answer may have been lost (5xx, a dropped connection), the queue is searched
        for a job of that name holding the marker before the request is sent again.
        The caller takes ``pace``'s token for the first call; every call sent again
        takes one too, and each throttle is reported to it.
        """
        marker = uuid.uuid4().hex
        final = payloads.with_environment(request, {MARKER_VARIABLE: marker})
        try:
            payloads.check_size(rule, final)
        except WorkflowError as exc:
            raise BatchError(str(exc)) from None
        try:
            return self._submit(final, marker, pace)
        except AwsError as exc:
            raise _failure(exc, final, rule=rule, region=self.region) from exc

    def _submit(self, request: dict[str, Any], marker: str, pace: Pace | None) -> str:
        deadline = _deadline(SUBMIT_PATIENCE)

        def before_retry(failure: Failure) -> None:
            if pace is not None:
                if failure.kind == "throttled":
                    pace.throttled()
                pace.acquire()

        for attempt in itertools.count():
            try:
                answer = call(
                    "SubmitJob",
                    lambda: self._batch.submit_job(**request),
                    health=self.health,
                    deadline=deadline,
                    retry_ambiguous=False,
                    before_retry=before_retry,
                )
                return str(answer["jobId"])
            except AmbiguousError:
                found = self._find_submitted(request, marker, deadline)
                if found is not None:
                    self._logger.debug(
                        f"SubmitJob of {request['jobName']} had been carried out: job {found}."
                    )
                    return found
                wait = Backoff().delay(attempt)
                if time.monotonic() + wait > deadline:
                    raise
                time.sleep(wait)
                if pace is not None:
                    pace.acquire()
        raise AssertionError("unreachable")

    def _find_submitted(
        self, request: Mapping[str, Any], marker: str, deadline: float
    ) -> str | None:
        listed = self._call_until(
            "ListJobs",
            lambda: self._batch.list_jobs(
                jobQueue=request["jobQueue"],
                filters=[{"name": "JOB_NAME", "values": [request["jobName"]]}],
            ),
            deadline,
        )
        candidates = [summary["jobId"] for summary in listed.get("jobSummaryList", [])]
        if not candidates:
            return None
        for job in self._describe(candidates[:100], deadline):
            environment = (job.get("container") or {}).get("environment") or []
            if {"name": MARKER_VARIABLE, "value": marker} in environment:
                return str(job["jobId"])
        return None

    def describe(self, job_ids: Sequence[str]) -> list[dict[str, Any]]:
        """DescribeJobs for at most 100 ids."""
        try:
            return self._describe(job_ids, _deadline(STATUS_PATIENCE))
        except AwsError as exc:
            raise _failure(exc) from exc

    def _describe(self, job_ids: Sequence[str], deadline: float) -> list[dict[str, Any]]:
        answer = self._call_until(
            "DescribeJobs", lambda: self._batch.describe_jobs(jobs=list(job_ids)), deadline
        )
        return [dict(job) for job in answer.get("jobs", [])]

    def children(self, array_id: str, status: Live | Finished) -> list[int]:
        """The indexes of the array job's children in ``status`` (ListJobs, 1,000 a page)."""
        query = {"arrayJobId": array_id, "jobStatus": status, "maxResults": LIST_JOBS_PAGE}
        return [_child_index(summary) for summary in self._listed(query, STATUS_PATIENCE)]

    def terminate(self, job_id: str, reason: str) -> None:
        self._call(
            "TerminateJob",
            lambda: self._batch.terminate_job(jobId=job_id, reason=reason),
            TERMINATE_PATIENCE,
        )

    def log_tail(self, location: LogLocation, lines: int = LOG_TAIL_LINES) -> list[str]:
        """The last ``lines`` lines of a log stream; empty when it cannot be read."""
        try:
            answer = self._call(
                "GetLogEvents",
                lambda: self._logs.get_log_events(
                    logGroupName=location.group,
                    logStreamName=location.stream,
                    limit=lines,
                    startFromHead=False,
                ),
                LOG_PATIENCE,
            )
        except BatchError as exc:
            self._logger.debug(f"Could not read log stream {location.stream}: {exc}")
            return []
        return [str(event.get("message", "")).rstrip("\n") for event in answer.get("events", [])]

    def log_page(
        self, location: LogLocation, token: str | None
    ) -> tuple[list[str] | None, str | None]:
        """The log stream's lines after ``token`` (from its start without one), and the
        token to read on from; ``(None, token)`` when the stream cannot be read (yet)."""
        query: dict[str, Any] = {"startFromHead": True}
        if token:
            query["nextToken"] = token
        try:
            answer = self._call(
                "GetLogEvents",
                lambda: self._logs.get_log_events(
                    logGroupName=location.group, logStreamName=location.stream, **query
                ),
                LOG_PATIENCE,
            )
        except BatchError as exc:
            self._logger.debug(f"Could not read log stream {location.stream}: {exc}")
            return None, token
        lines = [str(e.get("message", "")).rstrip("\n") for e in answer.get("events", [])]
        return lines, answer.get("nextForwardToken") or token

    def jobs_in(self, queue: str, status: Live | Finished) -> list[str]:
        """The ids of the jobs of ``queue`` in ``status`` (ListJobs, 1,000 a page)."""
        query = {"jobQueue": queue, "jobStatus": status, "maxResults": LIST_JOBS_PAGE}
        return [str(summary["jobId"]) for summary in self._listed(query, SETUP_PATIENCE)]

    def jobs_created_since(self, queue: str, created_at_ms: int) -> list[str]:
        """The ids of every job of ``queue`` created at or after ``created_at_ms``."""
        created = [{"name": "AFTER_CREATED_AT", "values": [str(created_at_ms)]}]
        query = {"jobQueue": queue, "filters": created}
        return [str(summary["jobId"]) for summary in self._listed(query, SETUP_PATIENCE)]

    def _listed(self, query: Mapping[str, Any], patience: float) -> list[dict[str, Any]]:
        """Every job summary ListJobs gives for ``query``, page after page."""
        summaries: list[dict[str, Any]] = []
        token: dict[str, Any] = {}
        while True:
            page = self._call(
                "ListJobs", functools.partial(self._batch.list_jobs, **query, **token), patience
            )
            summaries += page.get("jobSummaryList", [])
            if not page.get("nextToken"):
                return summaries
            token = {"nextToken": page["nextToken"]}

    # Retry plumbing -------------------------------------------------------------
    def _call(self, operation: str, function: Callable[[], Any], patience: float) -> Any:
        try:
            return self._call_until(operation, function, _deadline(patience))
        except AwsError as exc:
            raise _failure(exc) from exc

    def _call_until(self, operation: str, function: Callable[[], Any], deadline: float) -> Any:
        return call(operation, function, health=self.health, deadline=deadline)


def _child_index(summary: Mapping[str, Any]) -> int:
    """An array child's index, from its summary (or, failing that, its ``parent:index`` id)."""
    index = (summary.get("arrayProperties") or {}).get("index")
    return int(index) if index is not None else int(str(summary["jobId"]).rpartition(":")[2])


def _revision(definition: Mapping[str, Any]) -> int:
    return int(definition.get("revision", 0))


def _failure(
    exc: AwsError,
    request: Mapping[str, Any] | None = None,
    *,
    rule: str | None = None,
    region: str | None = None,
) -> BatchError:
    """The one translation of an AWS failure into the message the user sees."""
    if request is not None and exc.operation == "SubmitJob":
        if exc.transient:
            return BatchError(
                f"AWS Batch did not accept job {request['jobName']} within "
                f"{SUBMIT_PATIENCE // 60} minutes of retries: {exc.code}: {exc.message}"
            )
        return BatchError(
            f"AWS Batch refused job {request['jobName']} of rule {rule!r} on queue "
            f"{request['jobQueue']} in region {region}: {exc.code}: {exc.message}"
        )
    return BatchError(f"AWS Batch API {exc.operation} failed: {exc.code}: {exc.message}")
