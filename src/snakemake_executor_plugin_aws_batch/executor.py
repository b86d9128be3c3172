"""The Executor: coordinates submission, status and cancellation; holds no AWS details."""

from __future__ import annotations

import dataclasses
import os
import signal
import threading
import time
import uuid
from collections.abc import AsyncGenerator, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from snakemake_interface_common.exceptions import WorkflowError
from snakemake_interface_executor_plugins.executors.base import SubmittedJobInfo
from snakemake_interface_executor_plugins.executors.remote import RemoteExecutor
from snakemake_interface_executor_plugins.jobs import JobExecutorInterface

from .aws import boundary
from .aws.boundary import BatchError
from .aws.service import BatchService
from .jobspec import payloads, spec
from .jobspec.environment import job_environment
from .jobspec.platform import Platform
from .record.rows import (
    CANCELLED,
    NOT_SUBMITTED,
    first_line,
    row_for,
    status_without_description,
)
from .record.run_record import finish, open_run_record, record_base
from .record.summary import summary_table
from .resume import earlier_runs, identity
from .resume.takeover import Takeover
from .settings import configuration
from .settings.resources import JOB_RESOURCES
from .submission import arrays
from .submission.definitions import DefinitionRegistry
from .submission.submitter import Submitter
from .tracking.jobs import ArrayJob, JobBook, JobRecord
from .tracking.round import Verdict, Watcher
from .tracking.status import Outcome, host_reclaimed


@dataclass(frozen=True, slots=True)
class Prepared:
    """A job ready to hand over: its spec and its command."""

    job: JobExecutorInterface
    spec: spec.JobSpec
    command: str
    group: str  # what it shares with the jobs of its array (arrays.group_key)
    environment: dict[str, str]  # the run's, with what a later run recognises it by


def _wildcards(job: JobExecutorInterface) -> str:
    """`` (name=value, ...)`` for the log line, or nothing for a job without wildcards."""
    values = getattr(job, "wildcards_dict", None) or {}
    return f" ({', '.join(f'{k}={v}' for k, v in values.items())})" if values else ""


def snakemake_retries_left(job: JobExecutorInterface) -> bool:
    """Whether Snakemake runs a failed job again itself (``--retries``, a rule's
    ``retries``): its scheduler does so while the attempts so far are fewer than the job's
    restart times plus one."""
    restart_times = getattr(job, "restart_times", 0)
    return isinstance(restart_times, int) and restart_times > job.attempt - 1


def _to_terminate(records: list[JobRecord]) -> list[tuple[str, str]]:
    """Name and id of each job to terminate: an array once, for all its children."""
    wanted: dict[str, str] = {}
    for record in records:
        if record.array is not None and record.array.batch_id is not None:
            wanted[record.array.batch_id] = record.array.name
        elif record.batch_id is not None:
            wanted[record.batch_id] = record.name
    return [(name, batch_id) for batch_id, name in wanted.items()]


TERMINATE_REASON = "Terminated by Snakemake: the workflow was cancelled."
CANCEL_WORKERS = 16


class Executor(RemoteExecutor):  # type: ignore[misc]
    def __post_init__(self) -> None:
        try:
            self._start()
        except WorkflowError as exc:
            # Shown without the plugin's internal call stack: the message says it all.
            raise WorkflowError(str(exc)) from None

    def _start(self) -> None:
        settings = self.workflow.executor_settings
        self.config = configuration.global_config(
            job_queue=settings.job_queue,
            image=self.workflow.remote_execution_settings.container_image,
            job_role=settings.job_role,
            execution_role=settings.execution_role,
            task_timeout=settings.task_timeout,
            tags=settings.tags,
            secrets=settings.secrets,
            scheduling_priority=settings.scheduling_priority,
            share_identifier=settings.share_identifier,
            job_definition=settings.job_definition,
            assign_public_ip=settings.assign_public_ip,
            submit_rate=settings.submit_rate,
            runnable_warning=settings.runnable_warning,
            missing_job_grace=settings.missing_job_grace,
            array_min_size=settings.array_min_size,
            spot_retries=settings.spot_retries,
            volumes=settings.volumes,
            log_group=settings.log_group,
            fargate_platform_version=settings.fargate_platform_version,
        )
        self.service = BatchService(boundary.make_clients(region=settings.region), self.logger)
        self.config = dataclasses.replace(self.config, region=self.service.region)
        self.definitions = DefinitionRegistry(
            lookup=self.service.find_definition, register=self.service.register_definition
        )
        self.environment = job_environment(
            self.envvars(),
            storage_variables=self._storage_variables(),
            forward_storage_credentials=settings.forward_storage_credentials,
            logger=self.logger,
        )
        self.workflow_id = identity.workflow_id(
            storage_prefix=self._storage_prefix(),
            workdir=os.getcwd(),
            snakefile=str(self.workflow.main_snakefile),
        )
        self.submitter = Submitter(
            service=self.service, definitions=self.definitions, rate=self.config.submit_rate
        )
        self.watcher = Watcher(
            self.service,
            self.logger,
            runnable_warning_after=self.config.runnable_warning,
            missing_grace=self.config.missing_job_grace,
        )
        self.jobs = JobBook()
        self.clock: Callable[[], float] = time.monotonic
        self._recorded = False
        self._cancelled = False
        self.resubmitted = 0  # jobs submitted again after their EC2 host was reclaimed
        self._sources_digest: str | None = None
        self.warned: set[str] = set()
        self._sigterm_taken = False
        queues: set[str] = set()  # every queue the workflow's jobs may go to

        def platform_of(queue: str) -> Platform:
            queues.add(queue)
            return self.service.platform(queue)

        spec.check_rules(
            self._submitted_rules(),
            self.config,
            platform_of,
            self.service.check_definition,
            max_threads=self._max_threads(),
            architectures_of=self.service.architectures,
        )
        window = earlier_runs.window(record_base(settings.run_record), self.workflow_id)
        # Made once the checks have passed: a run refused at start leaves no record.
        self.record = open_run_record(
            settings.run_record, self.logger.warning, workflow=self.workflow_id
        )
        self.takeover = Takeover(self.service, self.logger, cancel=not settings.keep_unmatched)
        if not settings.no_resume:
            self.takeover.find(workflow=self.workflow_id, queues=queues, window=window)

    def _submitted_rules(self) -> list[Any]:
        """The rules whose jobs may come here: not local rules, nor rules that run nothing."""
        is_local = getattr(self.workflow, "is_local", None)
        rules = getattr(self.workflow, "rules", ())
        return [rule for rule in rules if not (callable(is_local) and is_local(rule))]

    def _max_threads(self) -> int | None:
        """The most threads Snakemake gives a job (``--max-threads``), if it caps them."""
        settings = getattr(self.workflow, "resource_settings", None)
        limit = getattr(settings, "max_threads", None)
        return limit if isinstance(limit, int) and limit > 0 else None

    def _storage_prefix(self) -> str | None:
        """The default storage prefix, when the workflow's outputs go to a storage."""
        storage = self.workflow.storage_settings
        if getattr(storage, "default_storage_provider", None) is None:
            return None
        prefix = getattr(storage, "default_storage_prefix", None)
        return str(prefix) if prefix else None

    def _storage_variables(self) -> set[str]:
        factory = self.workflow.spawned_job_args_factory
        getter = getattr(factory, "get_storage_provider_envvars", None)
        return set(getter()) if getter is not None else set()

    # Submission ----------------------------------------------------------------
    def run_jobs(self, jobs: list[JobExecutorInterface]) -> None:
        """Submit one scheduling round: jobs of a rule that share all but their command
        go as array jobs (see :mod:`.arrays`), the others one by one."""
        min_size = self.config.array_min_size
        if min_size == 0 or len(jobs) < max(min_size, arrays.MIN_SIZE):
            super().run_jobs(jobs)  # each job handed over as soon as it is ready
            return
        self._cancel_on_sigterm()
        gathering: arrays.Gathering[Prepared] = arrays.Gathering(min_size, started=self.clock())
        for job in jobs:
            self.run_job_pre(job)
            ready = self._prepare(job)
            if ready is None or self._adopt(ready):
                continue
            key = self._group_key(ready)
            if key is None:
                self._hand_over(ready)
                continue
            # A long round sends its first arrays while the rest are being prepared.
            for group in gathering.add(key, ready, self.clock()):
                self._hand_over_arrays(group)
        grouped, alone = gathering.rest()
        for ready in alone:
            self._hand_over(ready)
        for group in grouped:
            self._hand_over_arrays(group)

    def run_job(self, job: JobExecutorInterface) -> None:
        self._cancel_on_sigterm()
        ready = self._prepare(job)
        if ready is not None:
            self._hand_over(ready)

    def _prepare(self, job: JobExecutorInterface) -> Prepared | None:
        """The job's spec and command; a refused value is reported as the job's error."""
        try:
            job_spec = spec.build(
                rule=job.name,
                raw={name: job.resources.get(name) for name in JOB_RESOURCES},
                threads=job.threads,
                config=self.config,
                platform_of=self.service.platform,
                architectures_of=self.service.architectures,
            )
            command = self.format_job_exec(job)
        except WorkflowError as exc:
            refused = object()
            self.record.started(refused, row_for(job, status=NOT_SUBMITTED))
            self.record.finished(refused, status_reason=first_line(str(exc)))
            # Ended by a newline: Snakemake's own sentence follows the message.
            self.report_job_error(SubmittedJobInfo(job), msg=str(exc).rstrip("\n") + "\n")
            return None
        for note in job_spec.notes:
            self.logger.debug(note)
        for warning in job_spec.warnings:
            self._warn_once(warning)
        request = self._request(job_spec, self.environment)
        marks = identity.variables(
            self.workflow_id,
            identity.fingerprint(request, rule=job_spec.rule, sources=self._sources()),
        )
        group = arrays.group_key(request, rule=job_spec.rule, attempt=job.attempt)
        return Prepared(job, job_spec, command, group, {**self.environment, **marks})

    def _sources(self) -> str:
        """The digest of the workflow's sources (see :func:`.identity.sources_digest`),
        read once, when the first job is prepared: the DAG names them."""
        if self._sources_digest is None:
            try:
                paths = [str(p) for p in self.workflow.dag.get_sources()]
            except Exception:  # no DAG to ask: a digest no other run has
                paths = [f"/unknown/{uuid.uuid4()}"]
            self._sources_digest = identity.sources_digest(paths)
        return self._sources_digest

    def _group_key(self, ready: Prepared) -> str | None:
        """What the job shares with the others of its array; None: it goes alone."""
        if ready.job.is_group() or ready.spec.named:
            return None
        return ready.group

    def _request(self, job_spec: spec.JobSpec, environment: Mapping[str, str]) -> dict[str, Any]:
        """The job's request as far as it is known here: no command yet, its definition
        not yet an ARN."""
        return payloads.submit_job(
            job_spec,
            job_definition=repr(job_spec.definition),
            command="",
            environment=environment,
            array_size=arrays.MAX_SIZE,
        )

    def _register(self, ready: Prepared, record: JobRecord, **values: object) -> None:
        """Make ``record`` the job's: kept until it finishes, in the run record, reported."""
        self.jobs.add(record)
        self.record.started(record, row_for(ready.job, record_of=record, **values))
        self.report_job_submission(SubmittedJobInfo(ready.job, aux={"record": record}))

    def _adopt(self, ready: Prepared) -> bool:
        """Whether the job takes over a job of an earlier run (see :mod:`.resume`)."""
        found = self.takeover.claim(ready.command, ready.environment[identity.REQUEST_VARIABLE])
        if found is None:
            return False
        job_spec = ready.spec
        record = JobRecord(found.name, job_spec.rule, job_spec.queue, job_spec.resources)
        record.submitted(found.batch_id)
        self._register(ready, record, batch_job_id=found.batch_id, adopted=found.status)
        return True

    def _hand_over(self, ready: Prepared) -> None:
        if self._adopt(ready):
            return
        job_spec = ready.spec
        record = JobRecord(job_spec.name, job_spec.rule, job_spec.queue, job_spec.resources)
        self._register(ready, record)
        self.logger.info(
            f"Submitting AWS Batch job {record.name} to {record.queue} "
            f"({record.resources.describe()})."
        )
        self.submitter.submit(
            record, job_spec, command=ready.command, environment=ready.environment
        )

    def _hand_over_arrays(self, group: list[Prepared]) -> None:
        """Submit a group as arrays, as many as its commands need to fit AWS's limits."""
        parts = arrays.split([ready.command for ready in group])
        budget = arrays.script_budget(self._request(group[0].spec, group[0].environment))
        for start, stop in arrays.chunks(parts, budget):
            if stop - start == 1:
                self._hand_over(group[start])
                continue
            members = group[start:stop]
            first = members[0].spec
            array = ArrayJob(first.name, first.rule, first.queue, first.resources, children=[])
            for index, ready in enumerate(members):
                record = JobRecord(
                    array.name, first.rule, first.queue, first.resources, array=array, index=index
                )
                array.children.append(record)
                self._register(ready, record)
                self.logger.info(
                    f"Submitting AWS Batch job {array.name} [index {index}]"
                    f"{_wildcards(ready.job)} to {array.queue} ({array.resources.describe()})."
                )
            self.submitter.submit(
                array,
                first,
                command=arrays.script(parts, start, stop),
                environment=members[0].environment,  # the same for all: one group
                array_size=array.size,
            )

    def _cancel_on_sigterm(self) -> None:
        """Make SIGTERM cancel like Ctrl-C does: terminate the jobs, then stop.

        Snakemake's own SIGTERM handler waits for running jobs to finish, which on
        AWS Batch can mean hours of paid compute after the user asked to stop. It is
        installed after this executor is created, so it is replaced at the first job.
        """
        if self._sigterm_taken or threading.current_thread() is not threading.main_thread():
            return
        self._sigterm_taken = True

        stopping = threading.Event()

        def on_sigterm(signum: int, frame: object) -> None:
            # Once: a second SIGTERM (e.g. sent to the whole process group and passed on
            # by a parent too) must not interrupt the termination the first one started.
            if stopping.is_set():
                return
            stopping.set()
            self.logger.info("SIGTERM: terminating this workflow's AWS Batch jobs.")
            raise KeyboardInterrupt

        signal.signal(signal.SIGTERM, on_sigterm)

    def additional_general_args(self) -> str:
        return ""

    # Status ---------------------------------------------------------------------
    async def check_active_jobs(
        self, active_jobs: list[SubmittedJobInfo]
    ) -> AsyncGenerator[SubmittedJobInfo, None]:
        # Snakemake starts this loop before __post_init__ has run: nothing to check then.
        if not active_jobs:
            return
        pending = {id(info.aux["record"]): info for info in active_jobs}
        records = [info.aux["record"] for info in active_jobs]
        try:
            async for record, verdict in self.watcher.round(
                records, lambda: self.status_rate_limiter
            ):
                info = pending.pop(id(record))
                info.external_jobid = record.batch_id
                if verdict.outcome is Outcome.RUNNING:
                    yield info
                elif self._resubmitted(info, record, verdict):
                    if info.aux["record"] is not record:  # submitted again: still running
                        yield info
                else:
                    self._report(info, record, verdict.outcome, verdict.message, verdict.job)
        except Exception as exc:
            # An escaping exception would stop Snakemake's status loop for good. A job
            # whose status could not be read because of a fault in this plugin is
            # reported as failed, never silently kept as running.
            message = f"Internal error of the aws-batch executor while checking status: {exc!r}\n"
            self.logger.error(message)
            for info in pending.values():
                self._report(info, info.aux["record"], Outcome.FAILED, message)

    def _resubmitted(self, info: SubmittedJobInfo, record: JobRecord, verdict: Verdict) -> bool:
        """Whether a job whose EC2 host was reclaimed is taken care of here: submitted
        again (the plugin's retry, ``--aws-batch-spot-retries``), or refused this time
        and reported so. Only when Snakemake has no retry of its own left for it, which
        would run it again anyway."""
        job = verdict.job
        if (
            job is None
            or not host_reclaimed(job)
            or record.reclaims >= self.config.spot_retries
            or snakemake_retries_left(info.job)
        ):
            return False
        self.jobs.finish(record)
        self.record.finished(record, job, batch_job_id=record.batch_id)
        ready = self._prepare(info.job)
        if ready is None:
            return True  # refused this time: reported as the job's error already
        job_spec = ready.spec
        again = JobRecord(job_spec.name, job_spec.rule, job_spec.queue, job_spec.resources)
        again.reclaims = record.reclaims + 1
        self.resubmitted += 1
        self.jobs.add(again)
        self.record.started(again, row_for(info.job, record_of=again, retry_of=record.batch_id))
        info.aux["record"] = again
        self.logger.warning(
            f"AWS Batch job {record.batch_id} ({record.name}) lost its EC2 host "
            f"({first_line(str(job.get('statusReason') or ''))}); submitting it again as "
            f"{again.name} ({again.reclaims} of {self.config.spot_retries}, "
            "--aws-batch-spot-retries)."
        )
        self.submitter.submit(again, job_spec, command=ready.command, environment=ready.environment)
        return True

    def _report(
        self,
        info: SubmittedJobInfo,
        record: JobRecord,
        result: Outcome,
        message: str | None,
        job: Mapping[str, Any] | None = None,
    ) -> None:
        self.jobs.finish(record)
        self.record.finished(
            record,
            job,
            batch_job_id=record.batch_id,
            **status_without_description(record, result, message, job),
        )
        if result is Outcome.SUCCEEDED:
            self.report_job_success(info)
        else:
            self.report_job_error(info, msg=message)

    def _warn_once(self, message: str) -> None:
        if message not in self.warned:
            self.warned.add(message)
            self.logger.warning(message)

    def shutdown(self) -> None:
        super().shutdown()
        self.submitter.stop(timeout=60)
        if getattr(self, "takeover", None) is not None:
            self.takeover.finish()
        self._write_record()

    def _write_record(self) -> None:
        """Complete and write the run record, once, and say where it is."""
        if self._recorded or getattr(self, "record", None) is None:
            return  # written already, or the run was refused at start
        self._recorded = True
        title = f"Snakemake on AWS Batch, {self.record.folder.name}"
        # After Ctrl-C, what is known is written at once: no more AWS calls.
        describe = self.service.describe if not self._cancelled else None
        try:
            summary = finish(
                self.record,
                describe,
                title=title,
                extra={
                    "resume": self.takeover.counts(),
                    "host_reclaimed": {"submitted_again": self.resubmitted},
                },
            )
        except OSError as exc:
            self.logger.warning(f"The run record in {self.record.folder} cannot be written: {exc}")
            return
        if summary["total"]["jobs"]:
            self.logger.info(
                "AWS Batch usage:\n" + "\n".join(f"  {line}" for line in summary_table(summary))
            )
        self.logger.info(
            f"AWS Batch run record: {self.record.folder} (jobs.tsv, summary.json, timeline.html)"
        )

    # Cancellation ------------------------------------------------------------------
    def cancel_jobs(self, active_jobs: list[SubmittedJobInfo]) -> None:
        """Terminate every job that was submitted and has not finished, concurrently."""
        idle = self.submitter.stop(timeout=15)
        everything = self.jobs.unfinished()
        if not idle:
            under_way = {r.name for r in everything if r.batch_id is None and r.error is None}
            if under_way:
                self.logger.warning(
                    "These SubmitJob requests were still under way and may yet create jobs; "
                    "check the queue for them: " + ", ".join(sorted(under_way))
                )
        for job in everything:
            status = NOT_SUBMITTED if job.error is not None else CANCELLED
            self.record.finished(job, batch_job_id=job.batch_id, status=status)
        self._cancelled = True
        unfinished = _to_terminate(everything)
        if not unfinished:
            return
        self.logger.info(f"Terminating {len(unfinished)} AWS Batch job(s)...")
        failed = []
        with ThreadPoolExecutor(
            max_workers=CANCEL_WORKERS, thread_name_prefix="aws-batch-cancel"
        ) as pool:
            futures = {
                pool.submit(self.service.terminate, batch_id, TERMINATE_REASON): (name, batch_id)
                for name, batch_id in unfinished
            }
            for future, (name, batch_id) in futures.items():
                try:
                    future.result()
                except BatchError as exc:
                    failed.append(f"{name} ({batch_id}): {exc}")
        if failed:
            self.logger.error(
                "These AWS Batch jobs could not be terminated; stop them in the AWS console or "
                "with 'aws batch terminate-job':\n  " + "\n  ".join(failed)
            )
