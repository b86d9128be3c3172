"""Array jobs: the one command of many Snakemake jobs of a rule, and how many fit. Pure.

The commands of one rule's jobs are the same but for a stretch in the middle (the
job's ``--target-jobs`` value, sometimes its ``--unneeded-temp-files``). An array's
command holds the common start and end once and each child's middle in a ``case`` on
``AWS_BATCH_JOB_ARRAY_INDEX``. A child puts its own command back together from these
three pieces, held as quoted data, and evaluates it: it runs exactly the text its job's
command was, whatever quotes, commas or spaces that text holds.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

INDEX_VARIABLE = "AWS_BATCH_JOB_ARRAY_INDEX"
MIN_SIZE = 2  # AWS's smallest array
MAX_SIZE = 10_000  # and its largest
# The exit code of a child whose index has no job: never one of a job's own commands.
NO_JOB_EXIT_CODE = 64


@dataclass(frozen=True, slots=True)
class Split:
    """Commands as their common start, each one's middle, and their common end."""

    prefix: str
    middles: tuple[str, ...]
    suffix: str

    def command(self, index: int) -> str:
        """The command of the job at ``index``, exactly as it was given."""
        return self.prefix + self.middles[index] + self.suffix


def split(commands: Sequence[str]) -> Split:
    """Split ``commands`` so that ``split(c).command(i) == c[i]`` for every ``i``."""
    if not commands:
        raise ValueError("no commands to split")
    prefix = _common_start(commands)
    rests = [command[len(prefix) :] for command in commands]
    suffix = _common_start([rest[::-1] for rest in rests])[::-1]
    middles = tuple(rest[: len(rest) - len(suffix)] for rest in rests)
    return Split(prefix, middles, suffix)


def _common_start(texts: Sequence[str]) -> str:
    """The longest text every one of ``texts`` starts with, character by character."""
    first, last = min(texts), max(texts)  # the others lie between these two
    pairs = enumerate(zip(first, last, strict=False))  # first is the shorter, or a start of last
    return first[: next((i for i, (a, b) in pairs if a != b), len(first))]


def _branch(index: int, middle: str) -> str:
    return f"{index}) _m={shlex.quote(middle)};;"


def script(parts: Split, start: int = 0, stop: int | None = None) -> str:
    """The shell script of the array of jobs ``start`` to ``stop`` of ``parts``.

    Its child ``i`` runs the command of job ``start + i``.
    """
    middles = parts.middles[start:stop]
    lines = [
        f"case ${INDEX_VARIABLE} in",
        *(_branch(index, middle) for index, middle in enumerate(middles)),
        f'*) echo "snakemake: no job for array index ${INDEX_VARIABLE}" >&2;'
        f" exit {NO_JOB_EXIT_CODE};;",
        "esac",
        f"_p={shlex.quote(parts.prefix)}",
        f"_s={shlex.quote(parts.suffix)}",
        'eval "$_p$_m$_s"',
    ]
    return "\n".join(lines)


def _json_length(text: str) -> int:
    """Characters ``text`` takes inside a JSON document (quotes excluded)."""
    return len(json.dumps(text)) - 2


def chunks(parts: Split, budget: int) -> Iterator[tuple[int, int]]:
    """Consecutive ``(start, stop)`` ranges whose scripts each take at most ``budget``.

    ``budget`` counts the script's characters as they are in a JSON request (the
    limits of AWS are on the JSON). A range holds at least one job and at most
    :data:`MAX_SIZE`; a job whose script alone is over the budget is a range of its
    own, for the caller's size check to refuse with its usual message.
    """
    newline = _json_length("\n")
    start = 0
    while start < len(parts.middles):
        used = _json_length(script(parts, start, start))  # the script without a branch
        stop = start
        while stop < len(parts.middles) and stop - start < MAX_SIZE:
            cost = _json_length(_branch(stop - start, parts.middles[stop])) + newline
            if used + cost > budget and stop > start:
                break
            used += cost
            stop += 1
        yield start, stop
        start = stop
