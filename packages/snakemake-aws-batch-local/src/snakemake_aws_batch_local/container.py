"""A job definition's container options as a launch takes them: mount points (from
``volumes`` and ``mountPoints``), shared memory size, ulimits and privileged mode.

The Docker engine passes them all on. A local process has no mount namespace: each mount
point becomes a symbolic link in the job's working directory (``/data/ref`` as
``./data/ref``), and the absolute container path is only right when it is the host path;
the other options are not applied. EFS volumes are not mounted at all.
"""

from __future__ import annotations

import logging
import os
import posixpath
from dataclasses import dataclass
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Mount:
    """One mount point: a host path (``source``), or None for a volume of the container's
    own (Docker makes an empty one, deleted with the container)."""

    container_path: str
    source: str | None
    read_only: bool = False


@dataclass(frozen=True)
class Ulimit:
    name: str
    soft: int
    hard: int


@dataclass(frozen=True)
class Options:
    """What a launch takes from ``containerProperties`` beside command, image, environment."""

    mounts: tuple[Mount, ...] = ()
    shared_memory_mib: int | None = None
    ulimits: tuple[Ulimit, ...] = ()
    privileged: bool = False


def mounts_of(properties: dict[str, Any]) -> tuple[Mount, ...]:
    """The mount points whose volume is a host path or a Docker volume (EFS ones left out)."""
    volumes = {
        str(volume.get("name")): volume
        for volume in properties.get("volumes") or []
        if isinstance(volume, dict)
    }
    mounts = []
    for point in properties.get("mountPoints") or []:
        if not isinstance(point, dict) or not isinstance(point.get("containerPath"), str):
            continue
        volume = volumes.get(str(point.get("sourceVolume")))
        if volume is None or volume.get("efsVolumeConfiguration"):
            continue
        host = volume.get("host") if isinstance(volume.get("host"), dict) else {}
        source = host.get("sourcePath") if host else None
        mounts.append(
            Mount(
                container_path=point["containerPath"],
                source=str(source) if source else None,
                read_only=bool(point.get("readOnly", False)),
            )
        )
    return tuple(mounts)


def _inside(workdir: Path, container_path: str) -> Path | None:
    """Where ``container_path`` goes in ``workdir``; None for ``/`` or a relative path."""
    if not container_path.startswith("/"):
        return None
    relative = posixpath.normpath(container_path).lstrip("/")
    return workdir / relative if relative not in ("", ".") else None


def _crosses_a_link(workdir: Path, path: Path) -> bool:
    """Whether a directory between ``workdir`` and ``path`` is a link (an earlier mount)."""
    current = workdir
    for part in path.relative_to(workdir).parts[:-1]:
        current = current / part
        if current.is_symlink():
            return True
    return False


def link_mounts(workdir: str, mounts: tuple[Mount, ...]) -> list[str]:
    """Make each mount reachable at ``<workdir>/<container path>``; what could not be made.

    A host path that does not exist is created first (a directory), as the Docker daemon
    does; a host file is linked as it is.
    """
    root = Path(workdir)
    problems = []
    for mount in mounts:
        target = _inside(root, mount.container_path)
        if target is None:
            problems.append(f"{mount.container_path!r}: not an absolute path below /")
            continue
        if _crosses_a_link(root, target) or os.path.lexists(target):
            problems.append(f"{mount.container_path!r}: inside or at another mount point")
            continue
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            if mount.source is None:
                target.mkdir()
                continue
            if not os.path.exists(mount.source):
                os.makedirs(mount.source)
            target.symlink_to(mount.source)
        except OSError as err:
            problems.append(f"{mount.container_path!r}: {err}")
    for problem in problems:
        logger.warning("mount point not made in %s: %s", workdir, problem)
    return problems


def merged_requirements(
    properties: dict[str, Any], overrides: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    """``resourceRequirements`` by type: the definition's, with SubmitJob's overrides applied."""
    merged = {}
    for source in (properties, overrides):
        for entry in source.get("resourceRequirements") or []:
            if isinstance(entry, dict):
                merged[str(entry.get("type"))] = dict(entry)
    return merged


def requirement(requirements: dict[str, dict[str, Any]], kind: str) -> float | None:
    """One requirement's value as a positive number (``VCPU`` may be a fraction), else None."""
    raw: Any = requirements.get(kind, {}).get("value")
    try:
        value = float(raw)
    except (TypeError, ValueError):
        return None
    return value if value > 0 else None


def _integer(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def options_of(properties: dict[str, Any]) -> Options:
    """The container options of ``containerProperties`` (malformed entries are left out)."""
    linux = properties.get("linuxParameters")
    shared = _integer(linux.get("sharedMemorySize")) if isinstance(linux, dict) else None
    ulimits = []
    for entry in properties.get("ulimits") or []:
        if not isinstance(entry, dict) or not entry.get("name"):
            continue
        soft, hard = _integer(entry.get("softLimit")), _integer(entry.get("hardLimit"))
        if soft is not None and hard is not None:
            ulimits.append(Ulimit(str(entry["name"]), soft, hard))
    return Options(
        mounts=mounts_of(properties),
        shared_memory_mib=shared if shared and shared > 0 else None,
        ulimits=tuple(ulimits),
        privileged=properties.get("privileged") is True,
    )
