"""Snakemake executor plugin for AWS Batch: ``snakemake --executor aws-batch``."""

from dataclasses import dataclass, field
from typing import Any, Optional

from snakemake_interface_executor_plugins.settings import (
    CommonSettings,
    ExecutorSettingsBase,
)

from .executor import Executor

__all__ = ["Executor", "ExecutorSettings", "common_settings"]


def _setting(default: object, help_text: str, *, required: bool = False) -> Any:
    """A setting's field; its help ends with its default, or says that it is required."""
    if required:
        shown = "Required."
    elif isinstance(default, bool):
        shown = f"Default: {'on' if default else 'off'}."
    elif default is None:
        shown = "Default: unset."
    else:
        shown = f"Default: {default}."
    metadata = {"help": f"{help_text} {shown}", "env_var": True, "required": required}
    return field(default=default, metadata=metadata)


@dataclass
class ExecutorSettings(ExecutorSettingsBase):  # type: ignore[misc]
    """Every setting is ``--aws-batch-NAME`` and ``SNAKEMAKE_AWS_BATCH_NAME``.

    Snakemake reads these annotations at run time and accepts only plain types
    and ``typing.Optional``, hence no ``X | None`` here.
    """

    region: Optional[str] = _setting(
        None,
        "AWS region of the Batch queue. Unset: the standard AWS region chain "
        "(AWS_REGION, AWS_DEFAULT_REGION, the AWS config file).",
    )
    job_queue: Optional[str] = _setting(
        None,
        "Name or ARN of the AWS Batch job queue jobs go to (a rule can pick "
        "another with the aws_batch_job_queue resource).",
        required=True,
    )
    job_role: Optional[str] = _setting(
        None,
        "ARN of the IAM role the job's container uses to reach AWS "
        "(e.g. S3 for Snakemake's storage).",
    )
    execution_role: Optional[str] = _setting(
        None,
        "ARN of the IAM execution role that pulls images, fetches secrets and "
        "writes logs. Required for Fargate and for secrets.",
    )
    task_timeout: int = _setting(
        300,
        "Default time limit of one job attempt, in seconds (at least 60). "
        "A rule's aws_batch_timeout or runtime takes precedence.",
    )
    tags: Optional[str] = _setting(
        None,
        "Tags for every job, as key=value,key2=value2 (at most 50; keys may "
        "not start with 'aws:'). Propagated to the ECS task.",
    )
    secrets: Optional[str] = _setting(
        None,
        "Secrets for every job, as a JSON array of "
        '{"name": ENV_VAR, "valueFrom": SECRET_OR_PARAMETER_ARN}. '
        "Needs --aws-batch-execution-role.",
    )
    scheduling_priority: Optional[int] = _setting(
        None,
        "Scheduling priority of every job (0-9999) on queues with a fair-share scheduling policy.",
    )
    share_identifier: Optional[str] = _setting(
        None, "Share identifier of every job, for queues with a fair-share scheduling policy."
    )
    job_definition: Optional[str] = _setting(
        None,
        "Name or ARN of an existing job definition to run every job on, through "
        "overrides only (no job definition is registered).",
    )
    assign_public_ip: bool = _setting(
        False,
        "Give Fargate jobs a public IP address (needed in a public subnet "
        "without a NAT gateway to pull images).",
    )
    forward_storage_credentials: bool = _setting(
        False,
        "Pass storage plugin credentials (keys, tokens) to jobs as plain "
        "environment variables. Off by default: jobs should reach storage "
        "through --aws-batch-job-role instead.",
    )
    submit_rate: float = _setting(
        50.0, "Largest number of SubmitJob calls per second (AWS allows 50 per account)."
    )
    runnable_warning: int = _setting(
        900,
        "Warn when a job has been RUNNABLE for this many seconds (it may not fit "
        "any compute environment of its queue).",
    )
    missing_job_grace: int = _setting(
        120, "Report a job as failed when AWS Batch has not known its id for this many seconds."
    )
    volumes: Optional[str] = _setting(
        None,
        "Volumes for every job, as a JSON array of "
        '{"name", "containerPath", "readOnly", and "hostPath" (EC2) or "efs": '
        '{"fileSystemId", "rootDirectory", "accessPointId", "transitEncryption", "iam"}}; '
        "a rule's aws_batch_volumes entry of the same name wins.",
    )
    log_group: Optional[str] = _setting(
        None,
        "CloudWatch Logs group of the jobs' logs (awslogs driver, stream prefix "
        "'snakemake'). Unset: AWS Batch's /aws/batch/job.",
    )
    fargate_platform_version: str = _setting(
        "LATEST", "Fargate platform version of Fargate jobs, e.g. 1.4.0."
    )
    run_record: Optional[str] = _setting(
        None,
        "Folder under which each run writes its record (jobs.tsv, summary.json, "
        "timeline.html) in a subfolder named after its start time. Unset: "
        ".snakemake/aws-batch in the working directory.",
    )
    spot_retries: int = _setting(
        2,
        "Submit a job again, up to this many times (0 to 10), when it failed because its "
        "EC2 host was terminated (a Spot reclaim: 'Host EC2 (instance ...) terminated.') and "
        "Snakemake has no retry of its own left for it (--retries).",
    )
    no_resume: bool = _setting(
        False,
        "Submit every job, never taking over the AWS Batch jobs of an earlier run of this "
        "workflow. By default a job takes over the earlier run's job that runs its command "
        "with the same request, if it is still live or succeeded while no run watched it.",
    )
    keep_unmatched: bool = _setting(
        False,
        "Leave running the earlier run's live jobs that no job of this run took over. By "
        "default they are terminated at the end of the run.",
    )
    array_min_size: int = _setting(
        10,
        "Submit the ready jobs of one rule that differ only in their command as one "
        "array job when there are at least this many (2 to 10000); 0 submits every "
        "job alone.",
    )


common_settings = CommonSettings(
    non_local_exec=True,
    implies_no_shared_fs=True,
    job_deploy_sources=True,
    pass_default_storage_provider_args=True,
    pass_default_resources_args=True,
    # Environment variables travel in containerOverrides.environment, filtered,
    # never spelled out in the job's command line.
    pass_envvar_declarations_to_cmd=False,
    auto_deploy_default_storage_provider=True,
    init_seconds_before_status_checks=0,
)
