"""The run record's usage summary: per rule and in total, and the table printed at the end."""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from typing import Any

from .rows import CANCELLED, NOT_SUBMITTED

SHOWN_RULES = 20  # rules in the table printed at the end; summary.json has them all


def summarize(rows: Sequence[Mapping[str, str]]) -> dict[str, Any]:
    """Per rule and in total: jobs, failed, median queue wait and run time, resource-hours."""
    rules: dict[str, list[Mapping[str, str]]] = {}
    for row in rows:
        rules.setdefault(row["rule"], []).append(row)
    return {
        "rules": {rule: _usage(members) for rule, members in sorted(rules.items())},
        "total": _usage(rows),
    }


def _usage(rows: Sequence[Mapping[str, str]]) -> dict[str, Any]:
    waits = [float(row["queued_s"]) for row in rows if row["queued_s"]]
    runs = [float(row["run_s"]) for row in rows if row["run_s"]]

    def hours(column: str, scale: float = 1.0) -> float:
        total = sum(
            _number_or_zero(row[column]) * float(row["run_s"]) for row in rows if row["run_s"]
        )
        return round(total / scale / 3600, 4)

    return {
        "jobs": len(rows),
        "failed": sum(row["status"] == "FAILED" for row in rows),
        "not_submitted": sum(row["status"] == NOT_SUBMITTED for row in rows),
        "cancelled": sum(row["status"] == CANCELLED for row in rows),
        "median_queue_s": round(statistics.median(waits), 3) if waits else None,
        "median_run_s": round(statistics.median(runs), 3) if runs else None,
        "vcpu_hours": hours("vcpu"),
        "memory_gib_hours": hours("memory_mib", 1024),
        "gpu_hours": hours("gpu"),
    }


def _number_or_zero(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return 0.0


def summary_table(summary: Mapping[str, Any]) -> list[str]:
    """The lines printed at the end of the run: one per rule (the largest first), a total."""
    header = (
        "rule",
        "jobs",
        "failed",
        "median queue",
        "median run",
        "vCPU-h",
        "mem GiB-h",
        "GPU-h",
    )
    rules = sorted(summary["rules"].items(), key=lambda item: -item[1]["vcpu_hours"])
    rows = [(rule, usage) for rule, usage in rules[:SHOWN_RULES]]
    body = [_cells(name, usage) for name, usage in rows]
    if len(rules) > SHOWN_RULES:
        body.append((f"({len(rules) - SHOWN_RULES} more rules)", "", "", "", "", "", "", ""))
    body.append(_cells("total", summary["total"]))
    widths = [max(len(line[i]) for line in (header, *body)) for i in range(len(header))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
            for line in (header, *body)]  # fmt: skip


def _cells(name: str, usage: Mapping[str, Any]) -> tuple[str, ...]:
    def duration(seconds: float | None) -> str:
        return "-" if seconds is None else f"{seconds:.1f} s"

    return (
        name,
        str(usage["jobs"]),
        str(usage["failed"]),
        duration(usage["median_queue_s"]),
        duration(usage["median_run_s"]),
        f"{usage['vcpu_hours']:.3f}",
        f"{usage['memory_gib_hours']:.3f}",
        f"{usage['gpu_hours']:.3f}",
    )
