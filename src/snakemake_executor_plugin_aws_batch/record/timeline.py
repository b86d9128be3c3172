"""The run record's ``timeline.html``: one bar per job, in one self-contained page.

:func:`render` turns the rows of ``jobs.tsv`` into a page that needs no network: the CSS
and the script are inline (``timeline.css`` and ``timeline.js`` beside this module), and a
Content-Security-Policy that admits only those two (by hash) forbids everything else. The
jobs go in as JSON in a ``<script type="application/json">`` element with ``<``, ``>`` and
``&`` escaped, so no value can end the element; the script builds the DOM with
``textContent`` only.

Each bar is a job's queue wait (submission to start, light shade of its rule's colour) and
run (start to stop, full shade), sorted by submission. The page stays fast for large runs
because it is virtualised: rows have a fixed height, a spacer gives the scroll area its full
height and only the rows in view (plus a few) are in the DOM, redrawn on scroll; an overview
strip aggregates the whole run (jobs queued and running over time) and a click on it scrolls
there. ``document.body.dataset.bars`` is the number of jobs, ``dataset.rendered`` the number
of bar elements in the DOM.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import Any

# The columns of jobs.tsv that a row carries; a missing one reads as "".
COLUMNS = (
    "rule", "wildcards", "jobid", "batch_job_id", "job_name", "queue", "status",
    "exit_code", "status_reason", "attempts", "vcpu", "memory_mib", "gpu",
    "submitted_at", "started_at", "stopped_at", "queued_s", "run_s", "log_stream", "adopted",
    "retry_of",
)  # fmt: skip
# What the page shows of each job besides its rule and times (the tooltip's fields).
SHOWN = (
    "jobid", "wildcards", "job_name", "batch_job_id", "queue", "status", "exit_code",
    "status_reason", "attempts", "vcpu", "memory_mib", "gpu", "log_stream",
)  # fmt: skip
FINISHED = frozenset({"SUCCEEDED", "FAILED", "CANCELLED", "NOT_SUBMITTED"})
# Hues of the first rules, apart from red (the mark of a failed job); later rules step
# round the circle by the golden angle.
HUES = (212, 32, 140, 275, 50, 185, 320, 95, 245, 20)


@dataclass(frozen=True)
class _Job:
    row: Mapping[str, str]
    submitted: datetime | None
    started: datetime | None
    stopped: datetime | None

    def sort_key(self) -> tuple[bool, float, float, float]:
        first = self.submitted or self.started
        return (
            first is None,
            first.timestamp() if first else 0.0,
            _number(self.row.get("jobid", "")),
            self.started.timestamp() if self.started else math.inf,
        )


def render(rows: Sequence[Mapping[str, str]], *, title: str) -> str:
    """The timeline page of a run's jobs (rows of jobs.tsv), as one HTML document."""
    data = page_data(rows, title=title)
    css, script = _asset("timeline.css"), _asset("timeline.js")
    policy = (
        "default-src 'none'; "
        f"style-src {_source_hash(css)}; script-src {_source_hash(script)}; "
        "img-src data:; base-uri 'none'; form-action 'none'"
    )
    summary = data["summary"]
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{policy}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)} · timeline</title>
<style>{css}</style>
</head>
<body>
<header>
<h1>{html.escape(title)}</h1>
<p id="summary">{html.escape(_summary_text(summary))}</p>
<div id="controls"><ul id="legend" aria-label="rules"></ul>
<label><input type="checkbox" id="failed-only"> failed only</label></div>
</header>
<div id="overview" title="jobs queued (light) and running (dark) over the run; the band: when the rows in view were submitted; click to scroll there"><canvas></canvas></div>
<div id="axis" aria-hidden="true"></div>
<div id="rows" tabindex="0"><div id="spacer"></div></div>
<div id="tip" role="tooltip" hidden></div>
<noscript><p>The timeline is drawn by a script; the same jobs are in jobs.tsv beside this page.</p></noscript>
<script type="application/json" id="timeline-data">{_json_for_script(data)}</script>
<script>{script}</script>
</body>
</html>
"""


def page_data(rows: Sequence[Mapping[str, str]], *, title: str) -> dict[str, Any]:
    """What the page's script draws: rules and colours, jobs by submission, the run's span.

    Times are seconds from the run's first known time (``t0``, epoch milliseconds); each job
    is ``[rule index, submitted, started, stopped, queue wait, run time, *SHOWN values]``
    with null where unknown, so 10,000 jobs stay a few MB.
    """
    jobs = sorted((_job(row) for row in rows), key=_Job.sort_key)
    moments = [m for job in jobs for m in (job.submitted, job.started, job.stopped) if m]
    first = min(moments) if moments else None
    last = max(moments) if moments else None
    rules: dict[str, int] = {}
    packed = []
    for job in jobs:
        index = rules.setdefault(job.row.get("rule", ""), len(rules))
        submitted = _offset(job.submitted, first)
        started = _offset(job.started, first)
        stopped = _offset(job.stopped, first)
        queued = _seconds(job.row.get("queued_s", ""), _difference(submitted, started))
        run = _seconds(job.row.get("run_s", ""), _difference(started, stopped))
        values = [job.row.get(column, "") for column in SHOWN]
        packed.append([index, submitted, started, stopped, queued, run, *values])
    return {
        "title": title,
        "t0": round(first.timestamp() * 1000) if first else None,
        "span": _offset(last, first) or 0.0,
        "fields": list(SHOWN),
        "rules": [{"name": name, **rule_colours(i)} for name, i in rules.items()],
        "jobs": packed,
        "summary": _summary(jobs, first, last),
    }


def rule_colours(index: int) -> dict[str, str]:
    """The full and the light shade of the ``index``-th rule's colour (CSS hsl())."""
    if index < len(HUES):
        hue, saturation = HUES[index], 62
    else:
        hue = round(HUES[-1] + (index - len(HUES) + 1) * 137.508) % 360
        hue = hue if 25 <= hue <= 340 else (hue + 50) % 360  # keep clear of red
        saturation = 45 + (index * 7) % 30
    return {
        "full": f"hsl({hue} {saturation}% 42%)",
        "light": f"hsl({hue} {saturation}% 82%)",
    }


def _summary(jobs: Sequence[_Job], first: datetime | None, last: datetime | None) -> dict[str, Any]:
    statuses = [job.row.get("status", "") for job in jobs]
    return {
        "jobs": len(jobs),
        "failed": statuses.count("FAILED"),
        "cancelled": statuses.count("CANCELLED"),
        "not_submitted": statuses.count("NOT_SUBMITTED"),
        "unfinished": sum(1 for status in statuses if status and status not in FINISHED),
        "first": _clock(first),
        "last": _clock(last),
        "span_s": (last - first).total_seconds() if first and last else None,
    }


def _summary_text(summary: Mapping[str, Any]) -> str:
    parts = [f"{summary['jobs']:,} jobs", f"{summary['failed']:,} failed"]
    parts += [
        f"{summary[key]:,} {key.replace('_', ' ')}"
        for key in ("cancelled", "not_submitted", "unfinished")
        if summary[key]
    ]
    if summary["span_s"] is not None:
        parts.append(f"span {duration(summary['span_s'])}")
        parts.append(f"{summary['first']} to {summary['last']} UTC")
    return " · ".join(parts)


def duration(seconds: float) -> str:
    """``0.4 s``, ``12 s``, ``4 min 05 s``, ``2 h 03 min``: a span as a person reads it."""
    if seconds < 10:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"


def _job(row: Mapping[str, str]) -> _Job:
    return _Job(
        row=row,
        submitted=_moment(row.get("submitted_at", "")),
        started=_moment(row.get("started_at", "")),
        stopped=_moment(row.get("stopped_at", "")),
    )


def _moment(text: str) -> datetime | None:
    """An ISO 8601 time (``...Z`` or ``...+00:00``; none given means UTC), None if not one."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _offset(moment: datetime | None, first: datetime | None) -> float | None:
    if moment is None or first is None:
        return None
    return round((moment - first).total_seconds(), 3)


def _difference(start: float | None, end: float | None) -> float | None:
    if start is None or end is None or end < start:
        return None
    return round(end - start, 3)


def _seconds(text: str, fallback: float | None) -> float | None:
    number = _number(text)
    return round(number, 3) if math.isfinite(number) and number >= 0 else fallback


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return math.inf


def _clock(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if moment else ""


def _json_for_script(data: Mapping[str, Any]) -> str:
    """JSON that no value can break out of: ``<``, ``>`` and ``&`` as ``\\u`` escapes."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def _source_hash(text: str) -> str:
    digest = base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()
    return f"'sha256-{digest}'"


@cache
def _asset(name: str) -> str:
    text = resources.files(__package__).joinpath(name).read_text(encoding="utf-8")
    if "</" in text:  # it would end the <style> or <script> element it is put in
        raise ValueError(f"{name} must not contain '</'")
    return text
