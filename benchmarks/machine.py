"""Where and with what a benchmark ran: machine, versions, date."""

from __future__ import annotations

import datetime
import importlib.metadata
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

PACKAGES = {
    "snakemake": "snakemake",
    "plugin": "snakemake-executor-plugin-aws-batch",
    "moto": "moto",
    "boto3": "boto3",
    "snakemake-storage-plugin-s3": "snakemake-storage-plugin-s3",
}


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def _version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).resolve().parent,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def describe() -> dict[str, Any]:
    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": len(os.sched_getaffinity(0)),
        "cpu": _cpu_model(),
        "memory_gib": _memory_gib(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "versions": {name: _version(dist) for name, dist in PACKAGES.items()},
        "commit": _commit(),
    }


def one_line(machine: dict[str, Any]) -> str:
    versions = machine["versions"]
    return (
        f"{machine['date']}; {machine['nproc']} CPUs ({machine['cpu']}), "
        f"{machine['memory_gib']} GiB; {machine['os']}; Python {machine['python']}, "
        f"Snakemake {versions['snakemake']}, plugin {versions['plugin']} "
        f"(commit {machine['commit']}), moto {versions['moto']}, boto3 {versions['boto3']}"
    )
