"""The runtime knobs of the local AWS Batch: fault injection, pacing and job shortcuts."""

from __future__ import annotations

import fnmatch
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

KNOB_NAMES = (
    "latency_ms",
    "submit_rate_limit",
    "throttle_rate",
    "throttle_400_rate",
    "server_error_rate",
    "ambiguous_rate",
    "outage_seconds",
    "outage_mode",
    "status_pace_seconds",
    "hold_jobs",
    "forget_jobs",
    "instant_jobs",
    "interrupt_jobs",
    "stop_timeout_seconds",
    "timeout_scale",
)

# Other spellings accepted on input (never in the answers): ``fault_rate`` takes a dict
# ``{"throttle": r, "throttle_400": r, "server_error": r}``; the others are plain renames.
FAULT_KINDS = {
    "throttle": "throttle_rate",
    "throttle_400": "throttle_400_rate",
    "server_error": "server_error_rate",
}
ALIASES = {"fault_after_rate": "ambiguous_rate", "outage": "outage_seconds"}
OUTAGE_MODES = ("refuse", "reset")
RATE_KNOBS = ("throttle_rate", "throttle_400_rate", "server_error_rate", "ambiguous_rate")


@dataclass
class Knobs:
    """Current knob values. ``outage_seconds`` is an action: it starts an outage that long."""

    latency_ms: float = 0.0
    submit_rate_limit: float | None = None
    throttle_rate: float = 0.0
    throttle_400_rate: float = 0.0
    server_error_rate: float = 0.0
    ambiguous_rate: float = 0.0
    status_pace_seconds: float = 0.0
    hold_jobs: bool = False
    forget_jobs: list[str] = field(default_factory=list)
    instant_jobs: bool = False
    interrupt_jobs: list[str] = field(default_factory=list)
    # Between SIGTERM and SIGKILL when a running attempt is stopped (ECS's
    # ECS_CONTAINER_STOP_TIMEOUT, 30 s on AWS; short here so that tests stay quick).
    stop_timeout_seconds: float = 2.0
    # The share of a job's ``attemptDurationSeconds`` after which its attempt times out (1:
    # as on AWS); less lets a test see a timeout without waiting out AWS's 60 s minimum.
    timeout_scale: float = 1.0
    outage_until: float = 0.0
    outage_mode: str = "refuse"


def _number(name: str, value: Any, *, optional: bool = False) -> float | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"knob {name} takes a number, not {value!r}")
    if value < 0:
        raise ValueError(f"knob {name} must not be negative")
    return float(value)


def _rate(name: str, value: Any) -> float:
    number = _number(name, value)
    assert number is not None
    if number > 1:
        raise ValueError(f"knob {name} is a fraction between 0 and 1")
    return number


def _flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"knob {name} takes true or false, not {value!r}")
    return value


def canonical(values: dict[str, Any]) -> dict[str, Any]:
    """``values`` with aliases replaced by the knobs they stand for; unknown names refused."""
    result: dict[str, Any] = {}
    for name, value in values.items():
        if name == "fault_rate":
            if not isinstance(value, dict) or not set(value) <= set(FAULT_KINDS):
                raise ValueError(
                    "knob fault_rate takes an object with the keys "
                    f"{', '.join(FAULT_KINDS)}, not {value!r}"
                )
            result.update({FAULT_KINDS[kind]: rate for kind, rate in value.items()})
        elif name in ALIASES:
            result[ALIASES[name]] = value
        elif name in KNOB_NAMES:
            result[name] = value
        else:
            known = ", ".join([*KNOB_NAMES, "fault_rate", *ALIASES])
            raise ValueError(f"unknown knob: {name}; known: {known}")
    return result


def _ids(name: str, value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list | tuple | set) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"knob {name} takes a list of job ids")
    return list(value)


def _patterns(name: str, value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) and v for v in value):
        raise ValueError(
            f"knob {name} takes a list of job-name or job-id patterns "
            f'(e.g. ["snakejob-align-*"]), not {value!r}'
        )
    return list(value)


def _optional_number(name: str, value: Any) -> float | None:
    return _number(name, value, optional=True)


def _scale(name: str, value: Any) -> float:
    scale = _rate(name, value)
    if scale == 0:
        raise ValueError(f"knob {name} is a fraction above 0, at most 1")
    return scale


def _outage_mode(name: str, value: Any) -> str:
    if value not in OUTAGE_MODES:
        raise ValueError(f"knob {name} is one of {', '.join(OUTAGE_MODES)}")
    return str(value)


# How each knob's value is checked (``outage_seconds``, an action, aside).
VALIDATORS: dict[str, Callable[[str, Any], Any]] = {
    **dict.fromkeys(RATE_KNOBS, _rate),
    **dict.fromkeys(("latency_ms", "status_pace_seconds", "stop_timeout_seconds"), _number),
    "submit_rate_limit": _optional_number,
    **dict.fromkeys(("hold_jobs", "instant_jobs"), _flag),
    "forget_jobs": _ids,
    "interrupt_jobs": _patterns,
    "outage_mode": _outage_mode,
    "timeout_scale": _scale,
}


class KnobBoard:
    """Thread-safe holder of the knobs, shared by the HTTP middleware and the job runner."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._knobs = Knobs()
        self._listeners: list[Callable[[], None]] = []

    def subscribe(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` (with no argument) after every change of the knobs."""
        self._listeners.append(listener)

    def snapshot(self) -> Knobs:
        with self._lock:
            copy = Knobs(**{f.name: getattr(self._knobs, f.name) for f in fields(Knobs)})
            copy.forget_jobs = list(self._knobs.forget_jobs)
            copy.interrupt_jobs = list(self._knobs.interrupt_jobs)
            return copy

    def pace(self) -> float:
        """``status_pace_seconds``, read without copying the other knobs."""
        with self._lock:
            return self._knobs.status_pace_seconds

    def stop_timeout(self) -> float:
        with self._lock:
            return self._knobs.stop_timeout_seconds

    def timeout_scale(self) -> float:
        with self._lock:
            return self._knobs.timeout_scale

    def holding(self) -> bool:
        with self._lock:
            return self._knobs.hold_jobs

    def interrupts(self, name: str, job_id: str) -> bool:
        """Whether ``interrupt_jobs`` holds a pattern matching the job's name or id."""
        with self._lock:
            patterns = self._knobs.interrupt_jobs
            return any(
                fnmatch.fnmatchcase(name, p) or fnmatch.fnmatchcase(job_id, p) for p in patterns
            )

    def update(self, values: dict[str, Any]) -> None:
        """Validate every value first, then apply them together."""
        changes: dict[str, Any] = {}
        for name, value in canonical(values).items():
            if name == "outage_seconds":
                seconds = _number(name, value, optional=True) or 0.0
                changes["outage_until"] = time.monotonic() + seconds if seconds else 0.0
            else:
                changes[name] = VALIDATORS[name](name, value)
        with self._lock:
            for name, value in changes.items():
                setattr(self._knobs, name, value)
        for listener in list(self._listeners):
            listener()

    def as_json(self) -> dict[str, Any]:
        knobs = self.snapshot()
        return {
            "latency_ms": knobs.latency_ms,
            "submit_rate_limit": knobs.submit_rate_limit,
            "throttle_rate": knobs.throttle_rate,
            "throttle_400_rate": knobs.throttle_400_rate,
            "server_error_rate": knobs.server_error_rate,
            "ambiguous_rate": knobs.ambiguous_rate,
            "outage_seconds": max(0.0, knobs.outage_until - time.monotonic()),
            "outage_mode": knobs.outage_mode,
            "status_pace_seconds": knobs.status_pace_seconds,
            "hold_jobs": knobs.hold_jobs,
            "forget_jobs": knobs.forget_jobs,
            "instant_jobs": knobs.instant_jobs,
            "interrupt_jobs": knobs.interrupt_jobs,
            "stop_timeout_seconds": knobs.stop_timeout_seconds,
            "timeout_scale": knobs.timeout_scale,
        }

    def in_outage(self) -> bool:
        with self._lock:
            return time.monotonic() < self._knobs.outage_until

    def refusing(self) -> bool:
        """In an outage that closes the port (``outage_mode`` ``refuse``)."""
        with self._lock:
            return (
                self._knobs.outage_mode == "refuse" and time.monotonic() < self._knobs.outage_until
            )
