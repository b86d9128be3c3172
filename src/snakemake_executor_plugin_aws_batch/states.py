"""AWS Batch's job states, in the order a job goes through them.

What a state means for Snakemake is :mod:`.tracking.status`'s.
"""

from __future__ import annotations

from typing import Literal

Live = Literal["SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING"]
Finished = Literal["SUCCEEDED", "FAILED"]
LIVE: tuple[Live, ...] = ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING")
FINISHED: tuple[Finished, ...] = ("SUCCEEDED", "FAILED")
STATES: tuple[str, ...] = (*LIVE, *FINISHED)
