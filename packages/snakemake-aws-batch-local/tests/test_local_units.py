"""Pieces tested without a server: retry rules and the Docker engine against a fake client."""

from __future__ import annotations

import os
import threading
import time
from types import SimpleNamespace
from typing import Any

import docker.errors
import moto
import moto.backends
import pytest

from snakemake_aws_batch_local import attempt
from snakemake_aws_batch_local.attempt import AttemptRun
from snakemake_aws_batch_local.docker_engine import DockerExecution
from snakemake_aws_batch_local.engines import Launch, LaunchError, exit_code_of
from snakemake_aws_batch_local.knobs import KnobBoard
from snakemake_aws_batch_local.retry import max_attempts, should_retry
from snakemake_aws_batch_local.server import list_moto_modules_once


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
    """A container that runs until stopped, or exits with ``exit_code`` when told to."""

    def __init__(self) -> None:
        self.status = "running"
        self.attrs: dict[str, Any] = {"State": {"ExitCode": 0}}
        self.calls: list[str] = []
        self.exited = threading.Event()

    def logs(self, **_: Any) -> Any:
        yield b"one\ntw"
        yield b"o\nthree"

    def reload(self) -> None:
        return

    def exit(self, code: int, *, oom_killed: bool = False) -> None:
        self.status = "exited"
        self.attrs = {"State": {"ExitCode": code, "OOMKilled": oom_killed}}
        self.exited.set()

    def wait(self) -> dict[str, Any]:
        self.exited.wait(timeout=10)
        return {"StatusCode": self.attrs["State"]["ExitCode"]}

    def stop(self, timeout: int) -> None:
        self.calls.append(f"stop {timeout}")
        self.exit(143)

    def kill(self) -> None:
        self.calls.append("kill")

    def remove(self, force: bool, v: bool = False) -> None:
        self.calls.append("remove" + (" v" if v else ""))


class FakeClient:
    def __init__(self, images: tuple[str, ...] = ("img:1",)) -> None:
        self.container = FakeContainer()
        self.runs: list[dict[str, Any]] = []
        self.pulls: list[str] = []
        client = self

        class Containers:
            @staticmethod
            def run(image: str, command: list[str], **kwargs: Any) -> FakeContainer:
                client.runs.append({"image": image, "command": command, **kwargs})
                return client.container

        class Images:
            @staticmethod
            def get(image: str) -> None:
                if image not in images:
                    raise docker.errors.ImageNotFound(f"No such image: {image}")

            @staticmethod
            def pull(image: str) -> None:
                client.pulls.append(image)
                raise docker.errors.NotFound("pull access denied, repository does not exist")

        self.containers = Containers()
        self.images = Images()


def wait_until(condition: Any, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)


def test_docker_execution_with_a_fake_client() -> None:
    client, lines = FakeClient(), []
    launch = Launch(
        ["sh", "-c", "x"], {"A": "1"}, "img:1", "batch-x-1", lines.append,
        vcpus=0.5, memory_mib=256, labels={"job": "x"},
    )  # fmt: skip
    execution = DockerExecution(client, launch)
    assert execution.poll() is None
    execution.stop(2.0)
    assert execution.poll() == 143
    assert execution.exit_reason() is None
    execution.close()
    wait_until(lambda: len(lines) >= 3)
    assert lines == ["one", "two", "three"]
    [run] = client.runs
    assert (run["image"], run["environment"], run["network_mode"]) == ("img:1", {"A": "1"}, "host")
    assert (run["mem_limit"], run["cpu_shares"], run["labels"]) == (
        256 * 1024**2,
        512,
        {"job": "x"},
    )
    assert client.container.calls == ["stop 2", "kill", "remove v"]
    assert client.pulls == []


@pytest.mark.parametrize(
    ("oom_killed", "memory_mib", "expected"),
    [
        (True, None, "OutOfMemoryError: Container killed due to memory usage"),
        (False, 64, "OutOfMemoryError: Container killed due to memory usage"),
        (False, None, None),  # no limit: the SIGKILL came from elsewhere
    ],
)
def test_a_container_killed_for_its_memory_says_so(
    oom_killed: bool, memory_mib: int | None, expected: str | None
) -> None:
    client = FakeClient()
    launch = Launch(["true"], {}, "img:1", "batch-x-1", lambda _: None, memory_mib=memory_mib)
    execution = DockerExecution(client, launch)
    client.container.exit(137, oom_killed=oom_killed)
    wait_until(lambda: execution.poll() is not None)
    assert (execution.poll(), execution.exit_reason()) == (137, expected)
    execution.close()


def test_a_missing_image_is_pulled_and_fails_as_on_aws() -> None:
    client = FakeClient(images=())
    launch = Launch(["true"], {}, "nowhere/nothing:1", "batch-x-1", lambda _: None)
    with pytest.raises(LaunchError) as failed:
        DockerExecution(client, launch)
    message = str(failed.value)
    assert message.startswith("CannotPullContainerError: failed to pull image nowhere/nothing:1:")
    assert "repository does not exist" in message
    assert failed.value.status_reason == message
    assert (client.pulls, client.runs) == (["nowhere/nothing:1"], [])


class ExitsOnThirdPoll:
    def __init__(self) -> None:
        self.polls = 0

    def poll(self) -> int | None:
        self.polls += 1
        return 0 if self.polls == 3 else None

    def exit_reason(self) -> str | None:
        return None


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


def test_moto_modules_are_listed_once_and_the_same() -> None:
    folder = os.path.dirname(moto.__file__)
    expected = sorted(
        name
        for name in os.listdir(folder)
        if os.path.isdir(os.path.join(folder, name)) and not name.startswith("__")
    )
    list_moto_modules_once()
    assert list(moto.backends.list_of_moto_modules()) == expected
    listed = moto.backends.list_of_moto_modules
    list_moto_modules_once()
    assert moto.backends.list_of_moto_modules is listed
