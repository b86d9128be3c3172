"""One benchmark trial: a Snakemake process with N independent jobs and the driver.

Run by :mod:`benchmarks.run` in a fresh process per trial, so that peak RSS and CPU
time belong to that trial alone::

    python -m benchmarks.trial --endpoint endpoint.json --n 1000 --workdir DIR --out r.json
"""

from __future__ import annotations

import argparse
import cProfile
import os
import sys
import time
from pathlib import Path

from . import driver
from .driver import TRACE_FRAMES, TrialConfig, count_plugin_clients, install
from .endpoint import EndpointInfo

STARTED = time.monotonic()

SNAKEFILE = """\
N = {n}

rule all:
    input: expand("out/{{i}}.txt", i=range(N))

rule r:
    output: "out/{{i}}.txt"
    shell: "touch {{output}}"
"""

# Snakemake's own status thread is stopped by the driver as soon as it starts; it
# wakes up this often until then.
SNAKEMAKE_STATUS_PERIOD = 1


def write_workflow(workdir: Path, n: int) -> Path:
    workdir.mkdir(parents=True, exist_ok=True)
    snakefile = workdir / "Snakefile"
    snakefile.write_text(SNAKEFILE.format(n=n))
    return snakefile


def run_snakemake(
    info: EndpointInfo,
    workdir: Path,
    snakefile: Path,
    *,
    prefix: str,
    n: int,
    submit_rate: float,
    array_min_size: int,
) -> None:
    from snakemake import api
    from snakemake.settings import types as settings
    from snakemake_interface_common.plugin_registry.plugin import TaggedSettings
    from snakemake_storage_plugin_s3 import StorageProviderSettings

    from snakemake_executor_plugin_aws_batch import ExecutorSettings

    storage = StorageProviderSettings(
        endpoint_url=info.endpoint_url,
        access_key=info.env.get("AWS_ACCESS_KEY_ID", "local"),
        secret_key=info.env.get("AWS_SECRET_ACCESS_KEY", "local"),
    )
    tagged = TaggedSettings()
    tagged.register_settings(storage)
    with api.SnakemakeApi(settings.OutputSettings(verbose=False)) as snakemake_api:
        workflow_api = snakemake_api.workflow(
            resource_settings=settings.ResourceSettings(cores=1, nodes=n),
            storage_settings=settings.StorageSettings(
                default_storage_provider="s3",
                default_storage_prefix=prefix,
                shared_fs_usage=frozenset(),
            ),
            storage_provider_settings={"s3": tagged},
            workdir=workdir,
            snakefile=snakefile,
        )
        workflow_api.dag().execute_workflow(
            executor="aws-batch",
            executor_settings=ExecutorSettings(
                job_queue=info.job_queue,
                region=info.region,
                submit_rate=submit_rate,
                array_min_size=array_min_size,
            ),
            execution_settings=settings.ExecutionSettings(latency_wait=1),
            remote_execution_settings=settings.RemoteExecutionSettings(
                container_image="snakemake/snakemake:bench",
                seconds_between_status_checks=SNAKEMAKE_STATUS_PERIOD,
            ),
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--endpoint", required=True, help="JSON file with the endpoint's details")
    parser.add_argument("--n", type=int, required=True)
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--prefix", required=True, help="default storage prefix (s3://...)")
    parser.add_argument("--out", required=True)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--submit-limit", type=float, default=50.0)
    parser.add_argument("--status-rounds", type=int, default=3)
    parser.add_argument(
        "--submit-rate", type=float, default=50.0, help="the plugin's submit_rate setting"
    )
    parser.add_argument(
        "--array-min-size",
        type=int,
        default=0,
        help="the plugin's array_min_size setting (0: every job submitted alone)",
    )
    parser.add_argument("--trace-memory", action="store_true")
    parser.add_argument("--trace-frames", type=int, default=TRACE_FRAMES)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args(argv)

    info = EndpointInfo.from_json(Path(args.endpoint).read_text())
    for key in [k for k in os.environ if k.startswith("AWS_")]:
        del os.environ[key]
    os.environ.update(info.env)
    workdir = Path(args.workdir).resolve()
    snakefile = write_workflow(workdir, args.n)
    config = TrialConfig(
        n=args.n,
        out=str(Path(args.out).resolve()),
        latency_ms=args.latency_ms,
        submit_limit=args.submit_limit if args.submit_limit > 0 else None,
        status_rounds=args.status_rounds,
        trace_memory=args.trace_memory,
        trace_frames=args.trace_frames,
        profile=args.profile,
        process_started=STARTED,
        array_min_size=args.array_min_size,
    )
    count_plugin_clients()
    install(config, info)
    os.chdir(workdir)
    if args.profile:
        driver.STARTUP_PROFILER = cProfile.Profile()
        driver.STARTUP_PROFILER.enable()
    run_snakemake(
        info,
        workdir,
        snakefile,
        prefix=args.prefix,
        n=args.n,
        submit_rate=args.submit_rate,
        array_min_size=args.array_min_size,
    )
    if not Path(config.out).exists():
        print("the driver did not run: Snakemake stopped before scheduling", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
