"""How Snakemake's job rate shapes array submission, through the real ``snakemake`` CLI.

Runs ``snakemake --executor aws-batch`` on the local endpoint with N ready jobs of one
rule, the jobs held RUNNABLE so that only submission counts, until every job has been
submitted; then cancels the run. Prints the SubmitJob calls, their array sizes and the
time from the first submission to the last.

    python -m benchmarks.job_rate 2000 100/1s
    python -m benchmarks.job_rate 2000 10000/1s
    python -m benchmarks.job_rate 2000 10000/1s --aws-batch-array-min-size 0
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .cli_run import cli_command, cli_env

SNAKEFILE = """
rule all:
    input: expand("out/{{i}}.txt", i=range({n}))

rule r:
    output: "out/{{i}}.txt"
    shell: "touch {{output}}"
"""
DEADLINE_S = 900


def measure(n: int, rate: str, extra: list[str]) -> dict[str, Any]:
    from snakemake_aws_batch_local import LocalBatch

    with LocalBatch(engine="process") as local, tempfile.TemporaryDirectory() as workdir:
        Path(workdir, "Snakefile").write_text(SNAKEFILE.format(n=n))
        local.set_knobs(hold_jobs=True)
        env = cli_env(local)
        command = cli_command(
            local,
            jobs=n,
            prefix=f"rate-{time.time_ns()}",
            options=(
                "--max-jobs-per-timespan", rate, *extra, "--seconds-between-status-checks", "5",
            ),
        )  # fmt: skip
        process = subprocess.Popen(
            command, cwd=workdir, env=env, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        first: float | None = None
        sizes: list[int] = []
        deadline = time.monotonic() + DEADLINE_S
        try:
            while time.monotonic() < deadline:
                sent = local.requests("SubmitJob")
                sizes = [r.get("arrayProperties", {}).get("size", 1) for r in sent]
                if sent and first is None:
                    first = time.monotonic()
                if sum(sizes) >= n:
                    break
                time.sleep(0.2)
            last = time.monotonic()
        finally:
            os.killpg(process.pid, signal.SIGINT)
            process.wait(timeout=300)
    return {
        "n": n,
        "max_jobs_per_timespan": rate,
        "extra": extra,
        "submitjob_calls": len(sizes),
        "sizes": [min(sizes), max(sizes)] if sizes else [],
        "jobs_submitted": sum(sizes),
        "first_to_last_s": round(last - first, 1) if first is not None else None,
    }


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    print(json.dumps(measure(int(args[0]), args[1], list(args[2:]))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
