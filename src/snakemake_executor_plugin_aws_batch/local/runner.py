"""The life of one job: statuses, attempts, retries, timeouts, termination and logs."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from . import retry
from .engines import Execution, Launch, LaunchError
from .joblog import AttemptLog
from .runtime import JOB_ACCESS_KEY_ID, JOB_SECRET_ACCESS_KEY, JobExtras
from .secrets import SecretError, resolve_secrets

logger = logging.getLogger(__name__)

STEP = 0.05
STOP_GRACE_SECONDS = 2.0
TIMEOUT_REASON = "Job attempt duration exceeded timeout"
EXITED_REASON = "Essential container in task exited"
DEPENDENCY_REASON = "Dependent Job failed"
SHUTDOWN_REASON = "The local AWS Batch endpoint was stopped"


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


@dataclass
class Outcome:
    """How one attempt ended."""

    exit_code: int | None
    status_reason: str
    reason: str | None = None
    retryable: bool = True
    success: bool = False


class JobRun:
    """Drives one moto Job through AWS Batch's states in its own thread."""

    def __init__(self, job: Any, extras: JobExtras) -> None:
        self.job = job
        self.extras = extras
        self.runtime = extras.runtime

    # -- waiting -------------------------------------------------------------------------
    def halted(self) -> bool:
        return bool(self.job.stop) or self.runtime.stopping.is_set()

    def pause(self) -> None:
        """Wait one status step (``status_pace_seconds``), or less if the job is stopped."""
        started = time.monotonic()
        while not self.halted():
            if time.monotonic() - started >= self.runtime.knobs.pace():
                return
            time.sleep(STEP)

    def advance(self, status: str) -> bool:
        """Pace, then move to ``status``; False (and nothing moves) once the job is stopped."""
        self.pause()
        if self.halted():
            return False
        self.job.status = status
        return True

    # -- the whole job -------------------------------------------------------------------
    def run(self) -> None:
        thread = threading.current_thread()
        self.runtime.track(thread)
        try:
            self._lifecycle()
        except Exception as err:
            logger.exception("local job %s failed in the runner", self.job.job_id)
            self.finish(success=False, reason=f"Local AWS Batch error: {err}")
        finally:
            self.runtime.untrack(thread)

    def _lifecycle(self) -> None:
        if self.job.job_definition.container_properties is None:
            self.finish(success=False, reason="The local AWS Batch runs container jobs only")
            return
        if not self.advance("PENDING"):
            self.finish(success=False)
            return
        if not self._dependencies_done():
            return
        if not self.advance("RUNNABLE"):
            self.finish(success=False)
            return
        strategy = (
            self.extras.request.get("retryStrategy") or self.job.job_definition.retry_strategy
        )
        attempts = retry.max_attempts(strategy)
        for number in range(1, attempts + 1):
            while self.runtime.knobs.holding() and not self.halted():
                time.sleep(STEP)
            if not self.advance("STARTING"):
                self.finish(success=False)
                return
            outcome = self._attempt(number)
            self.extras.exit_code = outcome.exit_code
            self.extras.reason = outcome.reason
            if outcome.success:
                self.finish(success=True)
                return
            last = number == attempts or not outcome.retryable
            if last or not retry.should_retry(
                strategy,
                exit_code=outcome.exit_code,
                status_reason=outcome.status_reason,
                reason=outcome.reason,
            ):
                self.finish(success=False, reason=outcome.status_reason)
                return
            if not self.advance("RUNNABLE"):
                self.finish(success=False)
                return

    def _dependencies_done(self) -> bool:
        wanted = [str(d.get("jobId", "")) for d in self.job.depends_on or []]
        while wanted:
            if self.halted():
                self.finish(success=False)
                return False
            statuses = [
                self.job.all_jobs[i].status if i in self.job.all_jobs else None for i in wanted
            ]
            if "FAILED" in statuses:
                self.finish(success=False, reason=DEPENDENCY_REASON)
                return False
            if all(status == "SUCCEEDED" for status in statuses):
                return True
            time.sleep(STEP * 4)
        return True

    def finish(self, *, success: bool, reason: str | None = None) -> None:
        """Stop the job for good; a termination's reason wins over ours."""
        job = self.job
        if job.job_stopped:
            return
        if job.stop and job.job_stopped_reason:
            reason = job.job_stopped_reason
        elif reason is None and self.runtime.stopping.is_set():
            reason = SHUTDOWN_REASON
        if reason is not None:
            job.job_stopped_reason = reason
        job.exit_code = self.extras.exit_code
        job.job_stopped_at = datetime.now()
        job.job_stopped = True
        job.status = "SUCCEEDED" if success else "FAILED"

    # -- one attempt ---------------------------------------------------------------------
    def _environment(self, number: int) -> dict[str, str]:
        job, runtime = self.job, self.runtime
        properties: dict[str, Any] = job.job_definition.container_properties
        overrides: dict[str, Any] = self.extras.request.get("containerOverrides") or {}
        environment = {
            "AWS_ENDPOINT_URL": runtime.endpoint_url,
            "AWS_DEFAULT_REGION": runtime.region,
            "AWS_REGION": runtime.region,
            "AWS_ACCESS_KEY_ID": JOB_ACCESS_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": JOB_SECRET_ACCESS_KEY,
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
        environment.update(
            {
                "AWS_BATCH_JOB_ID": job.job_id,
                "AWS_BATCH_JOB_ATTEMPT": str(number),
                "AWS_BATCH_JQ_NAME": job.job_queue.name,
                "AWS_BATCH_CE_NAME": job.job_queue.environments[0].name
                if job.job_queue.environments
                else "",
            }
        )
        index = (job.array_properties or {}).get("index")
        if index is not None:
            environment["AWS_BATCH_JOB_ARRAY_INDEX"] = str(index)
        return environment

    def _attempt(self, number: int) -> Outcome:
        job = self.job
        record: dict[str, Any] = {
            "container": {
                "containerInstanceArn": f"arn:aws:ecs:{job.backend.region_name}:"
                f"{job.backend.account_id}:container-instance/local",
                "taskArn": f"arn:aws:ecs:{job.backend.region_name}:{job.backend.account_id}:"
                f"task/local/{job.job_id.replace(':', '-')}-{number}",
                "networkInterfaces": [],
            },
        }
        try:
            environment = self._environment(number)
        except SecretError as err:
            outcome = Outcome(None, str(err), reason=str(err))
            job.attempts.append(record)
            return self._close_record(record, outcome)
        suffix = "" if number == 1 else f"-{number}"
        stream = f"{job.job_definition.name}/default/{job.job_id.replace(':', '-')}{suffix}"
        log = AttemptLog(job.backend.logs_backend, stream)
        self.pause()
        if self.halted():
            job.attempts.append(record)
            return self._close_record(
                record,
                Outcome(None, self.job.job_stopped_reason or SHUTDOWN_REASON, retryable=False),
            )
        job.log_stream_name = stream
        record["container"]["logStreamName"] = stream
        job.job_started_at = datetime.now()
        record["startedAt"] = _ms(job.job_started_at)
        job.latest_attempt = record
        job.attempts.append(record)
        self.extras.started = True
        job.status = "RUNNING"
        if self.runtime.knobs.snapshot().instant_jobs:
            return self._close_record(record, Outcome(0, EXITED_REASON, success=True))
        return self._close_record(record, self._execute(number, environment, log))

    def _close_record(self, record: dict[str, Any], outcome: Outcome) -> Outcome:
        record["stoppedAt"] = _ms(datetime.now())
        record["statusReason"] = outcome.status_reason
        if outcome.exit_code is not None:
            record["container"]["exitCode"] = outcome.exit_code
        if outcome.reason:
            record["container"]["reason"] = outcome.reason
        return outcome

    def _execute(self, number: int, environment: dict[str, str], log: AttemptLog) -> Outcome:
        job = self.job
        properties: dict[str, Any] = job.job_definition.container_properties
        overrides: dict[str, Any] = self.extras.request.get("containerOverrides") or {}
        command = job._add_parameters_to_command(
            overrides.get("command") or properties.get("command") or ["/bin/true"]
        )
        launch = Launch(
            command=[str(part) for part in command],
            environment=environment,
            image=properties.get("image"),
            name=f"batch-{job.job_id.replace(':', '-')}-{number}",
            on_output=log.write,
        )
        try:
            execution = self.runtime.engine.launch(launch)
        except LaunchError as err:
            return Outcome(None, "Task failed to start", reason=str(err))
        try:
            return self._watch(execution)
        finally:
            execution.close()

    def _watch(self, execution: Execution) -> Outcome:
        duration = self.job._get_attempt_duration()
        deadline = time.monotonic() + duration if duration else None
        while True:
            code = execution.poll()
            if code is not None:
                if code == 0:
                    return Outcome(0, EXITED_REASON, success=True)
                return Outcome(code, EXITED_REASON)
            if self.halted():
                execution.stop(STOP_GRACE_SECONDS)
                reason = self.job.job_stopped_reason if self.job.stop else SHUTDOWN_REASON
                return Outcome(execution.poll(), reason or SHUTDOWN_REASON, retryable=False)
            if deadline is not None and time.monotonic() >= deadline:
                execution.stop(STOP_GRACE_SECONDS)
                return Outcome(execution.poll(), TIMEOUT_REASON, retryable=False)
            time.sleep(STEP)
