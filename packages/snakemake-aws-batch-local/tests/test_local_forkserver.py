"""The fork server: job commands' ``python -m <module>`` and ``pip`` run warm, as if cold."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import snakemake
from botocore.loaders import Loader

from snakemake_aws_batch_local import warm
from snakemake_aws_batch_local.engines import Launch, ProcessEngine
from snakemake_aws_batch_local.forkserver import ForkServer, write_commands

PROBE = """
import json, os, subprocess, sys, time

mode = sys.argv[1]
if mode == "report":
    print(json.dumps({
        "warm": "snakemake.cli" in sys.modules,
        "argv": sys.argv[1:],
        "cwd": os.getcwd(),
        "probe": os.environ.get("PROBE"),
        "stdin": sys.stdin.read(),
        "session_leader": os.getsid(0) == os.getpid(),
    }))
    sys.exit(int(sys.argv[2]))
if mode == "raise":
    raise RuntimeError("the probe failed")
if mode == "warmth":
    import boto3
    import botocore
    from botocore.loaders import JSONFileLoader
    from snakemake_interface_storage_plugins.registry import StoragePluginRegistry

    listed = []
    real_listdir = os.listdir
    os.listdir = lambda path=".": listed.append(path) or real_listdir(path)
    boto3.session.Session(region_name="us-east-1").client("batch")
    os.listdir = real_listdir
    data_folder = os.path.join(os.path.dirname(botocore.__file__), "data")
    print(json.dumps({
        "plugins_listed": StoragePluginRegistry._instance is not None,
        "botocore_files_kept": getattr(JSONFileLoader.load_file, "kept", False),
        "services_listed_without_reading_folders": data_folder not in listed,
    }))
    sys.exit(0)
if mode == "kill-group":  # what `kill -KILL 0` in a job's shell does
    os.killpg(0, 9)
child = subprocess.Popen(["sleep", "60"])
print(os.getpid(), child.pid, flush=True)
if mode == "sleep":
    time.sleep(60)
"""


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def gone(*pids: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not any(alive(pid) for pid in pids)


def listening(server: ForkServer, timeout: float = 60.0) -> ForkServer:
    deadline = time.monotonic() + timeout
    while not os.path.exists(server.socket):
        assert time.monotonic() < deadline, "the fork server did not start"
        time.sleep(0.05)
    return server


@pytest.fixture(scope="module")
def server() -> Iterator[ForkServer]:
    started = ForkServer(modules=("probe",))
    yield listening(started)
    started.close()


@pytest.fixture
def probe(tmp_path: Path, server: ForkServer) -> dict[str, Any]:
    """Where and how to run the probe through the server's commands."""
    (tmp_path / "probe.py").write_text(PROBE)
    env = {
        "PATH": f"{server.bin}:/usr/bin:/bin",
        "PYTHONPATH": str(tmp_path),
        "PROBE": "given",
    }
    return {"cwd": tmp_path, "env": env}


def python(server: ForkServer, *argv: str) -> list[str]:
    return [os.path.join(server.bin, "python"), *argv]


def ran(command: list[str], probe: dict[str, Any], **extra: Any) -> Any:
    """``command`` run to its end where ``probe`` says, its output and errors captured."""
    return subprocess.run(
        command, check=False, capture_output=True, text=True, timeout=60, **probe, **extra
    )


def test_a_handed_over_command_runs_warm_with_its_arguments_environment_and_streams(
    server: ForkServer, probe: dict[str, Any]
) -> None:
    done = ran(python(server, "-m", "probe", "report", "3"), probe, input="on stdin")
    assert done.returncode == 3, done.stderr
    report = json.loads(done.stdout)
    assert report == {
        "warm": True,
        "argv": ["report", "3"],
        "cwd": str(probe["cwd"]),
        "probe": "given",
        "stdin": "on stdin",
        "session_leader": True,
    }


def warmth(server: ForkServer, probe: dict[str, Any]) -> dict[str, bool]:
    done = ran(python(server, "-m", "probe", "warmth"), probe)
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def test_a_command_finds_the_plugins_listed_and_botocore_files_read(
    server: ForkServer, probe: dict[str, Any]
) -> None:
    assert warmth(server, probe) == {
        "plugins_listed": True,
        "botocore_files_kept": True,
        "services_listed_without_reading_folders": True,
    }


def test_botocore_s_services_are_listed_once_per_set_of_existing_data_folders(
    tmp_path: Path,
) -> None:
    listed: list[str] = []

    def list_services(loader: Loader, type_name: str) -> list[str]:
        listed.append(type_name)
        return list(original(loader, type_name))

    original = getattr(
        Loader.list_available_services, "__wrapped__", Loader.list_available_services
    )

    kept = warm._kept(list_services, warm.service_list_key)
    assert "batch" in kept(Loader(), "service-2")
    assert "batch" in kept(Loader(extra_search_paths=[str(tmp_path / "missing")]), "service-2")
    assert listed == ["service-2"]  # a folder that does not exist changes nothing
    (tmp_path / "mine" / "2026-01-01").mkdir(parents=True)
    (tmp_path / "mine" / "2026-01-01" / "service-2.json").write_text("{}")
    assert "mine" in kept(Loader(extra_search_paths=[str(tmp_path)]), "service-2")
    assert "mine" not in kept(Loader(), "service-2")
    assert listed == ["service-2", "service-2"]


@pytest.mark.parametrize("where", ["PYTHONPATH", "pip deployments"])
def test_a_command_that_can_see_a_plugin_the_server_did_not_lists_them_again(
    server: ForkServer, probe: dict[str, Any], tmp_path: Path, where: str
) -> None:
    folder = (
        tmp_path / "extra" if where == "PYTHONPATH" else tmp_path / ".snakemake/pip-deployments"
    )
    (folder / "snakemake_storage_plugin_unseen").mkdir(parents=True)
    if where == "PYTHONPATH":
        probe["env"]["PYTHONPATH"] += f"{os.pathsep}{folder}"
    assert warmth(server, probe)["plugins_listed"] is False


def test_other_commands_run_the_real_interpreter(server: ForkServer, probe: dict[str, Any]) -> None:
    script = "import sys; print('snakemake.cli' in sys.modules, sys.executable)"
    done = ran(python(server, "-c", script), probe)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", sys.executable]


def test_without_a_listening_server_the_command_runs_the_real_interpreter(
    tmp_path: Path,
) -> None:
    write_commands(tmp_path, str(tmp_path / "no-socket"), sys.executable, ("probe",))
    (tmp_path / "probe.py").write_text(PROBE)
    nowhere = {"cwd": tmp_path, "env": {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(tmp_path)}}
    done = ran([str(tmp_path / "python"), "-m", "probe", "report", "0"], nowhere)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["warm"] is False


def test_an_uncaught_exception_exits_1_with_its_traceback(
    server: ForkServer, probe: dict[str, Any]
) -> None:
    done = ran(python(server, "-m", "probe", "raise"), probe)
    assert done.returncode == 1
    assert "RuntimeError: the probe failed" in done.stderr


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_to_the_command_reaches_what_it_runs_and_its_exit_mirrors_it(
    server: ForkServer, probe: dict[str, Any], sig: signal.Signals
) -> None:
    command = subprocess.Popen(
        python(server, "-m", "probe", "sleep"), stdout=subprocess.PIPE, text=True, **probe
    )
    assert command.stdout is not None
    pid, child = (int(word) for word in command.stdout.readline().split())
    command.send_signal(sig)
    returncode = command.wait(timeout=30)
    assert returncode == -sig  # for SIGINT, after KeyboardInterrupt's traceback
    assert gone(pid, child)


def test_a_command_whose_process_group_is_killed_ends_by_sigkill(
    server: ForkServer, probe: dict[str, Any]
) -> None:
    command = subprocess.run(
        python(server, "-m", "probe", "kill-group"), check=False, timeout=60, **probe
    )
    assert command.returncode == -signal.SIGKILL


def test_killing_the_command_kills_what_it_runs(server: ForkServer, probe: dict[str, Any]) -> None:
    command = subprocess.Popen(
        python(server, "-m", "probe", "sleep"), stdout=subprocess.PIPE, text=True, **probe
    )
    assert command.stdout is not None
    pid, child = (int(word) for word in command.stdout.readline().split())
    command.kill()
    command.wait(timeout=30)
    assert gone(pid, child)


def test_what_the_command_leaves_running_ends_with_it(
    server: ForkServer, probe: dict[str, Any]
) -> None:
    done = ran(python(server, "-m", "probe", "leave"), probe)
    assert done.returncode == 0, done.stderr
    pid, child = (int(word) for word in done.stdout.split())
    assert gone(pid, child)


def test_pip_runs_through_the_server(server: ForkServer, probe: dict[str, Any]) -> None:
    done = ran([os.path.join(server.bin, "pip"), "--version"], probe)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("pip ")


def test_the_process_engine_runs_snakemake_of_a_job_command() -> None:
    lines: list[str] = []
    engine = ProcessEngine()
    execution = engine.launch(
        Launch(
            command=["/bin/sh", "-c", "python -m snakemake --version && exit 7"],
            environment={},
            image=None,
            name="forkserver-test",
            on_output=lines.append,
        )
    )
    deadline = time.monotonic() + 60
    while execution.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert execution.poll() == 7
    execution.close()
    assert lines == [snakemake.__version__]
