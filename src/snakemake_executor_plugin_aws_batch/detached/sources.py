"""The workflow's sources for a detached run: which files travel, and their archive.

A coordinator job runs Snakemake far from the workflow's folder, so the folder's sources go
with it: every file below the folder but hidden entries (``.snakemake/``, ``.git/``, a
venv...), ``__pycache__`` and what ``--exclude`` names. A file above Snakemake's own limit
for a source file (10 MB) is data, not a source: it stays behind, with a warning. Above
the limit for the whole, nothing is packed and the error names the largest files.
"""

from __future__ import annotations

import fnmatch
import io
import os
import tarfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from snakemake_interface_common.exceptions import WorkflowError

MIB = 1024 * 1024
# What Snakemake's own source deployment skips as too large for a source file.
MAX_SOURCE_FILE_BYTES = 10_000_000
DEFAULT_MAX_TOTAL_MIB = 50
SKIPPED_DIRECTORIES = frozenset({"__pycache__"})
LARGEST_SHOWN = 5


@dataclass(frozen=True)
class Selection:
    """The files that travel (relative paths, sorted) and the ones left behind as data."""

    files: tuple[tuple[str, int], ...]
    data: tuple[tuple[str, int], ...]

    @property
    def total_bytes(self) -> int:
        return sum(size for _, size in self.files)


def _excluded(relative: str, patterns: Sequence[str]) -> bool:
    parts = relative.split("/")
    return any(
        fnmatch.fnmatchcase(relative, pattern)
        or any(fnmatch.fnmatchcase(part, pattern) for part in parts)
        or relative.startswith(pattern.rstrip("/") + "/")
        for pattern in patterns
    )


def _walk(folder: Path) -> Iterable[tuple[str, int]]:
    for directory, subdirectories, files in os.walk(folder):
        subdirectories[:] = sorted(
            d for d in subdirectories if not d.startswith(".") and d not in SKIPPED_DIRECTORIES
        )
        for name in sorted(files):
            if name.startswith("."):
                continue
            path = Path(directory) / name
            if path.is_symlink() and not path.exists():
                continue
            if path.is_file():
                yield path.relative_to(folder).as_posix(), path.stat().st_size


def select(folder: Path, excludes: Sequence[str] = ()) -> Selection:
    """The files of ``folder`` that travel with a detached run."""
    files: list[tuple[str, int]] = []
    data: list[tuple[str, int]] = []
    for relative, size in _walk(folder):
        if _excluded(relative, excludes):
            continue
        (data if size > MAX_SOURCE_FILE_BYTES else files).append((relative, size))
    return Selection(tuple(files), tuple(data))


def human(size: int) -> str:
    for unit, scale in (("GiB", 1024**3), ("MiB", MIB), ("KiB", 1024)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} B"


def check_size(selection: Selection, max_total_mib: int) -> None:
    """``WorkflowError`` when the sources are above the limit, naming the largest files."""
    if not selection.files:
        raise WorkflowError("No workflow sources to send: the folder holds no file to pack.")
    if selection.total_bytes <= max_total_mib * MIB:
        return
    largest = sorted(selection.files, key=lambda item: -item[1])[:LARGEST_SHOWN]
    listed = ", ".join(f"{path} ({human(size)})" for path, size in largest)
    raise WorkflowError(
        f"The workflow's sources come to {human(selection.total_bytes)} in "
        f"{len(selection.files)} files, above the limit of {max_total_mib} MiB "
        f"(--max-sources-mib). The largest: {listed}. Keep data in the default storage, or "
        "leave files out with --exclude PATTERN."
    )


def archive(folder: Path, selection: Selection) -> bytes:
    """A gzipped tar of the selected files, paths relative to ``folder``."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for relative, _ in selection.files:
            tar.add(folder / relative, arcname=relative, recursive=False)
    return buffer.getvalue()


def unpack(content: bytes, destination: Path) -> list[str]:
    """Unpack an ``archive`` into ``destination``; the names it held. Refuses paths that
    would leave ``destination`` (tarfile's ``data`` filter)."""
    destination.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(content), mode="r:gz") as tar:
        names = tar.getnames()
        tar.extractall(destination, filter="data")
    return names
