"""One attempt of a job: its container's environment, its entry in ``attempts``, its run."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from . import interruptions
from .container import merged_requirements, options_of, requirement
from .engines import (
    ATTEMPT_LABEL,
    JOB_LABEL,
    START_FAILED_REASON,
    Execution,
    Launch,
    LaunchError,
)
from .joblog import AttemptLog, LogDestination, LogStartError, log_destination
from .runtime import JobExtras
from .secrets import resolve_secrets

logger = logging.getLogger(__name__)

TIMEOUT_REASON = "Job attempt duration exceeded timeout"
EXITED_REASON = "Essential container in task exited"
SHUTDOWN_REASON = "The local AWS Batch endpoint was stopped"


def milliseconds(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


@dataclass
class Outcome:
    """How one attempt ended."""

    exit_code: int | None
    status_reason: str
    reason: str | None = None
    retryable: bool = True
    success: bool = False


def new_record(job: Any, number: int) -> dict[str, Any]:
    """The attempt's entry in DescribeJobs' ``attempts``, before it runs."""
    region, account = job.backend.region_name, job.backend.account_id
    return {
        "container": {
            "containerInstanceArn": f"arn:aws:ecs:{region}:{account}:container-instance/local",
            "taskArn": f"arn:aws:ecs:{region}:{account}:task/local/"
            f"{job.job_id.replace(':', '-')}-{number}",
            "networkInterfaces": [],
        },
    }


def close_record(record: dict[str, Any], outcome: Outcome) -> Outcome:
    record["stoppedAt"] = milliseconds(datetime.now())
    record["statusReason"] = outcome.status_reason
    if outcome.exit_code is not None:
        record["container"]["exitCode"] = outcome.exit_code
    if outcome.reason:
        record["container"]["reason"] = outcome.reason
    return outcome


def open_log(job: Any, number: int) -> AttemptLog:
    """The attempt's log stream, made as the awslogs driver makes it when the container starts.

    Raises ``LogStartError`` (the container's reason) when the stream cannot be made.
    """
    definition = job.job_definition
    destination: LogDestination | None = log_destination(
        definition.container_properties, definition.name
    )
    if destination is None:
        return AttemptLog.discarding()
    return AttemptLog.open(
        destination,
        destination.stream(job.job_id, number),
        account=job.backend.account_id,
        region=job.backend.region_name,
        fargate="FARGATE" in (definition.platform_capabilities or []),
    )


def start_failure(err: LogStartError) -> Outcome:
    """An attempt whose container could not start: no exit code, the agent's reason."""
    return Outcome(None, START_FAILED_REASON, reason=str(err))


def container_environment(job: Any, extras: JobExtras, number: int) -> dict[str, str]:
    """What the container sees: the job's variables and secrets, the endpoint, and where
    its role's credentials are (as the ECS agent serves them, at a URI of its own).

    Raises ``SecretError`` when a secret cannot be resolved.
    """
    runtime = extras.runtime
    properties: dict[str, Any] = job.job_definition.container_properties
    overrides: dict[str, Any] = extras.request.get("containerOverrides") or {}
    environment = {
        "AWS_ENDPOINT_URL": runtime.endpoint_url,
        "AWS_DEFAULT_REGION": runtime.region,
        "AWS_REGION": runtime.region,
        "AWS_CONTAINER_CREDENTIALS_FULL_URI": runtime.grant_credentials(
            properties.get("jobRoleArn")
        ),
    }
    for entry in [*properties.get("environment", []), *overrides.get("environment", [])]:
        environment[str(entry["name"])] = str(entry.get("value", ""))
    environment.update(
        resolve_secrets(
            properties.get("secrets") or [],
            account=job.backend.account_id,
            region=job.backend.region_name,
            execution_role=properties.get("executionRoleArn"),
        )
    )
    environments = job.job_queue.environments
    environment.update(
        {
            "AWS_BATCH_JOB_ID": job.job_id,
            "AWS_BATCH_JOB_ATTEMPT": str(number),
            "AWS_BATCH_JQ_NAME": job.job_queue.name,
            "AWS_BATCH_CE_NAME": environments[0].name if environments else "",
        }
    )
    index = (job.array_properties or {}).get("index")
    if index is not None:
        environment["AWS_BATCH_JOB_ARRAY_INDEX"] = str(index)
    return environment


def interrupted(job: Any, number: int) -> Outcome:
    """An attempt whose Spot instance was reclaimed: no exit code; retried as any failure."""
    return Outcome(None, interruptions.spot_reason(job.job_id, number))


class AttemptRun:
    """Runs one attempt's command in a thread of its own; reports the outcome when done."""

    def __init__(
        self,
        job: Any,
        extras: JobExtras,
        *,
        number: int,
        environment: dict[str, str],
        log: AttemptLog,
        record: dict[str, Any],
        on_done: Callable[[Outcome], None],
    ) -> None:
        self.job = job
        self.extras = extras
        self.number = number
        self.environment = environment
        self.log = log
        self.record = record
        self.on_done = on_done
        self.thread = threading.Thread(
            target=self._run, name=f"snakemake-local-batch-{job.job_id}-{number}", daemon=True
        )

    def start(self) -> None:
        self.extras.runtime.track(self.thread)
        self.thread.start()

    def halted(self) -> bool:
        return bool(self.job.stop) or self.extras.runtime.stopping.is_set()

    def _run(self) -> None:
        try:
            try:
                outcome = self._execute()
            except Exception as err:
                logger.exception("local job %s: attempt %d failed", self.job.job_id, self.number)
                outcome = Outcome(None, f"Local AWS Batch error: {err}", retryable=False)
            self.on_done(close_record(self.record, outcome))
        finally:
            self.extras.runtime.untrack(self.thread)

    def _execute(self) -> Outcome:
        properties: dict[str, Any] = self.job.job_definition.container_properties
        overrides: dict[str, Any] = self.extras.request.get("containerOverrides") or {}
        command = self.job._add_parameters_to_command(
            overrides.get("command") or properties.get("command") or ["/bin/true"]
        )
        requirements = merged_requirements(properties, overrides)
        memory = requirement(requirements, "MEMORY")
        launch = Launch(
            command=[str(part) for part in command],
            environment=self.environment,
            image=properties.get("image"),
            name=f"batch-{self.job.job_id.replace(':', '-')}-{self.number}",
            on_output=self.log.write,
            options=options_of(properties),
            vcpus=requirement(requirements, "VCPU"),
            memory_mib=int(memory) if memory else None,
            labels={JOB_LABEL: self.job.job_id, ATTEMPT_LABEL: str(self.number)},
        )
        try:
            execution = self.extras.runtime.engine.launch(launch)
        except LaunchError as err:
            return Outcome(None, err.status_reason, reason=str(err))
        try:
            return self._watch(execution)
        finally:
            execution.close()

    def _watch(self, execution: Execution) -> Outcome:
        duration = self.job._get_attempt_duration()
        scale = self.extras.runtime.knobs.timeout_scale()
        deadline = time.monotonic() + duration * scale if duration else None
        while True:
            grace = self.extras.runtime.knobs.stop_timeout()
            # Before the exit code: an attempt that is RUNNING for Batch (its exit not seen
            # yet) is interrupted even if its command has just ended, so tests can count on it.
            # A termination wins.
            if not self.halted() and interruptions.claim(
                self.extras.runtime.knobs, self.job, self.extras
            ):
                execution.stop(grace)
                return interrupted(self.job, self.number)
            code = execution.poll()
            if code is not None:
                reason = execution.exit_reason()
                return Outcome(code, EXITED_REASON, reason=reason, success=code == 0)
            if self.halted():
                execution.stop(grace)
                reason = self.job.job_stopped_reason if self.job.stop else SHUTDOWN_REASON
                return Outcome(execution.poll(), reason or SHUTDOWN_REASON, retryable=False)
            if deadline is not None and time.monotonic() >= deadline:
                execution.stop(grace)
                return Outcome(execution.poll(), TIMEOUT_REASON, retryable=False)
            time.sleep(self.extras.runtime.poll_seconds)
