"""The environment a job's container gets: the workflow's variables, minus credentials."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from snakemake_interface_common.exceptions import WorkflowError

from ..logs import Logger

# The submitting machine's own AWS credentials: never sent to a job.
AWS_CREDENTIAL_VARIABLES = frozenset(
    {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"}
)
_SECRET_WORDS = ("KEY", "SECRET", "TOKEN", "PASSWORD", "CREDENTIAL")


def is_secret_name(name: str) -> bool:
    upper = name.upper()
    return any(word in upper for word in _SECRET_WORDS)


def job_environment(
    variables: Mapping[str, str],
    *,
    storage_variables: Iterable[str],
    forward_storage_credentials: bool,
    logger: Logger,
) -> dict[str, str]:
    """Variables for ``containerOverrides.environment``.

    ``variables`` are what Snakemake would pass to jobs (``--envvars`` and the
    storage plugins' settings). AWS credentials are always left out; storage
    credentials too, unless the user asks for them (then with a warning).
    """
    storage = set(storage_variables)
    environment: dict[str, str] = {}
    dropped: list[str] = []
    forwarded: list[str] = []
    for name, value in variables.items():
        if name.upper().startswith("AWS_BATCH"):
            raise WorkflowError(
                f"Environment variable {name} (from --envvars) cannot be passed to AWS Batch jobs: "
                "names starting with AWS_BATCH are reserved by AWS Batch. Rename it."
            )
        if name in AWS_CREDENTIAL_VARIABLES:
            dropped.append(name)
            continue
        if name in storage and is_secret_name(name):
            if not forward_storage_credentials:
                dropped.append(name)
                continue
            forwarded.append(name)
        environment[name] = value
    if dropped:
        logger.info(
            f"Not passed to AWS Batch jobs: {', '.join(sorted(dropped))}. Jobs reach AWS with the "
            "job role (--aws-batch-job-role), not with the credentials of this machine."
        )
    if forwarded:
        logger.warning(
            f"Storage credentials {', '.join(sorted(forwarded))} travel to every AWS Batch job as "
            "plain environment variables, readable by anyone who may describe the jobs. Prefer a "
            "job role with access to the storage (--aws-batch-job-role; see the plugin's docs, "
            "'Credentials and storage')."
        )
    return environment
