"""Spot interruptions, the ``interrupt_jobs`` knob: the instance under a running attempt is
reclaimed, and the attempt fails with AWS Batch's ``Host EC2 (instance i-...) terminated.``

Each job whose name or id matches one of the knob's patterns loses one attempt this way:
the first that is RUNNING while a matching pattern is set.
"""

from __future__ import annotations

import hashlib
from typing import Any

from .knobs import KnobBoard
from .runtime import JobExtras


def instance_id(job_id: str, number: int) -> str:
    """An EC2 instance id (``i-`` and 17 hexadecimal digits), the same for the same attempt."""
    digest = hashlib.sha256(f"{job_id}/{number}".encode()).hexdigest()
    return f"i-{digest[:17]}"


def spot_reason(job_id: str, number: int) -> str:
    """The status reason AWS Batch gives an attempt whose Spot instance was reclaimed."""
    return f"Host EC2 (instance {instance_id(job_id, number)}) terminated."


def claim(knobs: KnobBoard, job: Any, extras: JobExtras) -> bool:
    """Whether the job's running attempt is interrupted now; true once per job at most.

    Called from the thread that runs the job's current attempt (one at a time).
    """
    if extras.interrupted or not knobs.interrupts(str(job.job_name), str(job.job_id)):
        return False
    extras.interrupted = True
    return True
