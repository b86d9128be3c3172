"""Turn trial results into summaries, target checks and Markdown tables."""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

SUBMIT_LIMIT = 50.0
THROUGHPUT_TARGET = 0.9
MEMORY_TARGET_BYTES = 2048
# Array jobs against per-job submission at the same N (the targets for 10,000).
ARRAY_JOBS_PER_CALL = 100  # at most ceil(N/100) SubmitJob calls
ARRAY_TIME_FRACTION = 0.10  # of the per-job submission time
ARRAY_ROUND_FRACTION = 0.01  # of the per-job status round's calls
ARRAY_FIRST_ID_SECONDS = 1.0  # from run_jobs to the first job's batch id, with arrays
CLEANUP_OPERATIONS = ("TerminateJob", "CancelJob", "DeregisterJobDefinition", "GetLogEvents")

Trial = dict[str, Any]


@dataclass
class Spread:
    median: float
    low: float
    high: float
    count: int

    @classmethod
    def of(cls, values: Iterable[float]) -> Spread | None:
        items = sorted(values)
        if not items:
            return None
        return cls(statistics.median(items), items[0], items[-1], len(items))

    def as_dict(self) -> dict[str, float | int]:
        return {"median": self.median, "min": self.low, "max": self.high, "runs": self.count}

    def text(self, fmt: str = "{:.1f}") -> str:
        middle = fmt.format(self.median)
        if self.count < 2:
            return middle
        return f"{middle} ({fmt.format(self.low)}-{fmt.format(self.high)})"


def server_calls(phase: dict[str, Any]) -> dict[str, int]:
    """The endpoint's counts when it has them, else what the plugin's clients sent."""
    calls = phase["calls"]
    if calls["server"]:
        return dict(calls["server"])
    return {k: v for k, v in calls["client"].items() if ":" not in k}


def refused(phase: dict[str, Any], operation: str) -> int:
    return sum(v for k, v in phase["calls"]["client"].items() if k.startswith(f"{operation}:"))


def status_calls(trial: Trial) -> list[int]:
    return [server_calls(r).get("DescribeJobs", 0) for r in trial["status"]["rounds"]]


def cleanup_calls(trial: Trial) -> dict[str, int]:
    total: dict[str, int] = {}
    for key in ("shutdown_calls", "cancel_after_finish_calls"):
        phase = {"calls": trial["cleanup"][key]}
        for operation, count in server_calls(phase).items():
            total[operation] = total.get(operation, 0) + count
    return total


def _phase_calls(trials: list[Trial], get: Callable[[Trial], dict[str, int]]) -> dict[str, Spread]:
    operations = sorted({op for trial in trials for op in get(trial)})
    out: dict[str, Spread] = {}
    for operation in operations:
        spread = Spread.of(get(trial).get(operation, 0) / trial["n"] for trial in trials)
        if spread is not None:
            out[operation] = spread
    return out


def summarise(n: int, timing: list[Trial], memory: list[Trial]) -> dict[str, Any]:
    """Medians and spreads of one size, from its timing trials (and memory trials)."""
    everything = timing + memory
    submit_per_job = _phase_calls(timing, lambda t: server_calls(t["submit"]))
    status_per_job = _phase_calls(
        timing, lambda t: server_calls({"calls": _merge(t["status"]["rounds"])})
    )
    cleanup_per_job = _phase_calls(timing, cleanup_calls)
    rounds = [r for t in timing for r in t["status"]["rounds"]]
    throughput = Spread.of(t["submit"]["jobs_per_second"] for t in timing)
    summary: dict[str, Any] = {
        "n": n,
        "timing_runs": len(timing),
        "memory_runs": len(memory),
        "calls_per_job": {
            "submit": {k: v.as_dict() for k, v in submit_per_job.items()},
            "status_rounds": {k: v.as_dict() for k, v in status_per_job.items()},
            "cleanup": {k: v.as_dict() for k, v in cleanup_per_job.items()},
        },
        "submit_job_accepted": [_accepted(t) for t in everything],
        "submit_job_refused": [refused(t["submit"], "SubmitJob") for t in timing],
        "with_batch_id": [t["submit"]["with_batch_id"] for t in everything],
        "unique_batch_ids": [t["submit"]["unique_batch_ids"] for t in everything],
        "register_fresh": [
            server_calls(t["submit"]).get("RegisterJobDefinition", 0)
            for t in everything
            if t.get("fresh_endpoint")
        ],
        "register_rerun": [
            server_calls(t["submit"]).get("RegisterJobDefinition", 0)
            for t in everything
            if not t.get("fresh_endpoint")
        ],
        "throughput": throughput.as_dict() if throughput else None,
        "first_id_seconds": _spread_dict(
            t["submit"]["first_id_seconds"] for t in timing if "first_id_seconds" in t["submit"]
        ),
        "paced_throughput": _spread_dict(
            t["submit"]["paced_jobs_per_second"]
            for t in timing
            if "paced_jobs_per_second" in t["submit"]
        ),
        "status_round": {
            "active_jobs": n,
            "expected_describe_calls": math.ceil(n / 100),
            "describe_calls": [c for t in timing for c in status_calls(t)],
            "seconds": _spread_dict(r["seconds"] for r in rounds),
            "cpu_ms_per_job": _spread_dict(
                1000 * r["process_cpu_seconds"] / max(1, r["active"]) for r in rounds
            ),
        },
        "finish": {
            "rounds": [t["finish"]["rounds"] for t in timing],
            "reported_succeeded": [t["finish"]["reported_succeeded"] for t in timing],
            "reported_failed": [t["finish"]["reported_failed"] for t in everything],
        },
        "peak_rss_mib": _spread_dict(t["rss_peak_kib"] / 1024 for t in timing),
        "rss_growth_kib_per_job": _spread_dict(
            (t["rss_after_submit_kib"] - t["rss_before_submit_kib"]) / n for t in timing
        ),
        "submit_cpu_ms_per_job": _spread_dict(
            1000 * t["submit"]["process_cpu_seconds"] / n for t in timing
        ),
        "run_jobs_cpu_ms_per_job": _spread_dict(
            1000 * t["submit"]["run_jobs_thread_cpu_seconds"] / n for t in timing
        ),
        "run_jobs_seconds": _spread_dict(t["submit"]["run_jobs_seconds"] for t in timing),
        "startup_seconds": _spread_dict(t["startup_seconds"] for t in timing),
        "plugin_bytes_per_job": _spread_dict(
            t["traced"]["plugin_lines_bytes_per_job"] for t in memory if "traced" in t
        ),
        "process_bytes_per_job": _spread_dict(
            t["traced"]["process_bytes_per_job"] for t in memory if "traced" in t
        ),
        "top_plugin_lines": next(
            (t["traced"]["top_plugin_lines"] for t in memory if "traced" in t), []
        ),
    }
    summary["targets"] = targets(summary)
    return summary


def _accepted(trial: Trial) -> int:
    calls = server_calls(trial["submit"]).get("SubmitJob", 0)
    return calls - refused(trial["submit"], "SubmitJob")


def _merge(rounds: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    merged: dict[str, dict[str, int]] = {"server": {}, "client": {}}
    for entry in rounds:
        for side in ("server", "client"):
            for operation, count in entry["calls"][side].items():
                merged[side][operation] = merged[side].get(operation, 0) + count
    return merged


def _spread_dict(values: Iterable[float]) -> dict[str, float | int] | None:
    spread = Spread.of(values)
    return spread.as_dict() if spread else None


def _spread(entry: dict[str, Any] | None) -> Spread | None:
    if not entry:
        return None
    return Spread(entry["median"], entry["min"], entry["max"], entry["runs"])


# -- array jobs against per-job submission ---------------------------------------------------
def round_calls(trial: Trial) -> list[dict[str, int]]:
    """The calls of each status round (the jobs held: nothing changed between rounds)."""
    return [server_calls(r) for r in trial["status"]["rounds"]]


def _side(n: int, trials: list[Trial]) -> dict[str, Any]:
    """One way of submitting (per job or as arrays) at one N: what the table shows."""
    rounds = [calls for t in trials for calls in round_calls(t)]
    operations = sorted({"DescribeJobs", "ListJobs", *(op for calls in rounds for op in calls)})
    grouping = [t["submit"].get("arrays") or {} for t in trials]
    return {
        "runs": len(trials),
        "submit_calls": [server_calls(t["submit"]).get("SubmitJob", 0) for t in trials],
        "accepted": [_accepted(t) for t in trials],
        "refused": [refused(t["submit"], "SubmitJob") for t in trials],
        "array_sizes": [g.get("array_sizes", []) for g in grouping],
        "single_jobs": [g.get("single_jobs", n) for g in grouping],
        "arrays_with_batch_id": [g.get("arrays_with_batch_id", 0) for g in grouping],
        "child_ids_match": [g.get("child_ids_match", True) for g in grouping],
        "sent_array_sizes": [t["submit"].get("sent", {}).get("array_sizes") for t in trials],
        "with_batch_id": [t["submit"]["with_batch_id"] for t in trials],
        "unique_batch_ids": [t["submit"]["unique_batch_ids"] for t in trials],
        "seconds": _spread_dict(t["submit"]["seconds"] for t in trials),
        "run_jobs_seconds": _spread_dict(t["submit"]["run_jobs_seconds"] for t in trials),
        "first_id_seconds": _spread_dict(t["submit"]["first_id_seconds"] for t in trials),
        "round_calls": {op: [calls.get(op, 0) for calls in rounds] for op in operations},
        "round_total": [sum(calls.values()) for calls in rounds],
        "round_seconds": _spread_dict(r["seconds"] for t in trials for r in t["status"]["rounds"]),
        "still_active": [r["still_active"] for t in trials for r in t["status"]["rounds"]],
        "held": [t["status"].get("held") for t in trials],
        "finish_calls": [server_calls(t["finish"]) for t in trials],
        "finish_rounds": [t["finish"]["rounds"] for t in trials],
        "reported_succeeded": [t["finish"]["reported_succeeded"] for t in trials],
        "reported_failed": [t["finish"]["reported_failed"] for t in trials],
    }


def summarise_arrays(
    n: int, per_job: list[Trial], array: list[Trial], *, min_size: int
) -> dict[str, Any]:
    """Array trials side by side with the per-job timing trials of the same run and N."""
    summary: dict[str, Any] = {
        "n": n,
        "array_min_size": min_size,
        "per_job": _side(n, per_job),
        "array": _side(n, array),
    }
    summary["targets"] = array_targets(summary)
    return summary


def array_targets(summary: dict[str, Any]) -> list[dict[str, Any]]:
    n, per_job, array = summary["n"], summary["per_job"], summary["array"]
    checks = []

    def check(name: str, passed: bool | None, measured: str) -> None:
        checks.append({"target": name, "passed": passed, "measured": measured})

    # Every request the plugin needed was accepted once: one per array, one per single job.
    grouping = zip(array["array_sizes"], array["single_jobs"], strict=True)
    needed = [len(sizes) + single for sizes, single in grouping]
    correct = (
        all(b == n for b in array["with_batch_id"] + array["unique_batch_ids"])
        and array["accepted"] == needed
        and all(array["child_ids_match"])
        and all(r == n for r in array["reported_succeeded"])
        and not any(array["reported_failed"])
    )
    check(
        "arrays: every job has its own batch id (parent:index), one accepted SubmitJob per "
        "array or single job, every job reported succeeded",
        correct,
        f"with a batch id {array['with_batch_id']}, unique {array['unique_batch_ids']} of {n}; "
        f"accepted {array['accepted']} for {needed} requests; "
        f"succeeded {array['reported_succeeded']}",
    )
    most = math.ceil(n / ARRAY_JOBS_PER_CALL)
    calls = array["submit_calls"]
    check(
        f"{n:,} jobs in at most {most:,} SubmitJob calls (ceil(N/{ARRAY_JOBS_PER_CALL}), "
        "refused attempts included)",
        bool(calls) and max(calls) <= most,
        f"arrays: {_calls_text(array)}; per job: {_calls_text(per_job)}",
    )
    arrays_s, per_job_s = _spread(array["seconds"]), _spread(per_job["seconds"])
    if arrays_s is None or per_job_s is None:
        check(f"submission time <= {ARRAY_TIME_FRACTION:.0%} of per-job", None, "not measured")
    else:
        fraction = arrays_s.median / per_job_s.median
        check(
            f"submission time <= {ARRAY_TIME_FRACTION:.0%} of per-job submission (medians)",
            fraction <= ARRAY_TIME_FRACTION,
            f"arrays {arrays_s.text('{:.2f}')} s, per job {per_job_s.text('{:.1f}')} s: "
            f"{fraction:.1%}",
        )
    first, prepared = _spread(array["first_id_seconds"]), _spread(array["run_jobs_seconds"])
    check(
        f"arrays: the first job has its batch id within {ARRAY_FIRST_ID_SECONDS:g} s of "
        "run_jobs (median), while the round is still being prepared",
        None if first is None else first.median <= ARRAY_FIRST_ID_SECONDS,
        "not measured"
        if first is None or prepared is None
        else f"first batch id after {first.text('{:.2f}')} s; run_jobs took {prepared.text('{:.2f}')} s",
    )
    check(
        f"status round with {n:,} active children, nothing changed: at most "
        f"{ARRAY_ROUND_FRACTION:.0%} of the per-job round's calls",
        *_round_check(per_job, array),
    )
    return checks


def _round_check(per_job: dict[str, Any], array: dict[str, Any]) -> tuple[bool | None, str]:
    """Calls of the array rounds against the per-job rounds (all calls, every operation).

    Below 100 per-job calls a round (N < 10,000) 1% of them is less than one call: no
    verdict then, the numbers only.
    """
    base = min(per_job["round_total"], default=0)
    if not base or not array["round_total"]:
        return None, "not measured"
    worst = max(array["round_total"])
    allowed = ARRAY_ROUND_FRACTION * base
    measured = (
        f"arrays {_ops_text(array['round_calls'])} per round, per job "
        f"{_ops_text(per_job['round_calls'])}: {worst / base:.1%}"
    )
    if allowed < 1:
        return None, measured + (
            f" ({ARRAY_ROUND_FRACTION:.0%} of {base} calls is less than one call: "
            "the target is set for 10,000 jobs)"
        )
    return worst <= allowed, measured


def _calls_text(side: dict[str, Any]) -> str:
    """SubmitJob calls per run, with how many were accepted and refused."""
    runs = zip(side["submit_calls"], side["accepted"], side["refused"], strict=True)
    return ", ".join(f"{calls} ({ok} accepted, {no} refused)" for calls, ok, no in runs) or "-"


def _ops_text(per_round: dict[str, list[int]]) -> str:
    """Calls per round by operation: median, (min-max) when the rounds differ."""
    parts = []
    for operation, counts in per_round.items():
        spread = Spread.of(counts)
        parts.append(f"{operation} {'-' if spread is None else _num(spread)}")
    return ", ".join(parts)


# -- targets ------------------------------------------------------------------------------
def targets(summary: dict[str, Any]) -> list[dict[str, Any]]:
    n = summary["n"]
    checks = []

    def check(name: str, passed: bool | None, measured: str) -> None:
        checks.append({"target": name, "passed": passed, "measured": measured})

    accepted_ok = all(a == n for a in summary["submit_job_accepted"]) and all(
        b == n for b in summary["with_batch_id"] + summary["unique_batch_ids"]
    )
    check(
        "1 accepted SubmitJob per job: every job has a batch id, none lost or submitted twice",
        accepted_ok,
        f"accepted {sorted(set(summary['submit_job_accepted']))} of {n}, with a batch id "
        f"{sorted(set(summary['with_batch_id']))}, unique {sorted(set(summary['unique_batch_ids']))}",
    )
    refused_runs = summary["submit_job_refused"]
    check(
        "exactly 1 SubmitJob call per job (SubmitJob calls == N: no refused attempt re-sent)",
        accepted_ok and not any(refused_runs),
        f"SubmitJob calls per job {_text(summary['calls_per_job']['submit'].get('SubmitJob'), '{:.2f}')}; "
        f"refused (429) attempts per run: {refused_runs}",
    )
    fresh, rerun = summary["register_fresh"], summary["register_rerun"]
    check(
        "RegisterJobDefinition <= 1 (distinct definitions) on a fresh endpoint, 0 on a re-run",
        all(r <= 1 for r in fresh) and all(r == 0 for r in rerun) and bool(fresh or rerun),
        f"fresh: {fresh}, re-runs: {rerun}",
    )
    cleanup = summary["calls_per_job"]["cleanup"]
    cleanup_total = sum(v["max"] for v in cleanup.values())
    check(
        "0 clean-up calls per job",
        cleanup_total == 0,
        f"{cleanup_total:g} per job" + (f" ({', '.join(cleanup)})" if cleanup else ""),
    )
    status = summary["status_round"]
    expected = status["expected_describe_calls"]
    check(
        f"ceil({n}/100) = {expected} DescribeJobs per status round",
        bool(status["describe_calls"]) and all(c == expected for c in status["describe_calls"]),
        f"per round: {sorted(set(status['describe_calls']))}",
    )
    throughput = _spread(summary["throughput"])
    if throughput is not None:
        fraction = throughput.median / SUBMIT_LIMIT
        check(
            f"throughput >= {THROUGHPUT_TARGET:.0%} of {SUBMIT_LIMIT:g}/s with 50 ms latency",
            fraction >= THROUGHPUT_TARGET,
            f"{throughput.text()} jobs/s = {fraction:.0%} (median)" + _paced(summary),
        )
    memory = _spread(summary["plugin_bytes_per_job"])
    check(
        f"plugin memory <= {MEMORY_TARGET_BYTES // 1024} KiB per active job",
        None if memory is None else memory.median <= MEMORY_TARGET_BYTES,
        "not measured" if memory is None else f"{memory.median:.0f} B per job",
    )
    return checks


def _paced(summary: dict[str, Any]) -> str:
    first, paced = (
        _spread(summary.get("first_id_seconds")),
        _spread(summary.get("paced_throughput")),
    )
    if first is None or paced is None:
        return ""
    return (
        f"; first batch id after {first.median:.2f} s, then {paced.median:.1f} jobs/s "
        f"= {paced.median / SUBMIT_LIMIT:.0%}"
    )


def verdict(passed: bool | None) -> str:
    return {True: "PASS", False: "FAIL", None: "n/a"}[passed]


# -- Markdown -----------------------------------------------------------------------------
def _ops(calls: dict[str, Any]) -> str:
    if not calls:
        return "0"
    parts = []
    for operation, entry in calls.items():
        spread = _spread(entry)
        assert spread is not None
        parts.append(f"{operation} {_num(spread)}")
    return ", ".join(parts)


def _num(spread: Spread) -> str:
    def fmt(value: float) -> str:
        return f"{value:.3g}" if value < 10 else f"{value:.0f}"

    if spread.count < 2 or spread.low == spread.high:
        return fmt(spread.median)
    return f"{fmt(spread.median)} ({fmt(spread.low)}-{fmt(spread.high)})"


def _text(entry: dict[str, Any] | None, fmt: str = "{:.1f}") -> str:
    spread = _spread(entry)
    return "-" if spread is None else spread.text(fmt)


def markdown(summaries: list[dict[str, Any]], machine: str, notes: list[str]) -> str:
    lines = [f"Machine and versions: {machine}.", ""]
    lines += [
        "**API calls per job, by phase** (counted by the endpoint; median, (min-max) when runs differ)",
        "",
        "| N | runs | submit phase | status rounds (per round) | clean-up |",
        "|---:|---:|---|---|---|",
    ]
    for s in summaries:
        calls = s["calls_per_job"]
        rounds = max(1, len(s["status_round"]["describe_calls"]) // max(1, s["timing_runs"]))
        per_round = {
            op: {**entry, "median": entry["median"] / rounds, "min": entry["min"] / rounds,
                 "max": entry["max"] / rounds}
            for op, entry in calls["status_rounds"].items()
        }  # fmt: skip
        lines.append(
            f"| {s['n']:,} | {s['timing_runs']} | {_ops(calls['submit'])} | {_ops(per_round)} "
            f"| {_ops(calls['cleanup'])} |"
        )
    lines += [
        "",
        "**Submission** (50 ms added latency on every call, endpoint refuses SubmitJob beyond 50/s)",
        "",
        "| N | jobs/s | of 50/s | first batch id s | then jobs/s | SubmitJob accepted / refused (429) per run | run_jobs s | CPU ms/job (run_jobs thread) | CPU ms/job (process) | Snakemake start to driver s |",
        "|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|",
    ]
    for s in summaries:
        throughput = _spread(s["throughput"])
        fraction = "-" if throughput is None else f"{throughput.median / SUBMIT_LIMIT:.0%}"
        accepted = sorted(set(s["submit_job_accepted"]))
        lines.append(
            f"| {s['n']:,} | {_text(s['throughput'])} | {fraction} | "
            f"{_text(s.get('first_id_seconds'), '{:.2f}')} | {_text(s.get('paced_throughput'))} | "
            f"{'/'.join(map(str, accepted))} / {', '.join(map(str, s['submit_job_refused']))} | "
            f"{_text(s['run_jobs_seconds'], '{:.2f}')} | "
            f"{_text(s['run_jobs_cpu_ms_per_job'], '{:.2f}')} | "
            f"{_text(s['submit_cpu_ms_per_job'], '{:.2f}')} | "
            f"{_text(s['startup_seconds'])} |"
        )
    lines += [
        "",
        "**One status round with N active jobs** (held RUNNABLE; 50 ms latency)",
        "",
        "| N | DescribeJobs (expected) | wall s | CPU ms/job | rounds to see all N finish |",
        "|---:|---|---:|---:|---|",
    ]
    for s in summaries:
        status = s["status_round"]
        seen = sorted(set(status["describe_calls"]))
        lines.append(
            f"| {s['n']:,} | {'/'.join(map(str, seen))} ({status['expected_describe_calls']}) | "
            f"{_text(status['seconds'], '{:.2f}')} | {_text(status['cpu_ms_per_job'], '{:.3f}')} | "
            f"{', '.join(map(str, s['finish']['rounds']))} |"
        )
    lines += _array_lines([s["arrays"] for s in summaries if s.get("arrays")])
    lines += [
        "",
        "**Memory**",
        "",
        "| N | peak RSS MiB | RSS growth KiB/job | plugin B/active job | whole process B/job (traced) |",
        "|---:|---:|---:|---:|---:|",
    ]
    for s in summaries:
        lines.append(
            f"| {s['n']:,} | {_text(s['peak_rss_mib'], '{:.0f}')} | "
            f"{_text(s['rss_growth_kib_per_job'], '{:.2f}')} | "
            f"{_text(s['plugin_bytes_per_job'], '{:.0f}')} | "
            f"{_text(s['process_bytes_per_job'], '{:.0f}')} |"
        )
    lines += ["", "**Targets**", "", "| N | target | result | measured |", "|---:|---|---|---|"]
    for s in summaries:
        for check in s["targets"]:
            lines.append(
                f"| {s['n']:,} | {check['target']} | {verdict(check['passed'])} | "
                f"{check['measured']} |"
            )
    if notes:
        lines += ["", *notes]
    return "\n".join(lines) + "\n"


def _array_lines(summaries: list[dict[str, Any]]) -> list[str]:
    """The "Array jobs" table: per-job and array trials of one run, N by N, and targets."""
    if not summaries:
        return []
    lines = [
        "",
        "**Array jobs** (the jobs of one rule handed over in one `run_jobs` call; 50 ms "
        "latency, SubmitJob refused beyond 50/s; per job and arrays from the same run and "
        "endpoint)",
        "",
        "| N | submitted | runs | SubmitJob calls (accepted, refused) per run | array jobs | "
        "submission s | first batch id s | run_jobs s | calls per status round, nothing "
        "changed | calls to finish (rounds) |",
        "|---:|---|---:|---|---|---:|---:|---:|---|---|",
    ]
    for summary in summaries:
        for key, label in (
            ("per_job", "one job per SubmitJob (array_min_size 0)"),
            ("array", f"as arrays (array_min_size {summary['array_min_size']})"),
        ):
            side = summary[key]
            if not side["runs"]:
                continue
            lines.append(
                f"| {summary['n']:,} | {label} | {side['runs']} | {_calls_text(side)} | "
                f"{_grouping_text(side)} | {_text(side['seconds'], '{:.2f}')} | "
                f"{_text(side['first_id_seconds'], '{:.2f}')} | "
                f"{_text(side['run_jobs_seconds'], '{:.2f}')} | "
                f"{_ops_text(side['round_calls'])} | {_finish_text(side)} |"
            )
    lines += ["", "| N | target | result | measured |", "|---:|---|---|---|"]
    for summary in summaries:
        for check in summary["targets"]:
            lines.append(
                f"| {summary['n']:,} | {check['target']} | {verdict(check['passed'])} | "
                f"{check['measured']} |"
            )
    return lines


def _grouping_text(side: dict[str, Any]) -> str:
    """How many arrays, their sizes, and the jobs that went alone, per distinct run."""
    texts = []
    for sizes, single in zip(side["array_sizes"], side["single_jobs"], strict=True):
        if not sizes:
            text = "none"
        else:
            low, high = min(sizes), max(sizes)
            text = f"{len(sizes)} of {low}" + ("" if low == high else f"-{high}") + " children"
        if single and sizes:
            text += f" + {single} alone"
        if text not in texts:
            texts.append(text)
    return "; ".join(texts) or "-"


def _finish_text(side: dict[str, Any]) -> str:
    """Calls from the jobs' release until each was reported, by operation, over the runs."""
    operations = sorted({op for calls in side["finish_calls"] for op in calls})
    parts = []
    for operation in operations:
        spread = Spread.of(calls.get(operation, 0) for calls in side["finish_calls"])
        if spread is not None:
            parts.append(f"{operation} {_num(spread)}")
    rounds = ", ".join(map(str, side["finish_rounds"]))
    return f"{', '.join(parts) or '0'} ({rounds})"


def profile_markdown(profile: dict[str, Any], top: int = 12) -> str:
    n = profile["n"]

    def table(rows: list[dict[str, Any]]) -> list[str]:
        lines = ["| function | calls | own s | cumulative s |", "|---|---:|---:|---:|"]
        for row in rows[:top]:
            lines.append(
                f"| `{row['function']}` | {row['calls']} | {row['tottime']:.3f} "
                f"| {row['cumtime']:.3f} |"
            )
        return lines

    lines = [
        f"**Profiles** (cProfile, one extra trial with N = {n:,}; cProfile slows what it "
        "watches, so these times are only for comparison with each other)",
        "",
    ]
    if profile.get("startup_top"):
        lines += [
            f"Snakemake's start-up before the first job reaches the plugin "
            f"({profile['startup_seconds']:.1f} s under the profiler), by cumulative time:",
            "",
            *table(profile["startup_top"]),
            "",
        ]
    if profile.get("run_jobs_top"):
        lines += [
            "`run_jobs` on Snakemake's scheduler thread, handing all N jobs to the plugin "
            "(Snakemake's per-job work and the plugin's request building; the sending "
            "happens in the plugin's threads, which are not profiled), by cumulative time:",
            "",
            *table(profile["run_jobs_top"]),
            "",
        ]
    lines += [
        "The status rounds, by own time:",
        "",
        *table(profile["top"]),
    ]
    return "\n".join(lines) + "\n"
