"""Fakes shared by the tests: a logger that records, and a clock that sleeps instantly."""

from __future__ import annotations

import re

# What AWS Batch accepts as a job or job definition name.
VALID_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")


class RecordingLogger:
    """Implements the plugin's Logger protocol and keeps every message with its level."""

    def __init__(self) -> None:
        self.records: list[tuple[str, str]] = []

    def warning(self, msg: str) -> None:
        self.records.append(("warning", msg))

    def info(self, msg: str) -> None:
        self.records.append(("info", msg))

    def debug(self, msg: str) -> None:
        self.records.append(("debug", msg))

    def error(self, msg: str) -> None:
        self.records.append(("error", msg))

    def at(self, level: str) -> list[str]:
        return [message for lvl, message in self.records if lvl == level]


class FakeTime:
    """A monotonic clock that only moves when ``sleep`` is called.

    ``max_sleeps`` stops a code path that would otherwise sleep forever (the fake
    clock never moves on its own), so such a bug fails a test instead of hanging it.
    """

    def __init__(self, start: float = 0.0, max_sleeps: int = 100_000) -> None:
        self.now = start
        self.sleeps: list[float] = []
        self.max_sleeps = max_sleeps

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        if len(self.sleeps) >= self.max_sleeps:
            raise RuntimeError(f"slept {self.max_sleeps} times without finishing")
        assert seconds >= 0, f"negative sleep {seconds}"
        self.sleeps.append(seconds)
        self.now += seconds
