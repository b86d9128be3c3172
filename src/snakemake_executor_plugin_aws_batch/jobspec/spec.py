"""From settings and one Snakemake job's resources to a validated :class:`JobSpec`.

Everything here is pure: the platform of a queue is looked up by the caller and
passed in as a function.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any, TypeVar

from snakemake_interface_common.exceptions import WorkflowError

from ..settings import container_options, validation
from ..settings.configuration import GlobalConfig, definition_settings, secrets_need_execution_role
from ..settings.container_options import ContainerOptions
from ..settings.resources import (
    ALIASES,
    CONSUMABLE_RESOURCES,
    CONTAINER_IMAGE,
    GPU,
    JOB_DEFINITION,
    JOB_NAME_SUFFIX,
    JOB_QUEUE,
    JOB_UUID,
    MEM_MB,
    RETRY_STRATEGY,
    SCHEDULING_PRIORITY,
    SECRETS,
    SHARE_IDENTIFIER,
    TAGS,
    THREADS,
    TIMEOUT,
    VCPU,
    VOLUMES,
    check_names,
    read_values,
    resource_names,
    static_values,
)
from ..settings.validation import Origin, invalid
from . import container, names
from .platform import Platform, Request, Resources, ephemeral_storage_gib, fit

T = TypeVar("T")

DEFAULT_VCPU = 1
DEFAULT_MEMORY_MIB = 1024


@dataclass(frozen=True, slots=True)
class DefinitionSpec:
    """What goes into a job definition (everything that cannot be overridden)."""

    image: str
    platform: Platform
    job_role: str | None
    execution_role: str | None
    secrets: tuple[tuple[str, str], ...]
    assign_public_ip: bool
    ephemeral_storage_gib: int | None
    options: ContainerOptions = field(default_factory=ContainerOptions)


@dataclass(frozen=True, slots=True)
class JobSpec:
    """Everything needed to submit one Snakemake job to AWS Batch."""

    rule: str
    name: str
    queue: str
    platform: Platform
    resources: Resources
    definition: DefinitionSpec | str  # a str is an existing definition
    timeout: int
    retry_strategy: Mapping[str, Any] | None
    tags: Mapping[str, str]
    scheduling_priority: int | None
    share_identifier: str | None
    consumable_resources: list[dict[str, Any]] | None
    named: bool = False  # the rule names its jobs (suffix or uuid): never in an array
    notes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


def merged_secrets(config: GlobalConfig, values: Mapping[str, Any]) -> dict[str, str]:
    """Global secrets, then the rule's: on the same name the rule's value wins."""
    return {**config.secrets, **values.get(SECRETS, {})}


def check_rule(rule: str, values: Mapping[str, Any], config: GlobalConfig) -> None:
    """Rules that involve more than one value, checked as soon as values are known."""
    secrets = merged_secrets(config, values)
    if secrets and not config.execution_role:
        origin = Origin(
            SECRETS if SECRETS in values else "--aws-batch-secrets",
            rule if SECRETS in values else None,
        )
        raise secrets_need_execution_role(origin, sorted(secrets))
    if config.secrets and JOB_DEFINITION in values:
        raise invalid(
            Origin(JOB_DEFINITION, rule),
            values[JOB_DEFINITION],
            "--aws-batch-secrets are given to every job, but a job on an existing job "
            "definition gets only that definition's secrets; add them to it, or drop "
            "one of the two.",
        )
    if JOB_DEFINITION in values:
        for setting, given in definition_settings(config):
            raise invalid(
                Origin(JOB_DEFINITION, rule),
                values[JOB_DEFINITION],
                f"{setting} is given to every job, but a job on an existing job definition "
                f"gets only that definition's ({given}); drop one of the two.",
            )
    existing = values.get(JOB_DEFINITION, config.job_definition)
    if existing is not None:
        overridden = [(SECRETS, "secrets"), (CONTAINER_IMAGE, "a container image")]
        for name, what in [*overridden, *container_options.WHAT.items()]:
            if name in values:
                raise invalid(
                    Origin(name, rule),
                    values[name],
                    f"The rule runs on the existing job definition {existing!r}, whose {what} "
                    "cannot be overridden; drop one of the two.",
                )


# The threads assumed at start for a rule whose threads are a function of its job: the
# most Fargate offers, so that nothing a job could be given is refused before it exists.
UNKNOWN_THREADS = 16


def check_rules(
    rules: Iterable[Any],
    config: GlobalConfig,
    platform_of: Callable[[str], Platform],
    check_definition: Callable[[str], None],
    *,
    max_threads: int | None = None,
    architectures_of: Callable[[str], frozenset[str] | None] = lambda queue: None,
) -> None:
    """The start-up check: every value that is not a function of the job, before any job.

    ``rules`` are Snakemake's rules (a ``name`` and ``resources`` each). Each rule's plain
    values go through :func:`build`, as a job's will; each queue and each existing job
    definition named is asked about once (``check_definition`` raises if it is unusable).
    """
    platforms = functools.cache(platform_of)
    platforms(config.default_queue)
    checked: set[str] = set()

    def check(definition: str, origin: Origin) -> None:
        if definition not in checked:
            _attributed(origin, lambda: check_definition(definition))
            checked.add(definition)

    if config.job_definition is not None:
        check(config.job_definition, Origin("--aws-batch-job-definition"))
    for rule in rules:
        check_names(rule.name, resource_names(rule))
        raw = static_values(rule)
        threads = raw.get(THREADS)
        if not isinstance(threads, int):
            threads = UNKNOWN_THREADS
        job_spec = build(
            rule=rule.name,
            raw=raw,
            threads=min(threads, max_threads or threads),
            config=config,
            platform_of=platforms,
            architectures_of=architectures_of,
        )
        if isinstance(job_spec.definition, str):
            check(job_spec.definition, Origin(JOB_DEFINITION, rule.name))


def _platform(
    rule: str,
    values: Mapping[str, Any],
    config: GlobalConfig,
    platform_of: Callable[[str], Platform],
) -> Platform:
    """The platform of the rule's queue; a queue the rule names that AWS refuses names the rule."""
    if JOB_QUEUE not in values:
        return platform_of(config.default_queue)
    queue = values[JOB_QUEUE]
    return _attributed(Origin(JOB_QUEUE, rule), lambda: platform_of(queue))


def _attributed(origin: Origin, ask: Callable[[], T]) -> T:
    """What ``ask`` answers about a value; its refusal is prefixed with the value's origin."""
    try:
        return ask()
    except WorkflowError as exc:
        where = str(origin)
        raise WorkflowError(f"{where[0].upper()}{where[1:]}: {exc}") from None


def _request(
    rule: str, values: Mapping[str, Any], raw: Mapping[str, object], threads: int
) -> Request:
    """The job's resource request: the plugin's resources, else Snakemake's, else defaults."""
    return Request(
        vcpu=values.get(VCPU, Fraction(max(int(threads or DEFAULT_VCPU), 1))),
        memory_mib=values.get(MEM_MB, _standard_memory(raw)),
        gpu=values.get(GPU, _standard_gpu(rule, raw)),
        vcpu_explicit=VCPU in values,
        memory_explicit=MEM_MB in values,
        gpu_explicit=GPU in values,
    )


def build(
    *,
    rule: str,
    raw: Mapping[str, object],
    threads: int,
    config: GlobalConfig,
    platform_of: Callable[[str], Platform],
    architectures_of: Callable[[str], frozenset[str] | None] = lambda queue: None,
) -> JobSpec:
    """The job spec of one job, from its evaluated resources.

    ``architectures_of`` says which CPU architectures a queue's EC2 compute
    environments offer (None: not known).
    """
    values = read_values(rule, raw)
    check_rule(rule, values, config)
    queue = values.get(JOB_QUEUE, config.default_queue)
    platform = _platform(rule, values, config, platform_of)
    fitted = fit(platform, _request(rule, values, raw, threads), rule)
    existing = values.get(JOB_DEFINITION, config.job_definition)
    definition: DefinitionSpec | str
    if existing is not None:
        definition = existing
    else:
        definition = DefinitionSpec(
            image=values.get(CONTAINER_IMAGE, config.image),
            platform=platform,
            job_role=config.job_role,
            execution_role=config.execution_role,
            secrets=tuple(sorted(merged_secrets(config, values).items())),
            assign_public_ip=config.assign_public_ip,
            ephemeral_storage_gib=_ephemeral(platform, raw, rule),
            options=_container_options(
                rule,
                values,
                raw,
                config,
                queue=queue,
                platform=platform,
                architectures=architectures_of(queue),
            ),
        )
        if platform is Platform.FARGATE and not config.execution_role:
            raise invalid(
                Origin("--aws-batch-execution-role"),
                None,
                f"Rule {rule!r} runs on queue {queue!r}"
                + (f" in region {config.region}" if config.region else "")
                + ", a Fargate queue; Fargate jobs need an execution role: set "
                "--aws-batch-execution-role.",
            )
    tags = validation.check_tags(
        Origin(TAGS, rule), values.get(TAGS), {**config.tags, **values.get(TAGS, {})}
    )
    return JobSpec(
        rule=rule,
        name=names.job_name(
            rule, suffix=values.get(JOB_NAME_SUFFIX), job_uuid=values.get(JOB_UUID)
        ),
        queue=queue,
        platform=platform,
        resources=fitted.resources,
        definition=definition,
        timeout=_timeout(rule, raw, values, config),
        retry_strategy=values.get(RETRY_STRATEGY),
        tags=tags,
        scheduling_priority=values.get(SCHEDULING_PRIORITY, config.scheduling_priority),
        share_identifier=values.get(SHARE_IDENTIFIER, config.share_identifier),
        consumable_resources=values.get(CONSUMABLE_RESOURCES),
        named=JOB_NAME_SUFFIX in values or JOB_UUID in values,
        notes=fitted.notes,
        warnings=fitted.warnings,
    )


def _container_options(
    rule: str,
    values: Mapping[str, Any],
    raw: Mapping[str, object],
    config: GlobalConfig,
    *,
    queue: str,
    platform: Platform,
    architectures: frozenset[str] | None,
) -> ContainerOptions:
    """The rule's container options, merged with the settings', checked against the platform."""
    volumes_origin = Origin(VOLUMES, rule) if VOLUMES in values else Origin("--aws-batch-volumes")
    options = ContainerOptions(
        volumes=container_options.merge_volumes(
            config.volumes, values.get(VOLUMES, ()), volumes_origin, values.get(VOLUMES)
        ),
        log_group=config.log_group,
        fargate_platform_version=config.fargate_platform_version,
        **container_options.from_values(values),
    )
    # The rule's own options first: what is refused only with the setting's volumes
    # names the setting, and the setting's volumes that the rule keeps.
    own = replace(options, volumes=values.get(VOLUMES, ()))
    problem = container.platform_problem(own, platform, architectures)
    if problem is not None:
        origin, shown = _as_written(rule, problem[0], raw)
    else:
        problem = container.platform_problem(options, platform, architectures)
        origin = Origin("--aws-batch-volumes")
        shown = [volume.name for volume in config.volumes if volume in options.volumes]
    if problem is not None:
        where = f"queue {queue!r}" + (f" in region {config.region}" if config.region else "")
        raise invalid(origin, shown, f"Rule {rule!r} runs on {where}: {problem[1]}")
    return options


def _as_written(rule: str, name: str, raw: Mapping[str, object]) -> tuple[Origin, object]:
    """The resource as the rule wrote it: its name (or the alias used) and its value."""
    for written in (name, *(alias for alias, meant in ALIASES.items() if meant == name)):
        if raw.get(written) is not None:
            return Origin(written, rule), raw[written]
    return Origin(name, rule), None


def _standard_memory(raw: Mapping[str, object]) -> int:
    value = raw.get("mem_mb")
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        return int(value)
    return DEFAULT_MEMORY_MIB


def _standard_gpu(rule: str, raw: Mapping[str, object]) -> int:
    value = raw.get("gpu")
    if value is None:
        return 0
    return validation.integer(Origin("gpu", rule), value, minimum=0)


def _timeout(
    rule: str, raw: Mapping[str, object], values: Mapping[str, Any], config: GlobalConfig
) -> int:
    """``aws_batch_timeout``, else the rule's ``runtime`` (minutes), else the setting."""
    if TIMEOUT in values:
        return int(values[TIMEOUT])
    runtime = raw.get("runtime")
    if runtime is not None:
        minutes = validation.integer(Origin("runtime", rule), runtime, minimum=1)
        return max(minutes * 60, validation.MIN_TIMEOUT_SECONDS)
    return config.timeout


def _ephemeral(platform: Platform, raw: Mapping[str, object], rule: str) -> int | None:
    if platform is not Platform.FARGATE:
        return None
    disk = raw.get("disk_mb")
    if not isinstance(disk, int) or isinstance(disk, bool):
        return None
    return ephemeral_storage_gib(disk, rule, explicit=True)
