"""``snakemake-aws-batch``: run a workflow detached, from a coordinator job on AWS Batch.

snakemake-aws-batch run [--queue Q] [--vcpu N] [--memory-mib M] [--job-role ARN] [--wait]
                        -- SNAKEMAKE_ARGS...
snakemake-aws-batch logs JOB_ID [--follow]
snakemake-aws-batch status JOB_ID
snakemake-aws-batch cancel JOB_ID
"""

from __future__ import annotations

import argparse
import collections
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from importlib.metadata import version
from pathlib import Path
from typing import Any

from snakemake_interface_common.exceptions import WorkflowError

from .. import states
from ..aws.boundary import make_clients
from ..aws.objects import ObjectStore
from ..aws.service import BatchService
from ..jobspec import payloads
from ..jobspec.platform import Platform
from ..jobspec.spec import DefinitionSpec
from ..settings import container_options
from ..settings.container_options import ContainerOptions
from ..settings.validation import Origin
from ..tracking import status
from ..tracking.status import DEFAULT_LOG_GROUP, log_location
from . import coordinator, sources

WORKER_QUEUE_TAG = "snakemake-aws-batch-worker-queue"
DEFAULT_VCPU = 1.0
DEFAULT_MEMORY_MIB = 2048
CANCEL_REASON = "Cancelled with snakemake-aws-batch cancel"


class _Say:
    """The commands' logger: warnings to stderr, the rest dropped (the output is the answer)."""

    def warning(self, msg: str) -> None:
        print(f"Warning: {msg}", file=sys.stderr)

    def info(self, msg: str) -> None:
        return

    def debug(self, msg: str) -> None:
        return


def _positive_number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"a positive number, not {text!r}")
    return value


def _positive_integer(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"a positive whole number, not {text!r}")
    return int(text)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="snakemake-aws-batch",
        description="Run a Snakemake workflow detached: one coordinator job on AWS Batch runs "
        "`snakemake --executor aws-batch`, so this machine can go away.",
    )
    top.add_argument("--region", help="AWS region (default: the plugin's, then AWS's chain)")
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = commands.add_parser(
        "run",
        help="pack the workflow's sources and submit its coordinator job",
        description="Run from the workflow's folder. Everything after `--` goes to Snakemake "
        "(--executor aws-batch is added when missing).",
    )
    run.add_argument("--queue", help="the coordinator's queue (default: the job queue setting)")
    run.add_argument("--vcpu", type=_positive_number, default=DEFAULT_VCPU)
    run.add_argument("--memory-mib", type=_positive_integer, default=DEFAULT_MEMORY_MIB)
    run.add_argument(
        "--job-role", help="the coordinator's job role (default: the job role setting)"
    )
    run.add_argument(
        "--exclude", action="append", default=[], metavar="PATTERN",
        help="leave matching files or folders out of the sources (repeatable)",
    )  # fmt: skip
    run.add_argument(
        "--max-sources-mib", type=_positive_integer, default=sources.DEFAULT_MAX_TOTAL_MIB,
        help="refuse sources larger than this",
    )  # fmt: skip
    run.add_argument("--wait", action="store_true", help="follow its log, exit with its code")
    run.add_argument("snakemake_args", nargs=argparse.REMAINDER, metavar="-- SNAKEMAKE_ARGS")
    logs = commands.add_parser("logs", help="print (and follow) a coordinator's log")
    logs.add_argument("job_id")
    logs.add_argument("--follow", "-f", action="store_true")
    status = commands.add_parser("status", help="a coordinator's state and its workers' counts")
    status.add_argument("job_id")
    cancel = commands.add_parser("cancel", help="terminate a coordinator (and so its workers)")
    cancel.add_argument("job_id")
    for command in (run, logs):
        command.add_argument(
            "--poll-seconds", type=_positive_number, default=2.0, help=argparse.SUPPRESS
        )
    return top


@dataclass(frozen=True)
class RunPlan:
    """Everything ``run`` decided before it touches AWS."""

    args: list[str]
    queue: str
    worker_queue: str
    job_role: str
    execution_role: str | None
    prefix: str
    image: str
    assign_public_ip: bool
    storage_endpoint_url: str | None
    log_group: str | None = None  # None: AWS Batch's /aws/batch/job


def plan(options: argparse.Namespace, variables: Mapping[str, str]) -> RunPlan:
    """The coordinator's settings from the options, the plugin's variables and Snakemake's
    arguments, in that order; ``WorkflowError`` for what is missing or wrong."""
    args = list(options.snakemake_args)
    if args[:1] == ["--"]:
        args = args[1:]
    if not args:
        raise WorkflowError("Give Snakemake's arguments after `--` (e.g. -- --jobs 100 ...).")
    args = coordinator.with_executor(args)
    known = coordinator.read_args(args)

    def setting(name: str) -> str | None:
        given = getattr(known, f"aws_batch_{name}")
        return str(given) if given else variables.get(f"SNAKEMAKE_AWS_BATCH_{name.upper()}")

    worker_queue = setting("job_queue")
    if not worker_queue:
        raise WorkflowError(
            "No job queue for the workers: set SNAKEMAKE_AWS_BATCH_JOB_QUEUE or pass "
            "--aws-batch-job-queue after `--`."
        )
    job_role = options.job_role or setting("job_role")
    if not job_role:
        raise WorkflowError(
            "No job role for the coordinator: it reaches AWS with its job role, never with "
            "this machine's credentials. Pass --job-role ARN or set SNAKEMAKE_AWS_BATCH_JOB_ROLE."
        )
    if known.default_storage_provider != "s3" or not known.default_storage_prefix:
        raise WorkflowError(
            "A detached run needs S3 default storage: pass --default-storage-provider s3 "
            "--default-storage-prefix s3://BUCKET/PREFIX after `--` (its sources, logs and "
            "results live there)."
        )
    log_group = setting("log_group")
    if log_group:  # the workers' log group is the coordinator's too
        log_group = container_options.log_group(Origin("--aws-batch-log-group"), log_group)
    from snakemake.common import get_container_image  # noqa: PLC0415 (Snakemake is slow to import)

    return RunPlan(
        args=args,
        queue=options.queue or worker_queue,
        worker_queue=worker_queue,
        job_role=job_role,
        execution_role=setting("execution_role"),
        prefix=known.default_storage_prefix.rstrip("/"),
        image=known.container_image or get_container_image(),
        storage_endpoint_url=known.storage_s3_endpoint_url
        or variables.get("SNAKEMAKE_STORAGE_S3_ENDPOINT_URL"),
        log_group=log_group or None,
        assign_public_ip=known.aws_batch_assign_public_ip
        or variables.get("SNAKEMAKE_AWS_BATCH_ASSIGN_PUBLIC_IP", "").lower()
        in ("1", "true", "yes"),
    )


def check_workflow(args: Sequence[str], folder: Path) -> None:
    """The Snakefile parses with these arguments (``snakemake --list-rules``)."""
    listed = subprocess.run(
        [sys.executable, "-m", "snakemake", *args, "--list-rules"],
        cwd=folder, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if listed.returncode != 0:
        said = "\n".join((listed.stderr or listed.stdout).strip().splitlines()[-15:])
        raise WorkflowError(f"The workflow does not load with these arguments:\n{said}")


def settings_variables() -> frozenset[str]:
    from .. import ExecutorSettings  # noqa: PLC0415 (the package imports the executor)

    return coordinator.setting_variables(f.name for f in fields(ExecutorSettings))


class Commands:
    """The four commands, on one Batch service (and the store, for ``run``)."""

    def __init__(self, region: str | None, out: Callable[[str], None] = print) -> None:
        self.region = region or os.environ.get("SNAKEMAKE_AWS_BATCH_REGION")
        self.service = BatchService(make_clients(region=self.region), _Say())
        self.out = out

    def run(self, options: argparse.Namespace, folder: Path) -> int:
        variables = dict(os.environ)
        run_plan = plan(options, variables)
        for queue in {run_plan.queue, run_plan.worker_queue}:
            self.service.queue(queue)  # exists, and is usable
        if (
            self.service.platform(run_plan.queue) is Platform.FARGATE
            and not run_plan.execution_role
        ):
            raise WorkflowError(
                f"The coordinator's queue {run_plan.queue} runs on Fargate, which needs an "
                "execution role: set SNAKEMAKE_AWS_BATCH_EXECUTION_ROLE or pass "
                "--aws-batch-execution-role after `--`."
            )
        store = ObjectStore(
            _Say(), region=self.service.region, endpoint_url=run_plan.storage_endpoint_url
        )
        store.check_bucket(run_plan.prefix)
        check_workflow(run_plan.args, folder)
        selection = sources.select(folder, options.exclude)
        sources.check_size(selection, options.max_sources_mib)
        for path, size in selection.data:
            _Say().warning(
                f"{path} ({sources.human(size)}) stays behind: larger than a source file may be "
                "(10 MB, as in Snakemake's own source deployment). Keep data in the default "
                "storage."
            )
        url = coordinator.sources_url(run_plan.prefix, uuid.uuid4().hex)
        store.put(url, sources.archive(folder, selection))
        environment = coordinator.environment(
            variables, settings=settings_variables(), logger=_Say()
        )
        job_id = self._submit(options, run_plan, url, environment, folder.name)
        self.out(f"Coordinator job: {job_id}")
        self.out(f"Sources: {len(selection.files)} files, {url}")
        self.out(
            f"Its log: CloudWatch Logs group {run_plan.log_group or DEFAULT_LOG_GROUP}, in a "
            "stream named once it runs (the commands below find it)."
        )
        self.out(f"Follow it: snakemake-aws-batch logs {job_id} --follow")
        self.out(f"Its state: snakemake-aws-batch status {job_id}")
        self.out(f"Cancel it: snakemake-aws-batch cancel {job_id}")
        self.out(
            f"Snakemake's log and run record: {coordinator.results_url(run_plan.prefix, job_id)}"
        )
        if options.wait:
            return self.follow(job_id, options.poll_seconds)
        return 0

    def _submit(
        self,
        options: argparse.Namespace,
        run_plan: RunPlan,
        sources_url: str,
        environment: Mapping[str, str],
        folder_name: str,
    ) -> str:
        spec = DefinitionSpec(
            image=run_plan.image,
            platform=self.service.platform(run_plan.queue),
            job_role=run_plan.job_role,
            execution_role=run_plan.execution_role,
            secrets=(),
            assign_public_ip=run_plan.assign_public_ip,
            ephemeral_storage_gib=None,
            options=ContainerOptions(log_group=run_plan.log_group),
        )
        definition = payloads.job_definition(spec)
        arn = self.service.find_definition(
            definition["jobDefinitionName"]
        ) or self.service.register_definition(definition)
        request = coordinator.submit_request(
            name=coordinator.job_name(folder_name),
            queue=run_plan.queue,
            definition=arn,
            command=coordinator.command(
                sources_url,
                run_plan.prefix,
                run_plan.args,
                version("snakemake-executor-plugin-aws-batch"),
            ),
            environment=environment,
            vcpu=options.vcpu,
            memory_mib=options.memory_mib,
        )
        request["tags"] = {**request["tags"], WORKER_QUEUE_TAG: run_plan.worker_queue}  # type: ignore[dict-item]
        return self.service.submit(request, rule="coordinator")

    def job(self, job_id: str) -> dict[str, Any]:
        found = self.service.describe([job_id])
        if not found:
            raise WorkflowError(f"AWS Batch knows no job {job_id} in region {self.service.region}.")
        return found[0]

    def follow(self, job_id: str, poll_seconds: float, *, forever: bool = True) -> int:
        """Print the job's log as it comes; once the job has ended and its log is read to
        the end, its exit code. CloudWatch Logs can lag behind the job's status and a read
        can fail: the end is a read that finds nothing new, ``poll_seconds`` after one that
        found nothing either (or five failed reads in a row)."""
        token: str | None = None
        quiet_reads = 0  # since the job ended: reads in a row that found nothing new
        while True:
            job = self.job(job_id)
            location = log_location(job)
            lines: list[str] | None = []
            if location is not None:
                lines, token = self.service.log_page(location, token)
            for line in lines or ():
                self.out(line)
            if lines:
                quiet_reads = 0
                continue
            if not forever:
                return 0
            if job["status"] in states.FINISHED:
                quiet_reads += 1
                if (lines is not None and quiet_reads >= 2) or quiet_reads >= 5:
                    reason = f": {job['statusReason']}" if job.get("statusReason") else ""
                    code = exit_code(job)
                    self.out(
                        f"Coordinator {job_id} ended {job['status']}{reason} (exit code {code})."
                    )
                    return code
            time.sleep(poll_seconds)

    def status(self, job_id: str) -> int:
        job = self.job(job_id)
        reason = f" ({job['statusReason']})" if job.get("statusReason") else ""
        self.out(f"Coordinator {job_id} ({job.get('jobName')}): {job['status']}{reason}")
        queue = (job.get("tags") or {}).get(WORKER_QUEUE_TAG)
        if not queue:
            self.out("Its workers: unknown (the job carries no worker queue tag).")
            return 0
        counts = self.worker_counts(job_id, queue, int(job.get("createdAt") or 0))
        self.out(f"Its worker jobs on {queue}:")
        for name in states.STATES:
            self.out(f"  {name:<10} {counts.get(name, 0)}")
        return 0

    def worker_counts(self, job_id: str, queue: str, since_ms: int) -> dict[str, int]:
        """The coordinator's worker jobs by status (an array job counts its children)."""
        counts: collections.Counter[str] = collections.Counter()
        ids = self.service.jobs_created_since(queue, since_ms)
        for start in range(0, len(ids), 100):
            for worker in self.service.describe(ids[start : start + 100]):
                if (worker.get("tags") or {}).get(coordinator.COORDINATOR_TAG) != job_id:
                    continue
                summary = (worker.get("arrayProperties") or {}).get("statusSummary")
                if summary:
                    counts.update({k: int(v) for k, v in summary.items()})
                else:
                    counts[str(worker["status"])] += 1
        return dict(counts)

    def cancel(self, job_id: str) -> int:
        job = self.job(job_id)
        if job["status"] in states.FINISHED:
            self.out(f"Coordinator {job_id} has already ended: {job['status']}.")
            return 0
        self.service.terminate(job_id, CANCEL_REASON)
        self.out(
            f"Terminating coordinator {job_id}: its Snakemake gets SIGTERM and terminates "
            "every worker job it submitted."
        )
        return 0


def exit_code(job: Mapping[str, Any]) -> int:
    """The coordinator's exit code, for this command's own: 1 for a failure without one."""
    code = status.exit_code(job)
    if code is not None:
        return code
    return 0 if status.outcome(job) is status.Outcome.SUCCEEDED else 1


def main(argv: Sequence[str] | None = None) -> int:
    options = parser().parse_args(argv)
    try:
        commands = Commands(options.region)
        if options.command == "run":
            return commands.run(options, Path.cwd())
        if options.command == "logs":
            return commands.follow(options.job_id, options.poll_seconds, forever=options.follow)
        if options.command == "status":
            return commands.status(options.job_id)
        return commands.cancel(options.job_id)
    except WorkflowError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
