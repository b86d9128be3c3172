"""What a coordinator job runs in its container (``snakemake-aws-batch run`` submits it):

    python -m snakemake_executor_plugin_aws_batch.detached.coordinator_job SOURCES PREFIX -- ARGS...

It fetches the workflow's sources from ``SOURCES`` (an ``s3://`` URL), unpacks them in a
fresh folder, runs ``snakemake ARGS`` there with the workers tagged with this job's id,
and, however Snakemake ended, uploads Snakemake's log and the run record to
``PREFIX/.snakemake-aws-batch/<job id>/``. SIGTERM (TerminateJob, a Spot reclaim) and
SIGINT go to Snakemake, whose plugin then terminates every worker job, as for Ctrl-C.
Exits with Snakemake's exit code.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from snakemake_interface_common.exceptions import WorkflowError

from ..aws.objects import ObjectStore, join
from . import coordinator, sources

logger = logging.getLogger("snakemake-aws-batch-coordinator")
WORKFLOW_FOLDER = "workflow"


class _Logger:
    def warning(self, msg: str) -> None:
        logger.warning(msg)

    def info(self, msg: str) -> None:
        logger.info(msg)

    def debug(self, msg: str) -> None:
        logger.debug(msg)


def results_of(workflow: Path) -> list[tuple[Path, str]]:
    """What is kept of a run: Snakemake's newest log and the newest run record's files,
    each with its name below the results folder."""
    kept: list[tuple[Path, str]] = []
    logs = sorted((workflow / ".snakemake" / "log").glob("*.snakemake.log"))
    if logs:
        kept.append((logs[-1], "snakemake.log"))
    records = sorted(p for p in (workflow / ".snakemake" / "aws-batch").glob("*") if p.is_dir())
    if records:
        kept += [(f, f"run-record/{f.name}") for f in sorted(records[-1].iterdir()) if f.is_file()]
    return kept


def run_snakemake(workflow: Path, args: list[str]) -> int:
    """Snakemake as a child process; this process's SIGTERM and SIGINT are passed on."""
    started: list[subprocess.Popen[bytes]] = []

    forwarded = threading.Event()

    def forward(signum: int, _frame: object) -> None:
        # Once, as SIGTERM: the plugin then terminates the workers. Snakemake may get the
        # same signal by itself too (sent to the whole process group): that changes nothing.
        if forwarded.is_set():
            return
        forwarded.set()
        logger.warning("Coordinator: %s received, stopping the workflow", signal.strsignal(signum))
        for process in started:
            process.send_signal(signal.SIGTERM)

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, forward)
    started.append(subprocess.Popen([sys.executable, "-m", "snakemake", *args], cwd=workflow))
    code = started[0].wait()
    return 128 - code if code < 0 else code  # killed by signal N: 128 + N, as a shell says


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) < 3 or argv[2] != "--":
        print(__doc__, file=sys.stderr)
        return 2
    sources_url, prefix, args = argv[0], argv[1], argv[3:]
    job_id = os.environ.get("AWS_BATCH_JOB_ID", "local")
    endpoint = coordinator.read_args(args).storage_s3_endpoint_url or os.environ.get(
        "SNAKEMAKE_STORAGE_S3_ENDPOINT_URL"
    )
    store = ObjectStore(_Logger(), region=os.environ.get("AWS_REGION"), endpoint_url=endpoint)
    workflow = Path.cwd() / WORKFLOW_FOLDER
    try:
        names = sources.unpack(store.get(sources_url), workflow)
    except WorkflowError as exc:
        logger.error("Coordinator: the workflow's sources could not be fetched: %s", exc)
        return 1
    logger.info("Coordinator %s: %d source files from %s", job_id, len(names), sources_url)
    code = run_snakemake(workflow, coordinator.worker_tags(args, os.environ, job_id))
    results = coordinator.results_url(prefix, job_id)
    for path, name in results_of(workflow):
        try:
            store.put(join(results, name), path.read_bytes())
        except WorkflowError as exc:
            logger.error("Coordinator: %s was not kept: %s", name, exc)
    logger.info("Coordinator %s: Snakemake exited with %d; its log is in %s", job_id, code, results)
    return code


if __name__ == "__main__":
    sys.exit(main())
