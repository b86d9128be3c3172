"""``make bench``: the aws-batch executor at 100, 1,000 and 10,000 jobs.

Each size gets a fresh local AWS Batch endpoint (its own process) and a series of
trials, each a fresh Snakemake process (see :mod:`benchmarks.trial`):

* timing trials (3 for 100 and 1,000 jobs, 2 for 10,000): 50 ms added to every API
  call and SubmitJob refused beyond 50 per second; the first trial meets a fresh
  endpoint (the job definition is registered), the others are re-runs;
* array trials (2 for 1,000 jobs, 1 for 10,000) on the same endpoint, like the
  timing trials but with the plugin's ``array_min_size`` at 10: the jobs of the one rule
  go as array jobs, compared with the timing trials (one SubmitJob per job) of the run;
* one memory trial with tracemalloc on, no added latency, no SubmitJob limit and the
  plugin's submit_rate raised (memory per job does not depend on pacing; tracemalloc
  slows everything down, so nothing else is taken from this trial);
* optionally one profiled trial (cProfile of the driver thread).

Results go to ``benchmarks/results.json`` and the "Latest results" section of
``benchmarks/README.md``. ``--smoke`` runs 100 jobs once (plus an array trial and a
re-run with tracemalloc) in about a minute and writes only under ``.bench/``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from . import machine, report
from .endpoint import EndpointInfo, EndpointProcess

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "benchmarks"
RESULTS = BENCH_DIR / "results.json"
README = BENCH_DIR / "README.md"
START_MARK = "<!-- latest-results:start -->"
END_MARK = "<!-- latest-results:end -->"
TRIAL_TIMEOUT = 3600
FULL_PLAN = ((100, 3), (1000, 3), (10000, 2))
SMOKE_PLAN = ((100, 1),)
# Array trials: N=runs, at sizes of the per-job plan (they are compared with its trials).
ARRAY_PLAN = ((1000, 2), (10000, 1))
SMOKE_ARRAY_PLAN = ((100, 1),)
ARRAY_MIN_SIZE = 10
MEMORY_SUBMIT_RATE = 1000.0
STATUS_ROUNDS = 3

NOTES = [
    "How this is measured: a driver replaces Snakemake's scheduling loop and feeds the "
    "plugin's real Executor the real Job objects of an N-job workflow (Snakemake's Python "
    "API, S3 default storage on the local endpoint). It is not a whole `snakemake` run: "
    "Snakemake's job selection and post-processing are skipped, and jobs never run their "
    "command (the endpoint holds them RUNNABLE, then lets them succeed at once).",
    "Snakemake's own status thread is stopped before the first job is submitted; every "
    "status round in the table is one the driver ran through `executor.check_active_jobs`.",
    "CPU ms/job (process): CPU time of the whole Snakemake process from the `run_jobs` call "
    "until every job has its batch id, divided by N. It includes Snakemake's per-job work "
    "in `run_jobs` (job logging, `format_job_exec`, start markers), the plugin's request "
    "building, and botocore's request signing, HTTP and parsing in the submission threads, "
    "including refused attempts. CPU ms/job (run_jobs thread) is the part spent in the "
    "thread that called `run_jobs`. The endpoint runs in another process and is not "
    "included.",
    "Array jobs: the driver hands all N jobs to one `run_jobs` call, as Snakemake does when "
    "its job rate is raised; a real run needs `--max-jobs-per-timespan 10000/1s` for that "
    "(by default Snakemake hands over at most 100 jobs a second, so an array holds at most "
    "100 jobs).",
]


def trial_command(
    info_file: Path, workdir: Path, n: int, out: Path, *, kind: str, index: int
) -> list[str]:
    command = [
        sys.executable, "-m", "benchmarks.trial",
        "--endpoint", str(info_file),
        "--n", str(n),
        "--workdir", str(workdir / f"{kind}-{n}-{index}"),
        "--out", str(out),
        "--status-rounds", str(STATUS_ROUNDS),
    ]  # fmt: skip
    if kind == "memory":
        command += ["--trace-memory", "--latency-ms", "0", "--submit-limit", "0"]
        command += ["--submit-rate", str(MEMORY_SUBMIT_RATE)]
    elif kind == "profile":
        command += ["--profile"]
    elif kind == "array":
        command += ["--array-min-size", str(ARRAY_MIN_SIZE)]
    return command


def run_trial(
    info: EndpointInfo, info_file: Path, workdir: Path, n: int, *, kind: str, index: int
) -> dict[str, Any]:
    out = workdir / f"{kind}-{n}-{index}.json"
    log = workdir / f"{kind}-{n}-{index}.log"
    command = trial_command(info_file, workdir, n, out, kind=kind, index=index)
    command += ["--prefix", f"s3://{info.bucket}/bench/{kind}-{n}-{index}-{time.time_ns()}"]
    started = time.monotonic()
    with log.open("w") as stream:
        done = subprocess.run(
            command,
            cwd=ROOT,
            stdout=stream,
            stderr=subprocess.STDOUT,
            timeout=TRIAL_TIMEOUT,
            check=False,
        )
    if done.returncode != 0 or not out.exists():
        tail = log.read_text(errors="replace")[-4000:]
        raise RuntimeError(f"{kind} trial with {n} jobs failed ({done.returncode}):\n{tail}")
    trial: dict[str, Any] = json.loads(out.read_text())
    trial["kind"] = kind
    trial["wall_seconds"] = time.monotonic() - started
    return trial


def run_size(
    n: int, repeats: int, workdir: Path, *, arrays: int, memory: bool, profile: bool
) -> dict[str, list[dict[str, Any]]]:
    trials: dict[str, list[dict[str, Any]]] = {
        "timing": [],
        "array": [],
        "memory": [],
        "profile": [],
    }
    size_dir = workdir / f"n{n}"
    size_dir.mkdir(parents=True, exist_ok=True)
    with EndpointProcess(size_dir / "endpoint") as info:
        info_file = size_dir / "endpoint.json"
        info_file.write_text(info.to_json())
        plan = [("timing", i) for i in range(repeats)]
        plan += [("array", i) for i in range(arrays)]
        if memory:
            plan.append(("memory", 0))
        if profile:
            plan.append(("profile", 0))
        for position, (kind, index) in enumerate(plan):
            print(f"  {kind} trial {index + 1} with {n:,} jobs ...", end=" ", flush=True)
            trial = run_trial(info, info_file, size_dir, n, kind=kind, index=index)
            trial["fresh_endpoint"] = position == 0
            trial["endpoint"] = info.kind
            trials[kind].append(trial)
            print(_one_line(trial), flush=True)
    return trials


def _one_line(trial: dict[str, Any]) -> str:
    submit = trial["submit"]
    calls = report.server_calls(submit)
    text = (
        f"{trial['wall_seconds']:.0f} s: {submit['jobs_per_second']:.1f} jobs/s, "
        f"SubmitJob {calls.get('SubmitJob', 0)} "
        f"(refused {report.refused(submit, 'SubmitJob')}), "
        f"DescribeJobs/round {report.status_calls(trial)}"
    )
    sizes = (submit.get("arrays") or {}).get("array_sizes")
    if sizes:
        text += f", {len(sizes)} array jobs of {min(sizes)}-{max(sizes)}"
    if "traced" in trial:
        text += f", plugin {trial['traced']['plugin_lines_bytes_per_job']:.0f} B/job"
    return text


def _strip(trial: dict[str, Any]) -> dict[str, Any]:
    return {
        k: v
        for k, v in trial.items()
        if k not in ("profile", "run_jobs_profile", "startup_profile")
    }


def update_readme(markdown: str) -> None:
    text = README.read_text()
    start, end = text.find(START_MARK), text.find(END_MARK)
    if start < 0 or end < start:
        text = text.rstrip("\n") + f"\n\n## Latest results\n\n{START_MARK}\n{END_MARK}\n"
        start, end = text.find(START_MARK), text.find(END_MARK)
    README.write_text(text[: start + len(START_MARK)] + "\n" + markdown + text[end:])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="100 jobs, one run (~1 minute)")
    parser.add_argument(
        "--sizes", help="comma-separated N=repeats pairs, e.g. 100=3,1000=3 (default: full plan)"
    )
    parser.add_argument(
        "--arrays",
        help="N=runs pairs of array trials, at sizes of the plan, or 'none' "
        "(default: 1000=2,10000=1; with --smoke 100=1)",
    )
    parser.add_argument("--no-memory", action="store_true", help="skip the tracemalloc trials")
    parser.add_argument(
        "--profile-size", type=int, default=1000, help="N of the profiled trial (0: none)"
    )
    parser.add_argument(
        "--cli",
        type=int,
        default=0,
        metavar="N",
        help="also time a whole snakemake command-line run of N jobs that really run",
    )
    parser.add_argument("--workdir", type=Path, default=ROOT / ".bench", help="scratch space")
    parser.add_argument("--out", type=Path, help="results JSON (default: benchmarks/results.json)")
    parser.add_argument("--no-readme", action="store_true", help="leave README.md alone")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target fails")
    args = parser.parse_args(argv)
    sizes = {n for n, _ in _plan(args)}
    stray = sorted(set(_array_plan(args, sizes)) - sizes)
    if stray:
        parser.error(
            f"--arrays {', '.join(map(str, stray))}: array trials are compared with the "
            f"per-job trials of the same N; add it to --sizes (planned: {sorted(sizes)})"
        )
    result = run(args)
    failed = [c for s in result["summaries"] for c in _targets(s) if c["passed"] is False]
    return 1 if args.strict and failed else 0


def _targets(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """The per-job targets of one N, then those of its array trials."""
    return [*summary["targets"], *(summary.get("arrays") or {}).get("targets", [])]


def _pairs(text: str) -> tuple[tuple[int, int], ...]:
    pairs = [item.split("=") for item in text.split(",")]
    return tuple((int(n), int(r[0]) if r else 1) for n, *r in pairs)


def _plan(args: argparse.Namespace) -> tuple[tuple[int, int], ...]:
    if args.sizes:
        return _pairs(args.sizes)
    return SMOKE_PLAN if args.smoke else FULL_PLAN


def _array_plan(args: argparse.Namespace, sizes: set[int]) -> dict[int, int]:
    """Array trials per N. By default those of the plan's sizes; ``--arrays`` names them."""
    if args.arrays:
        return {} if args.arrays == "none" else dict(_pairs(args.arrays))
    default = SMOKE_ARRAY_PLAN if args.smoke else ARRAY_PLAN
    return {n: runs for n, runs in default if n in sizes}


def run(args: argparse.Namespace) -> dict[str, Any]:
    started = time.monotonic()
    plan = _plan(args)
    array_plan = _array_plan(args, {n for n, _ in plan})
    workdir = args.workdir / ("smoke" if args.smoke else "full")
    workdir.mkdir(parents=True, exist_ok=True)
    about = machine.describe()
    print(f"Benchmarking the aws-batch executor: {machine.one_line(about)}", flush=True)
    summaries, raw, profile = [], {}, None
    for n, repeats in plan:
        trials = run_size(
            n,
            repeats,
            workdir,
            arrays=array_plan.get(n, 0),
            # The smoke's second trial is a re-run on the same endpoint.
            memory=not args.no_memory or args.smoke,
            profile=not args.smoke and n == args.profile_size,
        )
        summary = report.summarise(n, trials["timing"], trials["memory"])
        if trials["array"]:
            summary["arrays"] = report.summarise_arrays(
                n, trials["timing"], trials["array"], min_size=ARRAY_MIN_SIZE
            )
        summaries.append(summary)
        raw[str(n)] = [_strip(t) for kind in ("timing", "array", "memory") for t in trials[kind]]
        if trials["profile"]:
            profiled = trials["profile"][0]
            profile = {
                "n": n,
                "top": profiled["profile"],
                "run_jobs_top": profiled.get("run_jobs_profile", []),
                "startup_top": profiled.get("startup_profile", []),
                "startup_seconds": profiled["startup_seconds"],
            }
    cli = None
    if args.cli:
        from . import cli_run

        print(f"  whole snakemake run with {args.cli:,} jobs ...", end=" ", flush=True)
        cli = cli_run.run_cli(args.cli, workdir / f"cli-{args.cli}", jobs=args.cli)
        print(f"{cli['seconds']:.0f} s, exit code {cli['returncode']}", flush=True)
    seconds = time.monotonic() - started
    endpoint = raw[str(plan[0][0])][0]["endpoint"]
    notes = list(NOTES)
    if endpoint != "local":
        notes.append(
            "The endpoint was moto's plain server (the local endpoint was not installed): no "
            "added latency, no SubmitJob limit, jobs succeed at once, calls counted by the client."
        )
    notes.append(f"Total benchmark time: {seconds / 60:.1f} minutes.")
    markdown = report.markdown(summaries, machine.one_line(about), notes)
    if cli:
        from . import cli_run

        markdown += "\n" + cli_run.markdown(cli)
    if profile:
        markdown += "\n" + report.profile_markdown(profile)
    result = {
        "machine": about,
        "plan": [{"n": n, "timing_runs": r, "array_runs": array_plan.get(n, 0)} for n, r in plan],
        "endpoint": endpoint,
        "seconds": seconds,
        "summaries": summaries,
        "profile": profile,
        "cli": cli,
        "trials": raw,
    }
    out = args.out or (workdir / "results.json" if args.smoke else RESULTS)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    if not args.smoke and not args.no_readme:
        update_readme(markdown)
    print()
    print(markdown)
    for summary in summaries:
        for check in _targets(summary):
            print(f"{report.verdict(check['passed'])}  N={summary['n']:,}  {check['target']}")
    print(f"\nResults: {out}. Took {seconds:.0f} s.")
    return result


if __name__ == "__main__":
    sys.exit(main())
