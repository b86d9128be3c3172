"""How many children fit in one array job, for sample names of a given length.

Runs the real ``snakemake --executor aws-batch`` on the local endpoint with a few
jobs of one rule (held, then cancelled), takes the array's real command from the
SubmitJob request the endpoint received, and computes with the plugin's own
:func:`~snakemake_executor_plugin_aws_batch.submission.arrays.chunks` how many jobs of that rule
one array holds when every sample name has the given length.

    python -m benchmarks.array_fit 10 30 60
"""

from __future__ import annotations

import os
import random
import shlex
import signal
import string
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .cli_run import cli_command, cli_env

SNAKEFILE = """
SAMPLES = {samples!r}

rule all:
    input: expand("out/{{sample}}.txt", sample=SAMPLES)

rule map:
    output: "out/{{sample}}.txt"
    shell: "echo {{wildcards.sample}} > {{output}}"
"""
PROBE_JOBS = 12
SIMULATED_JOBS = 10_000


def names(length: int, count: int, seed: int = 1) -> list[str]:
    """Distinct sample-like names of exactly ``length`` characters."""
    chooser = random.Random(seed)
    alphabet = string.ascii_uppercase + string.digits
    found: set[str] = set()
    while len(found) < count:
        found.add("".join(chooser.choice(alphabet) for _ in range(length)))
    return sorted(found)


def probe(length: int) -> dict[str, Any]:
    """The real SubmitJob request of an array of PROBE_JOBS jobs with names of ``length``."""
    from snakemake_aws_batch_local import LocalBatch

    with LocalBatch(engine="process") as local, tempfile.TemporaryDirectory() as workdir:
        Path(workdir, "Snakefile").write_text(SNAKEFILE.format(samples=names(length, PROBE_JOBS)))
        env = cli_env(local)
        local.set_knobs(hold_jobs=True)
        command = cli_command(local, jobs=PROBE_JOBS, prefix=f"fit-{length}")
        process = subprocess.Popen(
            command, cwd=workdir, env=env, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 600
            while not local.requests("SubmitJob") and time.monotonic() < deadline:
                time.sleep(0.5)
        finally:
            os.killpg(process.pid, signal.SIGINT)
            process.wait(timeout=120)
        [request] = local.requests("SubmitJob")
        return dict(request)


def fit(length: int) -> dict[str, Any]:
    from snakemake_executor_plugin_aws_batch.submission import arrays

    request = probe(length)
    overrides = request["containerOverrides"]
    lines = overrides["command"][2].splitlines()
    prefix, suffix = (
        shlex.split(next(line for line in lines if line.startswith(var))[3:])[0]
        for var in ("_p=", "_s=")
    )
    first = shlex.split(lines[1].split("_m=", 1)[1].rsplit(";;", 1)[0])[0]
    # The simulated group: the first probe job's command with its name replaced by
    # each of SIMULATED_JOBS other names of the same length.
    command = prefix + first + suffix
    [probe_name] = [name for name in names(length, PROBE_JOBS) if name in command]
    commands = [command.replace(probe_name, name) for name in names(length, SIMULATED_JOBS, 2)]
    parts = arrays.split(commands)
    marker = arrays.MARKER_ALLOWANCE  # the request as sent holds the marker already
    empty = {**request, "containerOverrides": {**overrides, "command": ["/bin/sh", "-c", ""]}}
    sizes = [
        stop - start for start, stop in arrays.chunks(parts, arrays.script_budget(empty) + marker)
    ]
    return {
        "name_length": length,
        "common_chars": len(parts.prefix) + len(parts.suffix),
        "per_child_chars": round(
            (len(arrays.script(parts, 0, 100)) - len(arrays.script(parts, 0, 0))) / 100
        ),
        "children_per_array": max(sizes),
        "arrays_for_10000": len(sizes),
    }


def main(argv: list[str] | None = None) -> int:
    lengths = [int(value) for value in (argv if argv is not None else sys.argv[1:])] or [10, 30, 60]
    print(
        "| name length | characters common to every command | characters per child "
        "| children per array | arrays for 10,000 jobs |"
    )
    print("|---|---|---|---|---|")
    for length in lengths:
        row = fit(length)
        print(
            f"| {row['name_length']} | {row['common_chars']} | {row['per_child_chars']} "
            f"| {row['children_per_array']} | {row['arrays_for_10000']} |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
