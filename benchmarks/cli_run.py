"""A whole ``snakemake --executor aws-batch`` run on the local endpoint, for reference.

Unlike the driver trials, this is the real command line: Snakemake's scheduler, the
plugin, and jobs that really run (each one a local ``python -m snakemake`` process
started by the endpoint, which fetches the sources and writes its output to S3).
On a small machine most of its wall time is the jobs themselves.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .trial import write_workflow

CLI_TIMEOUT = 1800
STATUS_PERIOD = 2


def cli_env(local: Any) -> dict[str, str]:
    """The environment of a ``snakemake`` run on the local endpoint ``local``: its AWS
    settings instead of this machine's, and its keys for the S3 storage plugin."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(local.env())
    env["SNAKEMAKE_STORAGE_S3_ACCESS_KEY"] = env["AWS_ACCESS_KEY_ID"]
    env["SNAKEMAKE_STORAGE_S3_SECRET_KEY"] = env["AWS_SECRET_ACCESS_KEY"]
    return env


def cli_command(local: Any, *, jobs: int, prefix: str, options: Sequence[str] = ()) -> list[str]:
    """``snakemake --executor aws-batch`` with S3 storage under ``prefix`` on ``local``."""
    return [
        sys.executable, "-m", "snakemake",
        "--executor", "aws-batch",
        "--jobs", str(jobs),
        "--default-storage-provider", "s3",
        "--default-storage-prefix", f"{local.storage_prefix}/{prefix}",
        "--container-image", "snakemake/snakemake:bench",
        *options,
    ]  # fmt: skip


def run_cli(n: int, workdir: Path, *, jobs: int) -> dict[str, Any]:
    """Run N jobs with ``--jobs jobs`` on a fresh endpoint; wall time and calls per job."""
    from snakemake_aws_batch_local import LocalBatch

    from .report import CLEANUP_OPERATIONS

    workdir.mkdir(parents=True, exist_ok=True)
    write_workflow(workdir, n)
    log = workdir / "snakemake.log"
    with LocalBatch(engine="process") as local:
        env = cli_env(local)
        command = cli_command(
            local,
            jobs=jobs,
            prefix=f"cli-{n}-{time.time_ns()}",
            options=("--seconds-between-status-checks", str(STATUS_PERIOD), "--latency-wait", "10"),
        )
        started = time.monotonic()
        with log.open("w") as stream:
            done = subprocess.run(
                command,
                cwd=workdir,
                env=env,
                stdout=stream,
                stderr=subprocess.STDOUT,
                timeout=CLI_TIMEOUT,
                check=False,
            )
        seconds = time.monotonic() - started
        calls = {k: v for k, v in sorted(local.calls().items()) if "." not in k}
    return {
        "n": n,
        "jobs": jobs,
        "returncode": done.returncode,
        "seconds": seconds,
        "status_period_seconds": STATUS_PERIOD,
        "calls": calls,
        "calls_per_job": {k: v / n for k, v in calls.items()},
        "cleanup_calls": {k: calls[k] for k in CLEANUP_OPERATIONS if calls.get(k)},
        "log": str(log),
    }


def markdown(result: dict[str, Any]) -> str:
    n = result["n"]
    calls = ", ".join(f"{k} {v}" for k, v in result["calls"].items())
    outcome = "succeeded" if result["returncode"] == 0 else f"FAILED ({result['returncode']})"
    return (
        f"Whole `snakemake` command-line run, N = {n:,} jobs that really run (local processes), "
        f"`--jobs {result['jobs']}`, status checks every {result['status_period_seconds']} s: "
        f"{outcome} in {result['seconds']:.0f} s ({n / result['seconds']:.1f} jobs/s end to end, "
        f"bound by running the jobs on this machine). Batch calls: {calls}.\n"
    )
