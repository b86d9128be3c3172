"""The driver that stands in for Snakemake's scheduling loop during a benchmark trial.

:func:`install` replaces ``JobScheduler.schedule``. When Snakemake calls it, the
scheduler's ``_executor`` is the plugin's real Executor, built on the real workflow,
and the DAG holds real Job objects. The driver then

1. stops Snakemake's own status thread (it has checked nothing yet: no job was
   active), so that every status round below is one the driver started;
2. submits all N jobs with one ``executor.run_jobs`` call (the plugin's real submission
   path: request building, ``format_job_exec``, array grouping when ``array_min_size``
   is set, the submission pool and rate limiter) and waits until every job has an AWS
   Batch id (an array child's is ``parent:index``, set when its array is accepted);
3. runs status rounds through ``executor.check_active_jobs`` while the endpoint holds
   the jobs (array children too) RUNNABLE, then asks the endpoint once what it holds;
4. releases the jobs (they succeed without running), runs rounds until each one has
   been reported, and calls ``executor.shutdown()``: the clean-up phase.

API calls are counted by the endpoint (per operation, server side) and by hooks on
the plugin's own boto3 clients (client side: every attempt the plugin sends).
"""

from __future__ import annotations

import asyncio
import collections
import cProfile
import gc
import io
import json
import math
import pstats
import re
import resource
import sys
import threading
import time
import traceback
import tracemalloc
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .endpoint import Control, EndpointInfo

PLUGIN_PATTERN = "*snakemake_executor_plugin_aws_batch/*"
TRACE_FRAMES = 1  # deeper tracebacks make tracing ~20 times slower
SUBMIT_TIMEOUT = 3600.0
STALL_SECONDS = 180.0  # no job got its batch id for this long: show every thread, give up
FINISH_TIMEOUT = 900.0
TOP_ALLOCATIONS = 8
PROFILE_TOP = 25


@dataclass
class TrialConfig:
    n: int
    out: str
    latency_ms: float = 50.0
    submit_limit: float | None = 50.0
    status_rounds: int = 3
    trace_memory: bool = False
    trace_frames: int = TRACE_FRAMES
    profile: bool = False
    process_started: float = 0.0  # time.monotonic() at the start of the process
    array_min_size: int = 0  # the plugin's setting: 0 submits every job alone


class CallCounter:
    """Counts the requests the plugin's boto3 clients send, per operation (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: collections.Counter[str] = collections.Counter()

    def attach(self, client: Any) -> None:
        client.meta.events.register("before-send", self._count)
        client.meta.events.register("response-received", self._answer)

    def _count(self, event_name: str = "", **_: Any) -> None:
        operation = event_name.rsplit(".", 1)[-1]
        with self._lock:
            self._counts[operation] += 1

    def _answer(self, event_name: str = "", response_dict: Any = None, **_: Any) -> None:
        """Count refused attempts as ``Operation:429`` (or another HTTP status >= 400)."""
        status = int((response_dict or {}).get("status_code") or 0)
        if status >= 400:
            operation = event_name.rsplit(".", 1)[-1]
            with self._lock:
                self._counts[f"{operation}:{status}"] += 1

    def take(self) -> dict[str, int]:
        """The counts since the last call, then start again from zero."""
        with self._lock:
            counts = dict(self._counts)
            self._counts.clear()
        return counts


COUNTER = CallCounter()
# Profiles Snakemake's start-up (until the driver runs) in profiled trials.
STARTUP_PROFILER: cProfile.Profile | None = None


def count_plugin_clients() -> None:
    """Wrap the plugin's client factory so that its clients report every request sent."""
    from snakemake_executor_plugin_aws_batch.aws import boundary

    original: Callable[..., Any] = boundary.make_clients

    def make_clients(*args: Any, **kwargs: Any) -> Any:
        clients = original(*args, **kwargs)
        COUNTER.attach(clients.batch)
        COUNTER.attach(clients.logs)
        return clients

    boundary.make_clients = make_clients


def batch_only(calls: dict[str, int]) -> dict[str, int]:
    """AWS Batch and CloudWatch Logs operations: server names carry no service prefix."""
    return {k: v for k, v in sorted(calls.items()) if "." not in k}


def rss_kib() -> int:
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * resource.getpagesize() // 1024


def peak_rss_kib() -> int:
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)  # KiB on Linux


class Driver:
    def __init__(self, scheduler: Any, config: TrialConfig, control: Control) -> None:
        self.scheduler = scheduler
        self.executor = scheduler._executor
        self.workflow = scheduler.workflow
        self.config = config
        self.control = control
        self.result: dict[str, Any] = {"n": config.n, "config": asdict(config)}
        # One profiler per phase: run_jobs (the scheduler thread handing jobs over) and
        # the status rounds.
        self.profilers: dict[str, cProfile.Profile] = (
            {"run_jobs": cProfile.Profile(), "status": cProfile.Profile()} if config.profile else {}
        )
        self.reported: collections.Counter[str] = collections.Counter()

    # -- helpers -----------------------------------------------------------------------
    def _calls(self) -> dict[str, Any]:
        """Calls since the last reset, server and client side; then reset both."""
        server = batch_only(self.control.calls())
        self.control.reset_calls()
        return {"server": server, "client": COUNTER.take()}

    def _jobs(self) -> list[Any]:
        jobs = [
            job
            for job in self.workflow.dag.needrun_jobs()
            if not job.is_group() and job.rule.name != "all"
        ]
        jobs.sort(key=lambda job: job.jobid)
        return jobs

    def _count_reports(self) -> None:
        """Count the jobs the executor reports as finished (the callbacks only queue them)."""
        scheduler = self.scheduler
        success, error = scheduler.finish_callback, scheduler.error_callback

        def succeeded(job: Any) -> None:
            self.reported["succeeded"] += 1
            success(job)

        def failed(job: Any) -> None:
            self.reported["failed"] += 1
            error(job)

        scheduler.finish_callback, scheduler.error_callback = succeeded, failed

    def _stop_snakemake_status_thread(self) -> None:
        with self.executor.lock:
            self.executor.wait = False
        self.executor.wait_thread.join(timeout=60)

    def _profiled(self, phase: str, function: Callable[[], Any]) -> Any:
        profiler = self.profilers.get(phase)
        if profiler is None:
            return function()
        profiler.enable()
        try:
            return function()
        finally:
            profiler.disable()

    # -- the phases ----------------------------------------------------------------------
    def run(self) -> bool:
        self.result["startup_seconds"] = time.monotonic() - self.config.process_started
        if STARTUP_PROFILER is not None:
            STARTUP_PROFILER.disable()
            self.result["startup_profile"] = profile_table(STARTUP_PROFILER, key="cumtime")
        self.result["rss_before_submit_kib"] = rss_kib()
        self._stop_snakemake_status_thread()
        self._count_reports()
        jobs = self._jobs()
        if len(jobs) != self.config.n:
            raise RuntimeError(f"expected {self.config.n} jobs to run, the DAG has {len(jobs)}")
        self.control.set_knobs(
            latency_ms=self.config.latency_ms,
            submit_rate_limit=self.config.submit_limit,
            hold_jobs=True,
            instant_jobs=True,
        )
        self.result["startup_calls"] = self._calls()
        infos = self._submit(jobs)
        self._finish(self._status(infos))
        self._cleanup()
        self.result["rss_peak_kib"] = peak_rss_kib()
        if self.profilers:
            self.result["profile"] = profile_table(self.profilers["status"])
            self.result["run_jobs_profile"] = profile_table(
                self.profilers["run_jobs"], key="cumtime"
            )
        with open(self.config.out, "w") as out:
            json.dump(self.result, out, indent=1)
        return True

    def _submit(self, jobs: list[Any]) -> list[Any]:
        n = len(jobs)
        tracing = self.config.trace_memory
        if tracing:
            gc.collect()
            tracemalloc.start(self.config.trace_frames)
            before = tracemalloc.take_snapshot()
        cpu0, wall0 = time.process_time(), time.perf_counter()
        thread0 = time.thread_time()
        # Submission starts while run_jobs is still handing jobs over: a watcher thread
        # notes when the first job has its batch id.
        first_id: list[float] = []
        watcher = threading.Thread(target=self._watch_first_id, args=(first_id,), daemon=True)
        watcher.start()
        self._profiled("run_jobs", lambda: self.executor.run_jobs(jobs))
        run_jobs_seconds = time.perf_counter() - wall0
        run_jobs_cpu = time.thread_time() - thread0
        with self.executor.lock:
            infos = list(self.executor.active_jobs)
        if len(infos) != n:
            raise RuntimeError(f"run_jobs left {len(infos)} of {n} jobs active")
        records = [info.aux["record"] for info in infos]
        # Polled cheaply, so the poll itself does not compete with the submission threads:
        # jobs get their answers roughly in the order they were queued, so a cursor
        # advances past answered jobs instead of scanning all N every time.
        deadline = time.monotonic() + SUBMIT_TIMEOUT
        done, progress_at = 0, time.monotonic()
        while True:
            seen = done
            while done < n and (records[done].batch_id or records[done].error) is not None:
                done += 1
            if done >= n:
                break
            now = time.monotonic()
            if done != seen:
                progress_at = now
            elif now - progress_at > STALL_SECONDS:
                _dump_threads()
                raise RuntimeError(f"submission stalled at {done} of {n} jobs")
            if now > deadline:
                raise RuntimeError(f"only {done} of {n} jobs were submitted in time")
            time.sleep(0.005)
        last_id_at = time.perf_counter()
        seconds = last_id_at - wall0
        cpu = time.process_time() - cpu0
        watcher.join(timeout=1)
        first_id_at = first_id[0] if first_id else last_id_at
        ids = [r.batch_id for r in records if r.batch_id is not None]
        submit: dict[str, Any] = {
            "seconds": seconds,
            "jobs_per_second": n / seconds,
            # Before the first answer: run_jobs, the job definition look-up, one call.
            "first_id_seconds": first_id_at - wall0,
            # From the first answer to the last: the paced part (polled every 5 ms).
            "paced_jobs_per_second": (n - 1) / max(last_id_at - first_id_at, 1e-9),
            "run_jobs_seconds": run_jobs_seconds,
            "run_jobs_thread_cpu_seconds": run_jobs_cpu,
            "process_cpu_seconds": cpu,
            "active_jobs": len(infos),
            "with_batch_id": len(ids),
            "unique_batch_ids": len(set(ids)),
            "errors": [r.error for r in records if r.error is not None][:5],
            "definitions_registered": len(self.executor.definitions.registered),
            "arrays": _arrays(records),
        }
        if self.config.array_min_size > 0:
            # What the endpoint received, refused attempts included: an array's request
            # carries arrayProperties.size, a single job's none.
            sent = self.control.requests("SubmitJob")
            submit["sent"] = {
                "requests": len(sent),
                "array_sizes": sorted(
                    int(r["arrayProperties"]["size"]) for r in sent if r.get("arrayProperties")
                ),
                "single": sum(1 for r in sent if not r.get("arrayProperties")),
            }
        self.result["rss_after_submit_kib"] = rss_kib()
        if tracing:
            gc.collect()
            after = tracemalloc.take_snapshot()
            tracemalloc.stop()
            self.result["traced"] = _traced(before, after, n)
        submit["calls"] = self._calls()
        self.result["submit"] = submit
        return infos

    def _watch_first_id(self, found: list[float], timeout: float = SUBMIT_TIMEOUT) -> None:
        # A busy machine may take long to send the first request, so the watcher waits as
        # long as submission may.
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.executor.lock:
                head = self.executor.active_jobs[:32]
            if any(info.aux["record"].batch_id for info in head):
                found.append(time.perf_counter())
                return
            time.sleep(0.002)

    def _status(self, infos: list[Any]) -> list[Any]:
        """Status rounds on the held jobs; returns the jobs still active after them."""
        rounds = []

        async def run_rounds() -> list[Any]:
            still = list(infos)
            for _ in range(self.config.status_rounds):
                cpu0, wall0 = time.process_time(), time.perf_counter()
                active = len(still)
                still = [info async for info in self.executor.check_active_jobs(still)]
                rounds.append(
                    {
                        "seconds": time.perf_counter() - wall0,
                        "process_cpu_seconds": time.process_time() - cpu0,
                        "active": active,
                        "still_active": len(still),
                        "calls": self._calls(),
                    }
                )
            return still

        still: list[Any] = self._profiled("status", lambda: asyncio.run(run_rounds()))
        self.result["status"] = {
            "active_jobs": len(infos),
            "expected_describe_calls": math.ceil(len(infos) / 100),
            "max_status_checks_per_second": (
                self.workflow.remote_execution_settings.max_status_checks_per_second
            ),
            "rounds": rounds,
            "held": self._held(infos),
        }
        return still

    def _held(self, infos: list[Any]) -> dict[str, Any]:
        """What the endpoint says of the held jobs, after the rounds: one DescribeJobs of
        every array parent (their statusSummary counts the children) and of single jobs,
        100 ids at most. Its calls are the driver's, not the executor's: not counted."""
        records = [info.aux["record"] for info in infos]
        parents = {
            r.array.batch_id: r.array
            for r in records
            if r.array is not None and r.array.batch_id is not None
        }
        singles = [r.batch_id for r in records if r.array is None and r.batch_id is not None]
        ids = [*parents, *singles][:100]
        described = self.executor.service.describe(ids) if ids else []
        self._calls()
        statuses: collections.Counter[str] = collections.Counter()
        children: collections.Counter[str] = collections.Counter()
        parent_statuses: collections.Counter[str] = collections.Counter()
        for job in described:
            summary = (job.get("arrayProperties") or {}).get("statusSummary")
            if summary is None:
                statuses[str(job.get("status"))] += 1
            else:
                parent_statuses[str(job.get("status"))] += 1
                children.update({k: int(v) for k, v in summary.items() if v})
        return {
            "described": len(described),
            "single_statuses": dict(statuses),
            "parent_statuses": dict(parent_statuses),
            "children_statuses": dict(children),
        }

    def _finish(self, active: list[Any]) -> None:
        """Release the held jobs; rounds until every job has been reported as finished."""
        self.control.set_knobs(hold_jobs=False, latency_ms=0, submit_rate_limit=None)
        wall0 = time.perf_counter()
        rounds = 0

        async def until_done() -> list[Any]:
            nonlocal rounds
            still = active
            deadline = time.monotonic() + FINISH_TIMEOUT
            while still and time.monotonic() < deadline:
                rounds += 1
                still = [info async for info in self.executor.check_active_jobs(still)]
                if still:
                    await asyncio.sleep(0.5)
            return still

        still = asyncio.run(until_done())
        self.result["finish"] = {
            "seconds": time.perf_counter() - wall0,
            "rounds": rounds,
            "reported_succeeded": self.reported["succeeded"],
            "reported_failed": self.reported["failed"],
            "unfinished": len(still),
            "calls": self._calls(),
        }

    def _cleanup(self) -> None:
        with self.executor.lock:
            self.executor.active_jobs.clear()
        self.executor.shutdown()
        after_shutdown = self._calls()
        self.executor.cancel_jobs([])
        self.result["cleanup"] = {
            "shutdown_calls": after_shutdown,
            "cancel_after_finish_calls": self._calls(),
            "live_after": len(self.executor.jobs),
        }


def _arrays(records: list[Any]) -> dict[str, Any]:
    """How the plugin grouped the jobs: its array jobs and the jobs that went alone."""
    arrays = {id(r.array): r.array for r in records if r.array is not None}.values()
    children = [r for r in records if r.array is not None]
    return {
        "jobs_in_arrays": len(children),
        "single_jobs": len(records) - len(children),
        "array_sizes": sorted(array.size for array in arrays),
        "arrays_with_batch_id": sum(1 for array in arrays if array.batch_id is not None),
        # A child's batch id is its parent's and its index: ``parent:index``.
        "child_ids_match": all(
            r.batch_id == f"{r.array.batch_id}:{r.index}" for r in children if r.batch_id
        ),
    }


def profile_table(profiler: cProfile.Profile, *, key: str = "tottime") -> list[dict[str, Any]]:
    """The top functions of a profile, by ``key`` (``tottime`` or ``cumtime``)."""
    stats = pstats.Stats(profiler, stream=io.StringIO())
    rows = []
    for (filename, line, name), entry in stats.stats.items():  # type: ignore[attr-defined]
        _cc, calls, tottime, cumtime, _callers = entry
        rows.append(
            {
                "function": f"{_short(filename)}:{line}({name})",
                "calls": calls,
                "tottime": tottime,
                "cumtime": cumtime,
            }
        )
    rows.sort(key=lambda row: float(row[key]), reverse=True)
    return rows[:PROFILE_TOP]


def _dump_threads() -> None:
    """Every thread's stack on stderr (the trial's log), to show where a stall is."""
    for thread_id, frame in sys._current_frames().items():
        names = [t.name for t in threading.enumerate() if t.ident == thread_id]
        print(f"--- thread {names[0] if names else thread_id}", file=sys.stderr)
        traceback.print_stack(frame, file=sys.stderr)


REPOSITORY = f"{Path(__file__).resolve().parents[1]}/"
STANDARD_LIBRARY = re.compile(r".*/lib/python3\.\d+/")


def _short(filename: str) -> str:
    """A profiled function's file, without the part that differs between machines."""
    for marker in ("site-packages/", "/src/"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    if filename.startswith(REPOSITORY):
        return filename.removeprefix(REPOSITORY)
    return STANDARD_LIBRARY.sub("", filename)


def _traced(before: tracemalloc.Snapshot, after: tracemalloc.Snapshot, n: int) -> dict[str, Any]:
    """Net allocations between two snapshots that are attributed to the plugin."""
    lines = [tracemalloc.Filter(True, PLUGIN_PATTERN, all_frames=False)]
    stacks = [tracemalloc.Filter(True, PLUGIN_PATTERN, all_frames=True)]

    def net(filters: list[tracemalloc.Filter]) -> tuple[int, list[tracemalloc.StatisticDiff]]:
        diff = after.filter_traces(filters).compare_to(before.filter_traces(filters), "lineno")
        return sum(d.size_diff for d in diff), diff

    line_bytes, line_diff = net(lines)
    stack_bytes, _ = net(stacks)
    total = sum(d.size_diff for d in after.compare_to(before, "filename"))
    return {
        "plugin_lines_bytes": line_bytes,
        "plugin_lines_bytes_per_job": line_bytes / n,
        "plugin_stack_bytes": stack_bytes,
        "plugin_stack_bytes_per_job": stack_bytes / n,
        "process_bytes": total,
        "process_bytes_per_job": total / n,
        "top_plugin_lines": [
            {
                "where": f"{_short(str(d.traceback[0].filename))}:{d.traceback[0].lineno}",
                "bytes": d.size_diff,
                "count": d.count_diff,
            }
            for d in _largest(line_diff)
        ],
    }


def _largest(diff: Iterable[tracemalloc.StatisticDiff]) -> list[tracemalloc.StatisticDiff]:
    return sorted(diff, key=lambda d: d.size_diff, reverse=True)[:TOP_ALLOCATIONS]


def install(config: TrialConfig, info: EndpointInfo) -> None:
    """Make ``JobScheduler.schedule`` run a :class:`Driver` (in this process only)."""
    from snakemake.scheduling.job_scheduler import JobScheduler

    control = Control(info)

    def schedule(self: Any) -> bool:
        return Driver(self, config, control).run()

    JobScheduler.schedule = schedule
