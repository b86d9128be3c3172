"""The Executor: coordinates submission, status and cancellation; holds no AWS details."""

from __future__ import annotations

import functools
import signal
import threading
from collections.abc import AsyncGenerator, Iterable
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction

from snakemake_interface_common.exceptions import WorkflowError
from snakemake_interface_executor_plugins.executors.base import SubmittedJobInfo
from snakemake_interface_executor_plugins.executors.remote import RemoteExecutor
from snakemake_interface_executor_plugins.jobs import JobExecutorInterface

from . import aws, requests, spec
from .batch import MARKER_VARIABLE, BatchService
from .definitions import DefinitionRegistry
from .environment import job_environment
from .platform import Request, fit, format_vcpu
from .rules import static_resources
from .status import Outcome
from .submission import Submitter, Tracked, new_marker
from .watcher import Watcher

TERMINATE_REASON = "Terminated by Snakemake: the workflow was cancelled."
CANCEL_WORKERS = 16
# Resources read from each job: the plugin's own and Snakemake's standard ones.
JOB_RESOURCES = (*spec.PARSERS, *spec.ALIASES, "mem_mb", "gpu", "runtime", "disk_mb")


class Executor(RemoteExecutor):  # type: ignore[misc]
    def __post_init__(self) -> None:
        try:
            self._start()
        except WorkflowError as exc:
            # Shown without the plugin's internal call stack: the message says it all.
            raise WorkflowError(str(exc)) from None

    def _start(self) -> None:
        settings = self.workflow.executor_settings
        self.config = spec.global_config(
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
        )
        self.service = BatchService(aws.make_clients(region=settings.region), self.logger)
        self.definitions = DefinitionRegistry(
            build=requests.job_definition,
            lookup=self.service.find_definition,
            register=self.service.register_definition,
        )
        self.environment = job_environment(
            self.envvars(),
            storage_variables=self._storage_variables(),
            forward_storage_credentials=settings.forward_storage_credentials,
            logger=self.logger,
        )
        self.submitter = Submitter(
            send=self.service.submit, resolve=self._definition_arn, rate=settings.submit_rate
        )
        self.watcher = Watcher(
            self.service,
            self.logger,
            runnable_warning_after=settings.runnable_warning,
            missing_grace=settings.missing_job_grace,
        )
        self.live: dict[str, Tracked] = {}  # by marker; every job not yet finished
        self.warned: set[str] = set()
        self._sigterm_taken = False
        self.check_rules()

    # Start-up ----------------------------------------------------------------
    def check_rules(self) -> None:
        """Check every value that is not a function of wildcards before anything runs."""
        self.service.platform(self.config.default_queue)  # the queue exists, once
        for rule in getattr(self.workflow, "rules", ()):
            raw = static_resources(rule)
            values = spec.read_values(rule.name, raw)
            spec.check_rule(rule.name, values, self.config)
            if spec.VCPU in values or spec.GPU in values or spec.JOB_QUEUE in values:
                queue = values.get(spec.JOB_QUEUE, self.config.default_queue)
                platform = self.service.platform(queue)
                if spec.VCPU in values or spec.GPU in values:
                    # Memory and threads may depend on the job; what is known is checked.
                    request = Request(
                        vcpu=values.get(spec.VCPU, Fraction(1)),
                        memory_mib=values.get(spec.MEM_MB, spec.DEFAULT_MEMORY_MIB),
                        gpu=values.get(spec.GPU, 0),
                        vcpu_explicit=spec.VCPU in values,
                        memory_explicit=spec.MEM_MB in values,
                    )
                    fit(platform, request, rule.name)

    def _storage_variables(self) -> set[str]:
        factory = self.workflow.spawned_job_args_factory
        getter = getattr(factory, "get_storage_provider_envvars", None)
        return set(getter()) if getter is not None else set()

    def _definition_arn(self, definition: spec.DefinitionSpec | str) -> str:
        if isinstance(definition, str):
            return definition
        return self.definitions.arn(definition)

    # Submission ----------------------------------------------------------------
    def run_job(self, job: JobExecutorInterface) -> None:
        self._cancel_on_sigterm()
        rule = job.name
        try:
            job_spec = spec.build(
                rule=rule,
                raw={name: job.resources.get(name) for name in JOB_RESOURCES},
                threads=job.threads,
                config=self.config,
                platform_of=self.service.platform,
            )
            marker = new_marker()
            request = requests.submit_job(
                job_spec,
                job_definition=self._definition_label(job_spec.definition),
                command=self.format_job_exec(job),
                environment={**self.environment, MARKER_VARIABLE: marker},
            )
        except WorkflowError as exc:
            self.report_job_error(SubmittedJobInfo(job), msg=str(exc))
            return
        for note in job_spec.notes:
            self.logger.debug(note)
        for warning in job_spec.warnings:
            self._warn_once(warning)
        resources = job_spec.resources
        summary = f"{format_vcpu(resources.vcpu)} vCPU, {resources.memory_mib} MiB" + (
            f", {resources.gpu} GPU" if resources.gpu else ""
        )
        tracked = Tracked(
            job_spec.name, rule, job_spec.queue, summary, marker, float(resources.vcpu)
        )
        self.live[marker] = tracked
        self.report_job_submission(SubmittedJobInfo(job, aux={"tracked": tracked}))
        self.logger.info(
            f"Submitting AWS Batch job {job_spec.name} to {job_spec.queue} ({summary})."
        )
        self.submitter.submit(tracked, request, job_spec.definition)

    @staticmethod
    @functools.lru_cache(maxsize=256)
    def _definition_label(definition: spec.DefinitionSpec | str) -> str:
        """The name a job's request carries until the submitter swaps in the ARN."""
        if isinstance(definition, str):
            return definition
        return str(requests.job_definition(definition)["jobDefinitionName"])

    def _cancel_on_sigterm(self) -> None:
        """Make SIGTERM cancel like Ctrl-C does: terminate the jobs, then stop.

        Snakemake's own SIGTERM handler waits for running jobs to finish, which on
        AWS Batch can mean hours of paid compute after the user asked to stop. It is
        installed after this executor is created, so it is replaced at the first job.
        """
        if self._sigterm_taken or threading.current_thread() is not threading.main_thread():
            return
        self._sigterm_taken = True

        def on_sigterm(signum: int, frame: object) -> None:
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
        pending = {info.aux["tracked"].marker: info for info in active_jobs}
        tracked = [info.aux["tracked"] for info in active_jobs]
        try:
            async for job, verdict in self.watcher.round(tracked, lambda: self.status_rate_limiter):
                info = pending.pop(job.marker)
                info.external_jobid = job.batch_id
                if verdict.outcome is Outcome.RUNNING:
                    yield info
                else:
                    self._report(info, job, verdict.outcome, verdict.message)
        except Exception as exc:
            # An escaping exception would stop Snakemake's status loop for good. A job
            # whose status could not be read because of a fault in this plugin is
            # reported as failed, never silently kept as running.
            message = f"Internal error of the aws-batch executor while checking status: {exc!r}\n"
            self.logger.error(message)
            for info in pending.values():
                self._report(info, info.aux["tracked"], Outcome.FAILED, message)

    def _report(
        self, info: SubmittedJobInfo, job: Tracked, result: Outcome, message: str | None
    ) -> None:
        self._finish(job)
        if result is Outcome.SUCCEEDED:
            self.report_job_success(info)
        else:
            self.report_job_error(info, msg=message)

    def _finish(self, tracked: Tracked) -> None:
        tracked.finished = True
        self.live.pop(tracked.marker, None)

    def _warn_once(self, message: str) -> None:
        if message not in self.warned:
            self.warned.add(message)
            self.logger.warning(message)

    def shutdown(self) -> None:
        super().shutdown()
        self.submitter.stop(timeout=60)

    # Cancellation ------------------------------------------------------------------
    def cancel_jobs(self, active_jobs: list[SubmittedJobInfo]) -> None:
        """Terminate every job that was submitted and has not finished, concurrently."""
        idle = self.submitter.stop(timeout=15)
        everything = self._unfinished(active_jobs)
        if not idle:
            under_way = [t.name for t in everything if t.batch_id is None and t.error is None]
            if under_way:
                self.logger.warning(
                    "These SubmitJob requests were still under way and may yet create jobs; "
                    "check the queue for them: " + ", ".join(under_way)
                )
        unfinished = [t for t in everything if t.batch_id is not None]
        if not unfinished:
            return
        self.logger.info(f"Terminating {len(unfinished)} AWS Batch job(s)...")
        failed = []
        with ThreadPoolExecutor(
            max_workers=CANCEL_WORKERS, thread_name_prefix="aws-batch-cancel"
        ) as pool:
            futures = {
                pool.submit(self.service.terminate, str(t.batch_id), TERMINATE_REASON): t
                for t in unfinished
            }
            for future, tracked in futures.items():
                try:
                    future.result()
                except (aws.AwsError, WorkflowError) as exc:
                    failed.append(f"{tracked.name} ({tracked.batch_id}): {exc}")
        if failed:
            self.logger.error(
                "These AWS Batch jobs could not be terminated; stop them in the AWS console or "
                "with 'aws batch terminate-job':\n  " + "\n  ".join(failed)
            )

    def _unfinished(self, active_jobs: Iterable[SubmittedJobInfo]) -> list[Tracked]:
        seen: dict[str, Tracked] = dict(self.live)
        for info in active_jobs:
            tracked = (info.aux or {}).get("tracked")
            if isinstance(tracked, Tracked) and not tracked.finished:
                seen[tracked.marker] = tracked
        return list(seen.values())
