"""Logs: where the plugin's own messages go, and where a job's log is."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class Logger(Protocol):
    """Snakemake's logger, or any with these three levels."""

    def warning(self, msg: str) -> None: ...
    def info(self, msg: str) -> None: ...
    def debug(self, msg: str) -> None: ...


@dataclass(frozen=True, slots=True)
class LogLocation:
    """A job's log: a CloudWatch Logs group and a stream in it."""

    group: str
    stream: str
