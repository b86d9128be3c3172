"""``snakemake-aws-batch-local``: serve a local AWS Batch until interrupted, or wait for one."""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import shlex
import signal
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from .knobs import KNOB_NAMES, KnobBoard
from .runtime import DEFAULT_POLL_SECONDS, checked_poll_seconds


def _poll_seconds(text: str) -> float:
    value: Any = text
    with contextlib.suppress(ValueError):
        value = float(text)
    try:
        return checked_poll_seconds(value)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="snakemake-aws-batch-local",
        description="Serve a local AWS Batch (with S3, CloudWatch Logs, Secrets Manager, SSM, "
        "IAM and EC2) on 127.0.0.1, print the environment that points Snakemake at it, and "
        "run until SIGINT or SIGTERM. `snakemake-aws-batch-local wait --env-file PATH` waits "
        "until the endpoint that writes PATH answers (see `wait --help`).",
    )
    parser.add_argument("action", nargs="?", default="serve", choices=["serve"])
    parser.add_argument("--port", type=int, default=0, help="port (default: any free one)")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument(
        "--engine",
        choices=["auto", "process", "docker"],
        default="auto",
        help="where job commands run: a Docker engine if one answers (auto), or local processes",
    )
    parser.add_argument(
        "--env-file",
        type=Path,
        help="also write the export lines to this file: removed at start, written at once when "
        "the endpoint answers, removed at exit",
    )
    parser.add_argument(
        "--poll-seconds",
        type=_poll_seconds,
        default=DEFAULT_POLL_SECONDS,
        help="how often a running job's command is checked for its exit, termination and "
        f"timeout (default: {DEFAULT_POLL_SECONDS}); longer saves CPU with many running jobs",
    )
    knobs = parser.add_argument_group("knobs (all can be changed later: POST /_local/knobs)")
    knobs.add_argument("--latency-ms", type=float, help="delay added to every API request")
    knobs.add_argument(
        "--submit-rate-limit", type=float, help="SubmitJob calls per second before HTTP 429"
    )
    knobs.add_argument("--throttle-rate", type=float, help="fraction of Batch calls given 429")
    knobs.add_argument(
        "--throttle-400-rate",
        type=float,
        help="fraction of Batch calls given 400 ThrottlingException",
    )
    knobs.add_argument("--server-error-rate", type=float, help="fraction of Batch calls given 500")
    knobs.add_argument(
        "--ambiguous-rate",
        type=float,
        help="fraction of Batch calls processed whose answer is lost (500 or dropped)",
    )
    knobs.add_argument(
        "--status-pace", type=float, dest="status_pace_seconds", help="seconds per job status"
    )
    knobs.add_argument(
        "--hold-jobs", action="store_true", default=None, help="keep jobs RUNNABLE until released"
    )
    knobs.add_argument(
        "--instant-jobs",
        action="store_true",
        default=None,
        help="jobs succeed without running their command",
    )
    knobs.add_argument(
        "--interrupt-jobs",
        action="append",
        metavar="PATTERN",
        help="interrupt (as a Spot reclaim) one running attempt of each job whose name or id "
        "matches PATTERN (repeatable; * matches any run of characters)",
    )
    knobs.add_argument(
        "--stop-timeout",
        type=float,
        dest="stop_timeout_seconds",
        help="seconds between SIGTERM and SIGKILL when a running job is stopped (AWS: 30)",
    )
    parser.add_argument("--ready-file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--exit-with-stdin", action="store_true", help=argparse.SUPPRESS)
    return parser


def knob_values(args: argparse.Namespace) -> dict[str, Any]:
    """The knobs given on the command line."""
    given = {name: getattr(args, name, None) for name in KNOB_NAMES}
    return {name: value for name, value in given.items() if value is not None}


def _timeout(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"a number of seconds (0 or more), not {text!r}")
    return value


def _wait_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="snakemake-aws-batch-local wait",
        description="Wait until the endpoint started with `--env-file PATH` has written PATH "
        "and answers; exit 0 then, or 1 after the timeout.",
    )
    parser.add_argument("--env-file", type=Path, required=True)
    parser.add_argument(
        "--timeout", type=_timeout, default=60.0, help="seconds to wait at most (default: 60)"
    )
    return parser


def _write_atomically(path: Path, text: str) -> None:
    """Write ``path`` whole or not at all: a reader never sees it half-written."""
    descriptor, partial = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=".partial"
    )
    try:
        with os.fdopen(descriptor, "w") as stream:
            stream.write(text)
        os.replace(partial, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(partial)
        raise


def _remove_if_ours(path: Path, text: str) -> None:
    with contextlib.suppress(OSError):
        if path.read_text() == text:
            path.unlink()


def parse_exports(text: str) -> dict[str, str]:
    """The variables of ``export K=V`` lines (as written to ``--env-file``)."""
    variables = {}
    for line in text.splitlines():
        words = shlex.split(line, comments=True)
        if len(words) == 2 and words[0] == "export" and "=" in words[1]:
            key, _, value = words[1].partition("=")
            variables[key] = value
    return variables


def _answers(env_file: Path) -> bool:
    """Whether ``env_file`` exists and the endpoint it names answers its health check."""
    try:
        variables = parse_exports(env_file.read_text())
    except (OSError, ValueError):
        return False
    base = variables.get("SNAKEMAKE_AWS_BATCH_LOCAL_CONTROL_URL") or variables.get(
        "AWS_ENDPOINT_URL", ""
    )
    if not base.startswith("http"):
        return False
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # 127.0.0.1
    try:
        with direct.open(f"{base}/_local/health", timeout=2) as answer:
            health = json.loads(answer.read())
    except (OSError, ValueError):
        return False
    return isinstance(health, dict) and health.get("ok") is True


def wait(argv: list[str]) -> int:
    """``wait --env-file PATH [--timeout S]``: 0 once that endpoint answers, 1 after S."""
    args = _wait_parser().parse_args(argv)
    deadline = time.monotonic() + args.timeout
    while not _answers(args.env_file):
        if time.monotonic() >= deadline:
            sys.stderr.write(
                f"snakemake-aws-batch-local wait: no endpoint answered through {args.env_file} "
                f"within {args.timeout:g} s\n"
            )
            return 1
        time.sleep(0.1)
    return 0


def _watch_stdin(done: threading.Event) -> None:
    while sys.stdin.buffer.read(4096):
        pass
    done.set()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["wait"]:
        return wait(argv[1:])
    args = _parser().parse_args(argv)
    knobs = knob_values(args)
    try:
        KnobBoard().update(knobs)
    except ValueError as err:
        _parser().error(str(err))
    if args.env_file:
        # A file left by an endpoint gone must not pass for this one's while it starts.
        args.env_file.unlink(missing_ok=True)
    # moto takes seconds to import: only once the arguments are known to be good.
    from .server import LocalServer  # noqa: PLC0415

    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    server = LocalServer(
        args.port, args.region, engine=args.engine, poll_seconds=args.poll_seconds, **knobs
    )
    resources = server.start()  # the endpoint answers from here on
    exports = "".join(f"export {k}={shlex.quote(v)}\n" for k, v in resources.env().items())
    try:
        if args.env_file:
            _write_atomically(args.env_file, exports)
        if args.ready_file:
            _write_atomically(args.ready_file, resources.to_json())
        else:
            sys.stdout.write(exports)
            engine = server.runtime.engine.describe() if server.runtime else "?"
            sys.stdout.write(f"# engine: {engine}\n")
            sys.stdout.flush()
        if args.exit_with_stdin:
            threading.Thread(target=_watch_stdin, args=(done,), daemon=True).start()
        while not done.wait(0.5):
            pass
    finally:
        server.stop()
        if args.env_file:
            _remove_if_ours(args.env_file, exports)
    return 0


if __name__ == "__main__":
    sys.exit(main())
