"""Pieces tested without a server: retry rules and the Docker engine against a fake client."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace
from typing import Any

import pytest

from snakemake_aws_batch_local import attempt
from snakemake_aws_batch_local.attempt import AttemptRun
from snakemake_aws_batch_local.docker_engine import DockerExecution
from snakemake_aws_batch_local.engines import Launch, exit_code_of
from snakemake_aws_batch_local.knobs import KnobBoard
from snakemake_aws_batch_local.retry import max_attempts, should_retry


@pytest.mark.parametrize(
    ("entries", "exit_code", "reason", "expected"),
    [
        ([], 1, None, True),
        ([{"onExitCode": "1", "action": "EXIT"}], 1, None, False),
        ([{"onExitCode": "1*", "action": "exit"}], 137, None, False),
        ([{"onExitCode": "2", "action": "EXIT"}], 1, None, True),
        ([{"onReason": "CannotPull*", "action": "RETRY"}, {"onReason": "*", "action": "EXIT"}],
         None, "CannotPullContainerError: x", True),
        ([{"onReason": "*Pull*", "action": "EXIT"}], None, "CannotPullContainerError", False),
        ([{"onReason": "Cannot*", "onExitCode": "1", "action": "EXIT"}], 1, "Other", True),
    ],
)  # fmt: skip
def test_evaluate_on_exit(
    entries: list[dict[str, str]], exit_code: int | None, reason: str | None, expected: bool
) -> None:
    strategy = {"attempts": 3, "evaluateOnExit": entries}
    assert (
        should_retry(strategy, exit_code=exit_code, status_reason="Essential", reason=reason)
        is expected
    )


def test_attempt_counts() -> None:
    assert [max_attempts(s) for s in (None, {}, {"attempts": 4}, {"attempts": 99})] == [1, 1, 4, 10]
    assert (exit_code_of(-15), exit_code_of(3)) == (143, 3)


class FakeContainer:
    def __init__(self) -> None:
        self.status = "running"
        self.attrs = {"State": {"ExitCode": 0}}
        self.calls: list[str] = []

    def logs(self, **_: Any) -> Any:
        yield b"one\ntw"
        yield b"o\nthree"

    def reload(self) -> None:
        return

    def stop(self, timeout: int) -> None:
        self.calls.append(f"stop {timeout}")
        self.status, self.attrs = "exited", {"State": {"ExitCode": 143}}

    def kill(self) -> None:
        self.calls.append("kill")

    def remove(self, force: bool, v: bool = False) -> None:
        self.calls.append("remove" + (" v" if v else ""))


class FakeClient:
    def __init__(self) -> None:
        self.container = FakeContainer()
        self.runs: list[dict[str, Any]] = []

        class Containers:
            @staticmethod
            def run(image: str, command: list[str], **kwargs: Any) -> FakeContainer:
                self.runs.append({"image": image, "command": command, **kwargs})
                return self.container

        self.containers = Containers()


def test_docker_execution_with_a_fake_client() -> None:
    client, lines = FakeClient(), []
    launch = Launch(["sh", "-c", "x"], {"A": "1"}, "img:1", "batch-x-1", lines.append)
    execution = DockerExecution(client, launch)
    assert execution.poll() is None
    execution.stop(2.0)
    assert execution.poll() == 143
    execution.close()
    deadline = time.monotonic() + 2
    while len(lines) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert lines == ["one", "two", "three"]
    [run] = client.runs
    assert (run["image"], run["environment"], run["network_mode"]) == ("img:1", {"A": "1"}, "host")
    assert client.container.calls == ["stop 2", "kill", "remove v"]


class ExitsOnThirdPoll:
    def __init__(self) -> None:
        self.polls = 0

    def poll(self) -> int | None:
        self.polls += 1
        return 0 if self.polls == 3 else None


def test_a_running_attempt_checks_its_command_every_poll_seconds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sleeps: list[float] = []
    monkeypatch.setattr(
        attempt, "time", SimpleNamespace(monotonic=time.monotonic, sleep=sleeps.append)
    )
    runtime = SimpleNamespace(poll_seconds=0.25, stopping=threading.Event(), knobs=KnobBoard())
    job = SimpleNamespace(
        job_id="job", job_name="job", stop=False, _get_attempt_duration=lambda: None
    )
    run = AttemptRun(
        job,
        SimpleNamespace(runtime=runtime, interrupted=False),  # type: ignore[arg-type]
        number=1,
        environment={},
        log=None,  # type: ignore[arg-type]
        record={},
        on_done=lambda outcome: None,
    )
    outcome = run._watch(ExitsOnThirdPoll())  # type: ignore[arg-type]
    assert (outcome.exit_code, outcome.success) == (0, True)
    assert sleeps == [0.25, 0.25]
