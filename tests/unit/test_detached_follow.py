"""``snakemake-aws-batch run --wait`` and ``logs --follow``: the whole log, then the exit code."""

from __future__ import annotations

from typing import Any

import pytest

from snakemake_executor_plugin_aws_batch.detached import cli

JOB_ID = "c0ffee"
STREAM = {"logStreamName": "coordinator/default/c0ffee"}


class Service:
    """Answers each describe with the next job state and each log read with the next page
    (None: a read that failed)."""

    def __init__(self, statuses: list[str], pages: list[list[str] | None]) -> None:
        self.statuses = statuses
        self.pages = pages
        self.reads = 0

    def describe(self, ids: list[str]) -> list[dict[str, Any]]:
        status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        container = {**STREAM, "exitCode": 0} if status == "SUCCEEDED" else STREAM
        return [{"jobId": ids[0], "status": status, "container": container}]

    def log_page(self, location: Any, token: str | None) -> tuple[list[str] | None, str | None]:
        self.reads += 1
        page = self.pages.pop(0) if self.pages else []
        return page, f"token-{self.reads}"


def follow(service: Service, monkeypatch: pytest.MonkeyPatch) -> tuple[int, list[str]]:
    monkeypatch.setattr(cli.time, "sleep", lambda seconds: None)
    printed: list[str] = []
    commands = cli.Commands.__new__(cli.Commands)
    commands.service = service  # type: ignore[assignment]
    commands.out = printed.append
    return commands.follow(JOB_ID, 1.0), printed


def test_lines_that_arrive_after_the_job_ended_are_printed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # CloudWatch Logs lags: the first read after SUCCEEDED is empty, the next has the lines.
    service = Service(["RUNNING", "SUCCEEDED"], [["starting"], [], ["done: adopted 4"]])
    code, printed = follow(service, monkeypatch)
    assert code == 0
    assert printed[:2] == ["starting", "done: adopted 4"]
    assert printed[-1].startswith(f"Coordinator {JOB_ID} ended SUCCEEDED")


def test_a_failed_read_after_the_job_ended_is_read_again(monkeypatch: pytest.MonkeyPatch) -> None:
    service = Service(["SUCCEEDED"], [None, ["the whole log"]])
    code, printed = follow(service, monkeypatch)
    assert code == 0
    assert printed[0] == "the whole log"


def test_a_log_that_cannot_be_read_ends_the_wait_after_five_reads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    service = Service(["SUCCEEDED"], [None] * 100)
    code, printed = follow(service, monkeypatch)
    assert (code, service.reads) == (0, 5)
    assert printed == [f"Coordinator {JOB_ID} ended SUCCEEDED (exit code 0)."]
