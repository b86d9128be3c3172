"""AWS Batch's retry strategy: how many attempts, and evaluateOnExit."""

from __future__ import annotations

import fnmatch
from typing import Any


def max_attempts(strategy: dict[str, Any] | None) -> int:
    """The number of attempts a strategy allows (1 to 10; 1 without a strategy)."""
    if not strategy:
        return 1
    try:
        attempts = int(strategy.get("attempts", 1))
    except (TypeError, ValueError):
        return 1
    return min(max(attempts, 1), 10)


def _matches(pattern: str | None, value: str | None) -> bool:
    """A condition that is absent matches; a ``*`` matches any run of characters."""
    if pattern is None:
        return True
    if value is None:
        return pattern == "*"
    return fnmatch.fnmatchcase(value, pattern) if "*" in pattern else value == pattern


def should_retry(
    strategy: dict[str, Any] | None,
    *,
    exit_code: int | None,
    status_reason: str | None,
    reason: str | None,
) -> bool:
    """Evaluate ``evaluateOnExit`` in order; the first entry whose conditions all match decides.

    Without a matching entry the attempt is retried (the caller checks the attempt count).
    """
    for entry in (strategy or {}).get("evaluateOnExit") or []:
        if (
            _matches(entry.get("onExitCode"), None if exit_code is None else str(exit_code))
            and _matches(entry.get("onStatusReason"), status_reason)
            and _matches(entry.get("onReason"), reason)
        ):
            return str(entry.get("action", "")).upper() == "RETRY"
    return True
