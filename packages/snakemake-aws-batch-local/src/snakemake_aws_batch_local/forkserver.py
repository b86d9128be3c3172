"""A fork server for job commands: ``python -m snakemake`` and ``pip`` started warm.

Every job of a Snakemake workflow runs ``pip install`` and two ``python -m snakemake``
processes; each spends most of its CPU importing Snakemake, boto3 and pip. In a container
image that cost is paid per job too, but here all jobs share a small machine. The process
engine therefore puts two commands, ``python`` and ``pip``, first on each job's ``PATH``:
they hand ``python -m snakemake ...`` and ``pip ...`` to a server that has imported those
modules once and forks a process per command, and run every other command with the real
interpreter. The forked process gets the command's arguments, environment, working
directory and standard streams, runs in a session of its own, takes the signals the
command receives and ends with it; the command exits with its exit status.
What the server prepares before it forks, beyond the imports, is in ``warm``. The
repository's end-to-end tests run their own ``python -m snakemake`` through one too.

Protocol, on a unix socket: the command sends a 4-byte length with its three standard
streams attached, then that many bytes of JSON (``argv``, ``cwd``, ``env``, ``module``).
The server's child answers ``S`` with a signal number to mirror, or ``E`` with an exit
code; the command sends ``K`` with a signal number to pass on.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import fcntl
import importlib
import json
import os
import runpy
import select
import shlex
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import traceback
from pathlib import Path
from typing import Any

from . import warm
from .warm import PRELOAD

# The commands handed over: ``python -m <module> ...`` and ``pip ...``.
PYTHON_MODULES = ("snakemake",)
HEADER = struct.Struct("!I")
ANSWER = struct.Struct("!cI")
FORWARDED_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT)

# The commands on a job's PATH. They start a bare interpreter (-I -S: no site, no
# environment) that only needs the standard library, and fall back to the real command
# when the server cannot take it.
CLIENT = """\
import json, os, signal, socket, struct, sys

REAL_PYTHON, SOCKET, NAME = {real_python!r}, {socket_path!r}, {name!r}
MODULES = {modules!r}


def handed_over(argv):
    if NAME == "pip":
        return "pip", ["pip", *argv]
    if len(argv) >= 2 and argv[0] == "-m" and argv[1] in MODULES:
        return argv[1], [argv[1], *argv[2:]]
    return None


def real(argv):
    command = ["-m", "pip", *argv] if NAME == "pip" else argv
    os.execv(REAL_PYTHON, [REAL_PYTHON, *command])


def main():
    argv = sys.argv[1:]
    target = handed_over(argv)
    if target is None:
        real(argv)
    module, module_argv = target
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        connection.connect(SOCKET)
    except OSError:
        connection.close()
        real(argv)
    request = json.dumps(
        {{"module": module, "argv": module_argv, "cwd": os.getcwd(), "env": dict(os.environ)}}
    ).encode()
    socket.send_fds(connection, [struct.pack("!I", len(request))], [0, 1, 2])
    connection.sendall(request)

    def forward(number, frame):
        try:
            connection.sendall(struct.pack("!cI", b"K", number))
        except OSError:
            pass

    for number in {signals!r}:
        signal.signal(number, forward)
    answer = b""
    while len(answer) < 5:
        try:
            chunk = connection.recv(5 - len(answer))
        except InterruptedError:
            continue
        if not chunk:
            sys.exit(1)
        answer += chunk
    kind, value = struct.unpack("!cI", answer)
    if kind == b"S":
        if value not in (signal.SIGKILL, signal.SIGSTOP):  # these take no handler
            signal.signal(value, signal.SIG_DFL)
        os.kill(os.getpid(), value)
    sys.exit(value)


main()
"""


def write_commands(
    folder: Path, socket_path: str, real_python: str, modules: tuple[str, ...]
) -> None:
    """``python`` and ``pip`` in ``folder``, handing ``python -m <one of modules>`` and
    ``pip`` to ``socket_path``."""
    for name in ("python", "pip"):
        script = folder / f"{name}-client.py"
        script.write_text(
            CLIENT.format(
                real_python=real_python,
                socket_path=socket_path,
                name=name,
                modules=modules,
                signals=[int(number) for number in FORWARDED_SIGNALS],
            )
        )
        command = folder / name
        command.write_text(
            f'#!/bin/sh\nexec {shlex.quote(real_python)} -I -S {shlex.quote(str(script))} "$@"\n'
        )
        command.chmod(0o755)


class ForkServer:
    """The server process and the folder of its commands, for one process engine.

    ``bin`` goes first on a job's ``PATH``. Until the server listens (it imports for about
    a second), and after it has gone, the commands run the real interpreter.
    """

    def __init__(
        self,
        niceness: int = 0,
        *,
        modules: tuple[str, ...] = PYTHON_MODULES,
        preload: tuple[str, ...] = PRELOAD,
    ) -> None:
        self.bin = tempfile.mkdtemp(prefix="snakemake-local-forkserver-")
        self.socket = os.path.join(self.bin, "socket")
        write_commands(Path(self.bin), self.socket, sys.executable, modules)
        command = [sys.executable, "-m", __name__, self.socket, "--niceness", str(niceness)]
        self._process = subprocess.Popen(
            [*command, *(f"--preload={module}" for module in preload)],
            stdin=subprocess.PIPE,  # the server ends when this closes
            stdout=subprocess.DEVNULL,
            start_new_session=True,
        )
        atexit.register(self.close)

    @property
    def pid(self) -> int:
        return self._process.pid

    def close(self) -> None:
        if self._process.stdin is not None and not self._process.stdin.closed:
            self._process.stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._process.wait(timeout=5)
        if self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        for name in os.listdir(self.bin) if os.path.isdir(self.bin) else ():
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(self.bin, name))
        with contextlib.suppress(OSError):
            os.rmdir(self.bin)


# -- the server --------------------------------------------------------------------------
def serve(socket_path: str) -> None:
    """Accept commands until standard input closes; fork a child for each."""
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the children reap themselves
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(socket_path + ".new")
    listener.listen(64)
    os.rename(socket_path + ".new", socket_path)  # commands connect only once it listens
    parent = sys.stdin.fileno()
    while True:
        ready, _, _ = select.select([listener, parent], [], [])
        if parent in ready and not os.read(parent, 1):
            return
        if listener not in ready:
            continue
        connection, _ = listener.accept()
        sys.stdout.flush()
        sys.stderr.flush()
        if os.fork() == 0:
            listener.close()
            os.close(parent)
            os._exit(watch(connection))
        connection.close()


def watch(connection: socket.socket) -> int:
    """In the server's child: run the command in a grandchild, pass signals on, answer how
    it ended, and end what it left running."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    try:
        header, fds, _, _ = socket.recv_fds(connection, HEADER.size, 3)
        (length,) = HEADER.unpack(header)
        body = b""
        while len(body) < length:
            chunk = connection.recv(length - len(body))
            if not chunk:
                return 1
            body += chunk
        request = json.loads(body)
    except (OSError, ValueError, struct.error):
        return 1
    pid = os.fork()
    if pid == 0:
        connection.close()
        os._exit(run(request, fds))
    for fd in fds:
        os.close(fd)
    pidfd = os.pidfd_open(pid)
    while True:
        ready, _, _ = select.select([connection.fileno(), pidfd], [], [])
        if pidfd in ready:
            break
        message = connection.recv(ANSWER.size)
        if len(message) < ANSWER.size:  # the command is gone: so is what it ran
            with contextlib.suppress(OSError):
                os.killpg(pid, signal.SIGKILL)
            break
        _, number = ANSWER.unpack(message)
        with contextlib.suppress(OSError):
            os.killpg(pid, number)
    os.close(pidfd)
    _, status = os.waitpid(pid, 0)
    with contextlib.suppress(OSError):  # a container ends with its main process
        os.killpg(pid, signal.SIGKILL)
    if os.WIFSIGNALED(status):
        answer = ANSWER.pack(b"S", os.WTERMSIG(status))
    else:
        answer = ANSWER.pack(b"E", os.waitstatus_to_exitcode(status))
    with contextlib.suppress(OSError):
        connection.sendall(answer)
    return 0


def run(request: dict[str, Any], fds: list[int]) -> int:
    """In the grandchild: become the command and run its module; its exit code."""
    os.setsid()
    moved = [fcntl.fcntl(fd, fcntl.F_DUPFD, 3) for fd in fds]  # none of them 0, 1 or 2
    for fd in fds:
        os.close(fd)
    for target, fd in enumerate(moved):
        os.dup2(fd, target)
        os.close(fd)
    for number in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(number, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    extra = [entry for entry in os.environ.get("PYTHONPATH", "").split(os.pathsep) if entry]
    sys.path[:1] = [request["cwd"], *extra]
    sys.path_importer_cache.clear()
    importlib.invalidate_caches()
    warm.refresh()
    sys.argv = list(request["argv"])
    code, interrupted = 0, False
    try:
        runpy.run_module(request["module"], run_name="__main__", alter_sys=True)
    except SystemExit as end:
        code = exit_code(end.code)
    except BaseException as error:  # as an interpreter does: print it, exit 1
        traceback.print_exc()
        code, interrupted = 1, isinstance(error, KeyboardInterrupt)
    threading._shutdown()  # type: ignore[attr-defined]  # as at an interpreter's exit
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    if interrupted:  # an interpreter then ends by the signal, for its parent to see
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
    return code


def exit_code(value: object) -> int:
    """An interpreter's exit code for ``sys.exit(value)``."""
    if value is None:
        return 0
    if isinstance(value, int):
        return value & 0xFF
    with contextlib.suppress(Exception):
        print(value, file=sys.stderr)
    return 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("socket")
    parser.add_argument("--niceness", type=int, default=0)
    parser.add_argument("--preload", action="append", default=[])
    args = parser.parse_args()
    with contextlib.suppress(OSError):
        os.nice(args.niceness)
    warm.prepare(args.preload)
    serve(args.socket)


if __name__ == "__main__":
    main()
