"""The records of earlier runs: since when an earlier run of this workflow may have left
jobs behind on AWS Batch.

Each run writes ``run.json`` (its workflow's id, its start) when its record is made, and
``summary.json`` when it ends. A run that has no ``summary.json`` ended without writing
it: killed, or its machine gone. Its jobs, and those of the runs before it that ended
the same way, may still run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

RUN_FILE = "run.json"
SUMMARY_FILE = "summary.json"


def write_run_file(folder: Path, *, workflow: str, started_ms: int) -> None:
    (folder / RUN_FILE).write_text(
        json.dumps({"workflow": workflow, "started_ms": started_ms}, indent=2) + "\n"
    )


@dataclass(frozen=True, slots=True)
class Window:
    """Since when an earlier run's jobs may be there (None: no record says), and why."""

    since_ms: int | None
    notes: tuple[str, ...] = ()


def window(base: Path, workflow: str, *, exclude: Path | None = None) -> Window:
    """The start of the oldest of the latest earlier runs of ``workflow`` that ended
    without their summary, going back from the newest record under ``base``; records of
    another workflow, and records that cannot be read, end the search with a note."""
    try:
        folders = sorted(
            (p for p in base.iterdir() if p.is_dir() and p != exclude), key=_order, reverse=True
        )
    except OSError:
        return Window(None)
    since, notes = None, []
    for folder in folders:
        if (folder / SUMMARY_FILE).exists():
            break  # that run ended; so did the ones before it, or they were resumed
        if not (folder / RUN_FILE).exists():
            continue  # a run stopped before it wrote it (it had sent nothing yet)
        read = _run_file(folder)
        if isinstance(read, str):
            notes.append(f"The run record {folder} {read}: not used to resume.")
            break
        found, started = read
        if found != workflow:
            notes.append(f"The run record {folder} is of another workflow: not used to resume.")
            break
        since = started
    return Window(since, tuple(notes))


def _order(folder: Path) -> tuple[str, int]:
    """Run folders in the order they were made: by start time, then by the number
    ``-2``, ``-3``, ... of a run that started in the same second as another."""
    stem, _, time_of_day = folder.name.rpartition("T")
    clock, dash, number = time_of_day.partition("-")
    return f"{stem}T{clock}", int(number) if dash and number.isdigit() else 1


def _run_file(folder: Path) -> tuple[str, int] | str:
    """The workflow and start a record's run file holds, or what is wrong with it."""
    path = folder / RUN_FILE
    try:
        values = json.loads(path.read_text())
    except FileNotFoundError:
        return f"has no {RUN_FILE}"
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return f"cannot be read ({RUN_FILE}: {type(exc).__name__})"
    workflow = values.get("workflow") if isinstance(values, dict) else None
    started = values.get("started_ms") if isinstance(values, dict) else None
    if not isinstance(workflow, str) or not isinstance(started, int) or isinstance(started, bool):
        return f"holds no workflow and start in {RUN_FILE}"
    return workflow, started
