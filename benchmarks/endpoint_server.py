"""The local AWS Batch endpoint's command line, with coarser polling in its job threads.

The endpoint drives every job in a thread of its own that checks every 50 ms whether
it may go on. With thousands of jobs held RUNNABLE those checks alone keep a small
machine's CPUs busy and slow the endpoint's answers down to a few per second. For the
benchmark the job threads check once per ``BENCH_ENDPOINT_POLL_SECONDS`` (default 1 s)
instead: jobs then leave RUNNABLE up to that long after being released, which the
benchmark does not measure. Everything else is the endpoint's own command line.
"""

from __future__ import annotations

import os
import sys

POLL_VARIABLE = "BENCH_ENDPOINT_POLL_SECONDS"
DEFAULT_POLL_SECONDS = 1.0


def main() -> int:
    from snakemake_aws_batch_local import __main__ as cli
    from snakemake_aws_batch_local import runner

    runner.STEP = float(os.environ.get(POLL_VARIABLE, DEFAULT_POLL_SECONDS))
    return int(cli.main(sys.argv[1:]))


if __name__ == "__main__":
    sys.exit(main())
