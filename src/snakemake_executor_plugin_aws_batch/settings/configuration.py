"""The executor settings, validated once into a :class:`GlobalConfig`. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from snakemake_interface_common.exceptions import WorkflowError

from . import container_options, validation
from .container_options import Volume
from .validation import Origin, invalid


@dataclass(frozen=True, slots=True)
class GlobalConfig:
    """The executor settings, validated once."""

    default_queue: str
    image: str
    job_role: str | None = None
    execution_role: str | None = None
    timeout: int = 300
    tags: Mapping[str, str] = field(default_factory=dict)
    secrets: Mapping[str, str] = field(default_factory=dict)
    scheduling_priority: int | None = None
    share_identifier: str | None = None
    job_definition: str | None = None
    assign_public_ip: bool = False
    submit_rate: float = 50.0
    runnable_warning: int = 900
    missing_job_grace: int = 120
    array_min_size: int = 10  # 0: every job is submitted alone
    spot_retries: int = 2  # submissions again of a job whose host was reclaimed
    volumes: tuple[Volume, ...] = ()
    log_group: str | None = None
    fargate_platform_version: str = "LATEST"
    region: str | None = None  # as the AWS clients resolved it, for messages


# The shortest grace for a job DescribeJobs does not return: a job just submitted may
# be missing from its answers for a few seconds.
MIN_MISSING_JOB_GRACE = 10
# The most times the plugin submits a job again after its EC2 host was reclaimed.
MAX_SPOT_RETRIES = 10


def definition_settings(config: GlobalConfig) -> list[tuple[str, str]]:
    """The settings that go into the job definitions the plugin registers, when given."""
    given = [
        ("--aws-batch-volumes", bool(config.volumes), "volumes"),
        ("--aws-batch-log-group", config.log_group is not None, "log configuration"),
        (
            "--aws-batch-fargate-platform-version",
            config.fargate_platform_version != "LATEST",
            "Fargate platform version",
        ),
    ]
    return [(setting, what) for setting, present, what in given if present]


def secrets_need_execution_role(origin: Origin, value: object) -> WorkflowError:
    return invalid(
        origin,
        value,
        "Secrets are fetched by the execution role: set --aws-batch-execution-role "
        "(or SNAKEMAKE_AWS_BATCH_EXECUTION_ROLE) to a role that may read them.",
    )


def global_config(
    *,
    job_queue: str | None,
    image: str | None,
    job_role: str | None,
    execution_role: str | None,
    task_timeout: int,
    tags: str | None,
    secrets: str | None,
    scheduling_priority: int | None,
    share_identifier: str | None,
    job_definition: str | None,
    assign_public_ip: bool,
    submit_rate: float = 50.0,
    runnable_warning: int = 900,
    missing_job_grace: int = 120,
    array_min_size: int = 10,
    spot_retries: int = 2,
    volumes: str | None = None,
    log_group: str | None = None,
    fargate_platform_version: str = "LATEST",
) -> GlobalConfig:
    """Validate the executor settings; a bad one raises a WorkflowError naming it."""
    queue = validation.non_empty_string(
        Origin("--aws-batch-job-queue"),
        job_queue,
        "a job queue name or ARN: the setting is required",
    )
    if secrets and not execution_role:
        raise secrets_need_execution_role(Origin("--aws-batch-secrets"), secrets)
    if secrets and job_definition:
        raise invalid(
            Origin("--aws-batch-secrets"),
            secrets,
            f"Jobs run on the existing job definition {job_definition!r} "
            "(--aws-batch-job-definition), which gets only its own secrets; add them to "
            "it, or drop one of the two.",
        )
    if not image:
        raise WorkflowError(
            "No container image: pass --container-image (or set aws_batch_container_image on every rule)."
        )
    config = GlobalConfig(
        default_queue=queue,
        image=image,
        job_role=job_role or None,
        execution_role=execution_role or None,
        timeout=validation.timeout_seconds(Origin("--aws-batch-task-timeout"), task_timeout),
        tags=validation.tags(Origin("--aws-batch-tags"), tags) if tags else {},
        secrets=validation.secrets(Origin("--aws-batch-secrets"), secrets) if secrets else {},
        scheduling_priority=(
            None
            if scheduling_priority is None
            else validation.scheduling_priority(
                Origin("--aws-batch-scheduling-priority"), scheduling_priority
            )
        ),
        share_identifier=(
            None
            if not share_identifier
            else validation.share_identifier(
                Origin("--aws-batch-share-identifier"), share_identifier
            )
        ),
        job_definition=job_definition or None,
        assign_public_ip=assign_public_ip,
        submit_rate=validation.positive_number(
            Origin("--aws-batch-submit-rate"),
            submit_rate,
            "of SubmitJob calls per second, e.g. 50 (AWS's limit per account)",
        ),
        runnable_warning=validation.integer(
            Origin("--aws-batch-runnable-warning"), runnable_warning, minimum=1
        ),
        missing_job_grace=validation.integer(
            Origin("--aws-batch-missing-job-grace"),
            missing_job_grace,
            minimum=MIN_MISSING_JOB_GRACE,
        ),
        array_min_size=validation.integer(
            Origin("--aws-batch-array-min-size"), array_min_size, minimum=0, maximum=10_000
        ),
        spot_retries=validation.integer(
            Origin("--aws-batch-spot-retries"), spot_retries, minimum=0, maximum=MAX_SPOT_RETRIES
        ),
        volumes=container_options.volumes(Origin("--aws-batch-volumes"), volumes)
        if volumes
        else (),
        log_group=container_options.log_group(Origin("--aws-batch-log-group"), log_group)
        if log_group
        else None,
        fargate_platform_version=container_options.fargate_platform_version(
            Origin("--aws-batch-fargate-platform-version"), fargate_platform_version
        ),
    )
    if config.job_definition is not None:
        written = {
            "--aws-batch-volumes": volumes,
            "--aws-batch-log-group": log_group,
            "--aws-batch-fargate-platform-version": fargate_platform_version,
        }
        for setting, given in definition_settings(config):
            raise invalid(
                Origin(setting),
                written[setting],
                f"Jobs run on the existing job definition {config.job_definition!r} "
                f"(--aws-batch-job-definition), which holds its own {given}; set it there, "
                "or drop one of the two.",
            )
    return config
