"""Every change the local mode makes to moto's Batch, each with what moto lacks.

Array jobs are in ``arrays``; the patches here only call it.

Only jobs submitted through the local server's middleware are affected: a job made any other
way (moto used directly in the same process) keeps moto's own behaviour.
"""

from __future__ import annotations

import copy
import json
import threading
from typing import Any

from moto.batch.models import BatchBackend, Job, JobDefinition
from moto.batch.responses import BatchResponse
from moto.moto_api._internal.managed_state_model import ManagedState

from . import arrays, consumables
from .container import merged_requirements
from .runner import JobRun
from .runtime import JobExtras, current_extras

_ATTRIBUTE = "_snakemake_local"
_RUN_ATTRIBUTE = "_snakemake_local_run"
_lock = threading.Lock()


def extras_of(job: Any) -> JobExtras | None:
    value: JobExtras | None = getattr(job, _ATTRIBUTE, None)
    return value


def _container_details(job: Any, extras: JobExtras) -> dict[str, Any]:
    properties: dict[str, Any] = copy.deepcopy(job.job_definition.container_properties or {})
    overrides: dict[str, Any] = extras.request.get("containerOverrides") or {}
    details = properties
    details["command"] = job._add_parameters_to_command(
        overrides.get("command") or properties.get("command") or []
    )
    environment = {e["name"]: e.get("value", "") for e in properties.get("environment", [])}
    environment.update({e["name"]: e.get("value", "") for e in overrides.get("environment", [])})
    details["environment"] = [{"name": k, "value": v} for k, v in environment.items()]
    requirements = merged_requirements(properties, overrides)
    if requirements:
        details["resourceRequirements"] = list(requirements.values())
    if overrides.get("instanceType"):
        details["instanceType"] = overrides["instanceType"]
    if job.log_stream_name:
        details["logStreamName"] = job.log_stream_name
    if extras.exit_code is not None:
        details["exitCode"] = extras.exit_code
    if extras.reason:
        details["reason"] = extras.reason
    return details


def _describe(job: Any, extras: JobExtras, described: dict[str, Any]) -> dict[str, Any]:
    if not extras.started:
        described.pop("startedAt", None)
    described["attempts"] = [copy.deepcopy(a) for a in list(job.attempts)]
    request, definition = extras.request, job.job_definition
    strategy = request.get("retryStrategy") or definition.retry_strategy
    if strategy:
        described["retryStrategy"] = strategy
    if "shareIdentifier" in request:
        described["shareIdentifier"] = request["shareIdentifier"]
    properties = consumables.job_properties(request, definition)
    if properties is not None:
        described["consumableResourceProperties"] = properties
    if "schedulingPriorityOverride" in request:
        described["schedulingPriority"] = request["schedulingPriorityOverride"]
    propagate = request.get("propagateTags", definition.propagate_tags)
    if propagate is not None:
        described["propagateTags"] = propagate
    if definition.platform_capabilities:
        described["platformCapabilities"] = definition.platform_capabilities
    _add_array_properties(job, described)
    return described


def _add_array_properties(job: Any, described: dict[str, Any]) -> None:
    """A parent's size and statusSummary, a child's index (moto shows neither)."""
    array = arrays.led_by(job)
    if array is not None:
        described["arrayProperties"] = array.detail()
    index = arrays.index_of(job)
    if index is not None:
        described["arrayProperties"] = {"index": index}


_ORIGINAL: dict[str, Any] = {
    "__init__": Job.__init__,
    "start": Job.start,
    "terminate": Job.terminate,
    "status": ManagedState.status,
    "_container_details": Job._container_details,
    "describe": Job.describe,
    "describe_short": Job.describe_short,
}
_ORIGINAL_DEFINITION: dict[str, Any] = {
    "__init__": JobDefinition.__init__,
    "describe": JobDefinition.describe,
}
_ORIGINAL_BACKEND: dict[str, Any] = {
    "submit_job": BatchBackend.submit_job,
    "cancel_job": BatchBackend.cancel_job,
}
_ORIGINAL_RESPONSE: dict[str, Any] = {"listjobs": BatchResponse.listjobs}


# moto's Job keeps only the SubmitJob fields it models (no retryStrategy, no
# resourceRequirements overrides, ...): keep the whole request beside the job.
def _init(self: Any, *args: Any, **kwargs: Any) -> None:
    _ORIGINAL["__init__"](self, *args, **kwargs)
    extras = current_extras()
    setattr(self, _ATTRIBUTE, extras)
    if extras is not None:
        arrays.adopt(self, extras.runtime.scheduler)


# moto moves a job's status forward from a global state manager whenever the status is read;
# here the runner alone moves it, at the pace of the status_pace_seconds knob, and an
# array parent's status follows its children's.
def _get_status(self: Any) -> str | None:
    if extras_of(self) is None:
        return _ORIGINAL["status"].fget(self)  # type: ignore[no-any-return]
    array = arrays.led_by(self)
    if array is not None:
        return array.status()
    value: str | None = self._status
    return value


def _set_status(self: Any, value: str) -> None:
    previous: str | None = self._status
    _ORIGINAL["status"].fset(self, value)
    array = arrays.member_of(self)
    if array is not None and previous != value:
        array.moved(previous, value)


# moto runs each job in a thread of its own, only through a Docker engine, without retries,
# secrets, streamed logs, exit codes in DescribeJobs or prompt termination before RUNNING.
# Here the server's scheduler drives the job instead (no thread until its command runs).
def _start(self: Any) -> None:
    extras = extras_of(self)
    if extras is None:
        _ORIGINAL["start"](self)
        return
    run = JobRun(self, extras)
    setattr(self, _RUN_ATTRIBUTE, run)
    extras.runtime.scheduler.add(run)


# moto's TerminateJob and CancelJob only set a flag that its job thread polls; the scheduler
# has to be told, so that a waiting job ends at once. Terminating an array parent leaves
# its children running in moto; here it terminates them.
def _terminate(self: Any, reason: str) -> None:
    array = arrays.led_by(self)
    if array is not None:
        arrays.terminate(array, reason)
        return
    _ORIGINAL["terminate"](self, reason)
    run: JobRun | None = getattr(self, _RUN_ATTRIBUTE, None)
    if run is not None:
        run.runtime.scheduler.wake(run)


# moto's container details drop the overridden resourceRequirements, the exit code and the
# reason, and append AWS_BATCH_JOB_ID to the overrides' environment on every call.
def _details(self: Any) -> dict[str, Any]:
    extras = extras_of(self)
    if extras is None:
        return _ORIGINAL["_container_details"](self)  # type: ignore[no-any-return]
    return _container_details(self, extras)


# moto's DescribeJobs omits retryStrategy, schedulingPriority, shareIdentifier,
# propagateTags and a child's index, and reports startedAt for jobs that never started.
def _full_description(self: Any) -> dict[str, Any]:
    extras = extras_of(self)
    described: dict[str, Any] = _ORIGINAL["describe"](self)
    return described if extras is None else _describe(self, extras, described)


# moto's ListJobs summaries report startedAt for jobs that never started, and no
# arrayProperties.
def _short_description(self: Any) -> dict[str, Any]:
    extras = extras_of(self)
    described: dict[str, Any] = _ORIGINAL["describe_short"](self)
    if extras is not None:
        if not extras.started:
            described.pop("startedAt", None)
        _add_array_properties(self, described)
    return described


# moto accepts any array size (even 0, which makes a parent that never ends).
def _submit_job(self: Any, *args: Any, **kwargs: Any) -> tuple[str, str, str]:
    extras = current_extras()
    if extras is not None:
        arrays.check_request(extras.request)
    answer: tuple[str, str, str] = _ORIGINAL_BACKEND["submit_job"](self, *args, **kwargs)
    if extras is not None:
        arrays.finish_submission(self.get_job_by_id(answer[1]))
    return answer


# moto's CancelJob of an array parent would terminate it (and here, its running children);
# AWS cancels the children that have not reached STARTING.
def _cancel_job(self: Any, job_id: str, reason: str) -> None:
    array = arrays.led_by(self.get_job_by_id(job_id)) if job_id and reason else None
    if array is None:
        _ORIGINAL_BACKEND["cancel_job"](self, job_id, reason)
        return
    arrays.cancel(array, reason)


# moto lists an array's children among its queue's jobs, lists every child for arrayJobId
# whatever its status, and never pages.
def _list_jobs(self: Any) -> str:
    if current_extras() is None:
        return _ORIGINAL_RESPONSE["listjobs"](self)  # type: ignore[no-any-return]
    backend = self.batch_backend
    array_job_id = self._get_param("arrayJobId")
    if array_job_id:
        page = arrays.list_children(
            backend.get_job_by_id(array_job_id),
            status=self._get_param("jobStatus"),
            max_results=self._get_param("maxResults"),
            next_token=self._get_param("nextToken"),
        )
        return json.dumps(page)
    jobs = backend.list_jobs(
        job_queue_name=self._get_param("jobQueue"),
        array_job_id=None,
        job_status=self._get_param("jobStatus"),
        filters=self._get_param("filters"),
    )
    summaries = [job.describe_short() for job in jobs if arrays.member_of(job) is None]
    return json.dumps({"jobSummaryList": summaries})


# moto's JobDefinition drops consumableResourceProperties: keep them beside it, for the jobs
# (which take these resources unless SubmitJob overrides them) and DescribeJobDefinitions.
def _definition_init(self: Any, *args: Any, **kwargs: Any) -> None:
    _ORIGINAL_DEFINITION["__init__"](self, *args, **kwargs)
    extras = current_extras()
    properties = None if extras is None else extras.request.get("consumableResourceProperties")
    if isinstance(properties, dict):
        setattr(self, consumables.DEFINITION_ATTRIBUTE, copy.deepcopy(properties))


def _definition_description(self: Any) -> dict[str, Any]:
    described: dict[str, Any] = _ORIGINAL_DEFINITION["describe"](self)
    properties = getattr(self, consumables.DEFINITION_ATTRIBUTE, None)
    if properties is not None:
        described["consumableResourceProperties"] = copy.deepcopy(properties)
    return described


_REPLACEMENTS: dict[str, Any] = {
    "__init__": _init,
    "start": _start,
    "terminate": _terminate,
    "status": property(_get_status, _set_status),
    "_container_details": _details,
    "describe": _full_description,
    "describe_short": _short_description,
}
_DEFINITION_REPLACEMENTS: dict[str, Any] = {
    "__init__": _definition_init,
    "describe": _definition_description,
}
_BACKEND_REPLACEMENTS: dict[str, Any] = {"submit_job": _submit_job, "cancel_job": _cancel_job}
_RESPONSE_REPLACEMENTS: dict[str, Any] = {"listjobs": _list_jobs}


def install() -> None:
    """Patch moto's Job, JobDefinition, BatchBackend and BatchResponse, once per process."""
    with _lock:
        if Job.start is not _start:
            for cls, replacements in (
                (Job, _REPLACEMENTS),
                (JobDefinition, _DEFINITION_REPLACEMENTS),
                (BatchBackend, _BACKEND_REPLACEMENTS),
                (BatchResponse, _RESPONSE_REPLACEMENTS),
            ):
                for name, replacement in replacements.items():
                    setattr(cls, name, replacement)
