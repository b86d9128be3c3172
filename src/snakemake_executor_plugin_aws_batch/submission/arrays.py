"""Array jobs: which jobs share one, its command, how many fit, when to look at children.

Pure functions, for the executor to submit many Snakemake jobs of a rule in one
SubmitJob and to watch them with few calls.

The commands of one rule's jobs are the same but for a stretch in the middle (the
job's ``--target-jobs`` value, sometimes its ``--unneeded-temp-files``). An array's
command holds the common start and end once and each child's middle in a ``case`` on
``AWS_BATCH_JOB_ARRAY_INDEX``. A child puts its own command back together from these
three pieces, held as quoted data, and evaluates it: it runs exactly the text its job's
command was, whatever quotes, commas or spaces that text holds.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from ..jobspec.payloads import MAX_CONTAINER_OVERRIDES, MAX_SUBMIT_PAYLOAD

INDEX_VARIABLE = "AWS_BATCH_JOB_ARRAY_INDEX"
MIN_SIZE = 2  # AWS's smallest array
MAX_SIZE = 10_000  # and its largest
# The exit code of a child whose index has no job: never one of a job's own commands.
NO_JOB_EXIT_CODE = 64
# What the service's exactly-once marker adds to a request: its entry in the
# environment takes about 100 characters.
MARKER_ALLOWANCE = 128
# How long a scheduling round's jobs are gathered before the first arrays go out.
FIRST_RELEASE_SECONDS = 0.5

T = TypeVar("T")


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


# A word as shlex.quote writes it: bare, or single-quoted pieces with quoted quotes between.
_QUOTED = r"(?:'[^']*'|\"'\"|[\w@%+=:,./-])+"
_BRANCH = re.compile(rf"(\d+)\) _m=({_QUOTED});;\n")
_ENDING = re.compile(rf"_p=({_QUOTED})\n_s=({_QUOTED})\neval \"\$_p\$_m\$_s\"")


def commands_of(text: str) -> list[str] | None:
    """The commands of an array's children, from the script :func:`script` wrote for
    them, child by child; None when ``text`` is not such a script."""
    head = f"case ${INDEX_VARIABLE} in\n"
    if not text.startswith(head):
        return None
    middles: list[str] = []
    position = len(head)
    while (branch := _BRANCH.match(text, position)) is not None:
        if int(branch.group(1)) != len(middles):
            return None
        middles.append(shlex.split(branch.group(2))[0])
        position = branch.end()
    rest = text[position:]
    default, _, ending = rest.partition("\nesac\n")
    found = _ENDING.fullmatch(ending)
    if not default.startswith("*) ") or found is None or not middles:
        return None
    prefix, suffix = (shlex.split(found.group(n))[0] for n in (1, 2))
    return [prefix + middle + suffix for middle in middles]


def script_budget(request: Mapping[str, Any]) -> int:
    """Characters left for an array's script in ``request`` (a request with an empty
    command), within AWS's limits on containerOverrides and on the whole payload,
    with room for the marker the service adds."""
    overrides = len(json.dumps(request["containerOverrides"], separators=(",", ":")))
    payload = len(json.dumps(request, separators=(",", ":")).encode())
    return min(MAX_CONTAINER_OVERRIDES - overrides, MAX_SUBMIT_PAYLOAD - payload) - MARKER_ALLOWANCE


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


# Grouping ---------------------------------------------------------------------------


def group_key(request: Mapping[str, Any], *, rule: str, attempt: int) -> str:
    """What the jobs of one array share: their whole SubmitJob request but name and command.

    ``request`` is a job's request before the plugin's per-submission marker is added.
    """
    overrides = {k: v for k, v in request["containerOverrides"].items() if k != "command"}
    rest = {k: v for k, v in request.items() if k not in ("jobName", "containerOverrides")}
    return json.dumps([rule, attempt, overrides, rest], sort_keys=True, separators=(",", ":"))


class Gathering(Generic[T]):
    """One scheduling round's jobs, gathered by key while they are prepared.

    Preparing a job (its spec, its command) takes time, seconds for 10,000 of them. So
    that the first jobs reach AWS Batch at once, every group with enough jobs is released
    (to be submitted as arrays) once the round has taken ``first_release`` seconds, and
    again each time that wait has doubled; the rest is released at the end (:meth:`rest`).
    A round prepared faster than ``first_release`` is released whole at its end.
    """

    def __init__(
        self, min_size: int, *, started: float, first_release: float = FIRST_RELEASE_SECONDS
    ) -> None:
        # 0 turns arrays off: every job goes alone.
        self._wanted = max(min_size, MIN_SIZE) if min_size > 0 else None
        self._pending: dict[str, list[tuple[int, T]]] = {}
        self._released: set[str] = set()  # keys with an array out already
        self._count = 0
        self._wait = first_release
        self._release_at = started + first_release

    def add(self, key: str, item: T, now: float) -> list[list[T]]:
        """Gather ``item``; the groups to submit now, when it is time to release them."""
        self._pending.setdefault(key, []).append((self._count, item))
        self._count += 1
        if now < self._release_at or self._wanted is None:
            return []
        self._wait *= 2
        self._release_at = now + self._wait
        wanted = self._wanted
        ready = [key for key, members in self._pending.items() if len(members) >= wanted]
        self._released.update(ready)
        return [[item for _, item in self._pending.pop(key)] for key in ready]

    def rest(self) -> tuple[list[list[T]], list[T]]:
        """The end of the round: the groups to submit as arrays, and the jobs to submit
        alone, each in the order they were added. A key with fewer than ``min_size`` jobs
        (and than :data:`MIN_SIZE`) goes alone, unless an array of it went out already:
        then from :data:`MIN_SIZE` on, its rest is an array too."""
        grouped: list[list[T]] = []
        alone: list[tuple[int, T]] = []
        for key, members in self._pending.items():
            enough = MIN_SIZE if key in self._released else self._wanted
            if enough is not None and len(members) >= enough:
                grouped.append([item for _, item in members])
            else:
                alone.extend(members)
        self._pending.clear()
        return grouped, [item for _, item in sorted(alone, key=lambda pair: pair[0])]
