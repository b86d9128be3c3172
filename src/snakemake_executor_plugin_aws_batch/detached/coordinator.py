"""A detached run's coordinator job: its name, environment, command and requests. Pure.

The coordinator is one AWS Batch job that runs ``snakemake ... --executor aws-batch`` far
from the user's machine (``snakemake-aws-batch run``, in ``cli``); inside it,
``coordinator_job`` fetches the sources, runs Snakemake and keeps its log.
"""

from __future__ import annotations

import argparse
import shlex
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields

from snakemake_interface_common.exceptions import WorkflowError

from ..jobspec import names
from ..jobspec.environment import job_environment
from ..logs import Logger

COORDINATOR_PREFIX = "snakemake-coordinator"
# Where a detached run keeps its things, below the default storage prefix.
RUNS_FOLDER = ".snakemake-aws-batch"
# The tag every worker job of a coordinator carries: the coordinator's job id.
COORDINATOR_TAG = "snakemake-aws-batch-coordinator"
EXECUTOR = "aws-batch"
PLUGIN = "snakemake-executor-plugin-aws-batch"
MODULE = "snakemake_executor_plugin_aws_batch"


@dataclass(frozen=True)
class SnakemakeArgs:
    """What the command line handed to Snakemake says that a detached run needs to know."""

    executor: str | None = None
    default_storage_provider: str | None = None
    default_storage_prefix: str | None = None
    container_image: str | None = None
    storage_s3_endpoint_url: str | None = None
    aws_batch_job_queue: str | None = None
    aws_batch_job_role: str | None = None
    aws_batch_execution_role: str | None = None
    aws_batch_region: str | None = None
    aws_batch_log_group: str | None = None
    aws_batch_assign_public_ip: bool = False


def read_args(args: Sequence[str]) -> SnakemakeArgs:
    """The options of ``SnakemakeArgs`` among Snakemake's arguments (the rest is ignored)."""
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    parser.add_argument("--executor", "-e")
    for option in fields(SnakemakeArgs):
        if option.name in ("executor", "aws_batch_assign_public_ip"):
            continue
        parser.add_argument("--" + option.name.replace("_", "-"))
    parser.add_argument("--aws-batch-assign-public-ip", action="store_true")
    known, _ = parser.parse_known_args(list(args))
    return SnakemakeArgs(**vars(known))


def with_executor(args: Sequence[str]) -> list[str]:
    """Snakemake's arguments with ``--executor aws-batch`` added when missing."""
    executor = read_args(args).executor
    if executor is None:
        return [*args, "--executor", EXECUTOR]
    if executor != EXECUTOR:
        raise WorkflowError(
            f"The arguments for Snakemake name --executor {executor}: a coordinator runs "
            f"its workflow with --executor {EXECUTOR} (leave --executor out, or name it)."
        )
    return list(args)


def job_name(folder: str) -> str:
    """``snakemake-coordinator-{folder}-{uuid}``, a valid AWS Batch job name for any folder."""
    tail = str(uuid.uuid4())
    room = names.MAX_NAME_LENGTH - len(COORDINATOR_PREFIX) - len(tail) - 2
    part = names.sanitise(folder)[:room].strip("-_") or "workflow"
    return f"{COORDINATOR_PREFIX}-{part}-{tail}"


def setting_variables(setting_names: Iterable[str]) -> frozenset[str]:
    """The environment variables of the plugin's settings (``SNAKEMAKE_AWS_BATCH_NAME``)."""
    return frozenset(f"SNAKEMAKE_AWS_BATCH_{name.upper()}" for name in setting_names)


def environment(
    variables: Mapping[str, str], *, settings: frozenset[str], logger: Logger
) -> dict[str, str]:
    """The coordinator's environment: the plugin's settings and the storage plugins'
    (``SNAKEMAKE_STORAGE_*``) from ``variables``, never a credential."""
    storage = [name for name in variables if name.startswith("SNAKEMAKE_STORAGE_")]
    chosen = {
        name: value for name, value in variables.items() if name in settings or name in storage
    }
    return job_environment(
        chosen, storage_variables=storage, forward_storage_credentials=False, logger=logger
    )


def sources_url(prefix: str, run: str) -> str:
    return f"{prefix.rstrip('/')}/{RUNS_FOLDER}/sources/{run}.tar.gz"


def results_url(prefix: str, job_id: str) -> str:
    """Where a coordinator's log and run record land: ``<prefix>/.snakemake-aws-batch/<id>/``."""
    return f"{prefix.rstrip('/')}/{RUNS_FOLDER}/{job_id}/"


def command(sources: str, prefix: str, args: Sequence[str], plugin_version: str) -> list[str]:
    """The coordinator's command: the plugin (installed when the image lacks it), then
    ``coordinator_job``, which fetches ``sources`` and runs Snakemake with ``args``."""
    job = shlex.join(
        ["python", "-m", f"{MODULE}.detached.coordinator_job", sources, prefix, "--", *args]
    )
    script = (
        f"python -c 'import {MODULE}' 2>/dev/null || "
        f"python -m pip install --quiet {shlex.quote(f'{PLUGIN}=={plugin_version}')}\n"
        f"exec {job}"
    )
    return ["/bin/sh", "-c", script]


def submit_request(
    *,
    name: str,
    queue: str,
    definition: str,
    command: list[str],
    environment: Mapping[str, str],
    vcpu: float,
    memory_mib: int,
) -> dict[str, object]:
    """SubmitJob's request for the coordinator: no timeout (a run may take days), no retry
    (a second coordinator would run the workflow twice)."""
    return {
        "jobName": name,
        "jobQueue": queue,
        "jobDefinition": definition,
        "containerOverrides": {
            "command": command,
            "environment": [{"name": k, "value": v} for k, v in sorted(environment.items())],
            "resourceRequirements": [
                {"type": "VCPU", "value": f"{vcpu:g}"},
                {"type": "MEMORY", "value": str(memory_mib)},
            ],
        },
        "tags": {COORDINATOR_TAG: "coordinator"},
        "propagateTags": True,
    }


def worker_tags(args: Sequence[str], variables: Mapping[str, str], job_id: str) -> list[str]:
    """Snakemake's arguments with the coordinator's tag added to the workers' tags
    (``--aws-batch-tags``, which may come from the arguments or the environment)."""
    tag = f"{COORDINATOR_TAG}={job_id}"
    result, found = list(args), False
    for index, arg in enumerate(result):
        if arg == "--aws-batch-tags" and index + 1 < len(result):
            result[index + 1] = f"{result[index + 1]},{tag}" if result[index + 1] else tag
            found = True
        elif arg.startswith("--aws-batch-tags="):
            result[index] = f"{arg},{tag}"
            found = True
    if not found:
        existing = variables.get("SNAKEMAKE_AWS_BATCH_TAGS", "")
        result += ["--aws-batch-tags", f"{existing},{tag}" if existing else tag]
    return result
