"""Container options: shared memory, volumes, ulimits, privileged mode, CPU
architecture, log group, Fargate platform version. Pure checks.

Each check takes an :class:`~.validation.Origin` and returns the value as the job
definition needs it, or raises a ``WorkflowError`` naming the origin, the value and
what is allowed. What a platform refuses of them, and their job definition fields, are
:mod:`..jobspec.container`'s.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .validation import Origin, integer, invalid, parse_json

# The rule resources held here (resources.py lists them with every other one).
SHARED_MEMORY_MB = "aws_batch_shared_memory_mb"
VOLUMES = "aws_batch_volumes"
ULIMITS = "aws_batch_ulimits"
PRIVILEGED = "aws_batch_privileged"
CPU_ARCHITECTURE = "aws_batch_cpu_architecture"
# What each one is, in a sentence.
WHAT = {
    SHARED_MEMORY_MB: "shared memory size",
    VOLUMES: "volumes",
    ULIMITS: "ulimits",
    PRIVILEGED: "privileged mode",
    CPU_ARCHITECTURE: "CPU architecture",
}

VOLUME_NAME = re.compile(r"[A-Za-z0-9_-]{1,255}")
FILE_SYSTEM_ID = re.compile(r"fs-[0-9a-f]{8,40}")
ACCESS_POINT_ID = re.compile(r"fsap-[0-9a-f]{8,40}")
LOG_GROUP = re.compile(r"[A-Za-z0-9_./#-]{1,512}")
PLATFORM_VERSION = re.compile(r"LATEST|\d+\.\d+\.\d+")
# Docker's ulimit names, which ECS takes as they are.
ULIMIT_NAMES = (
    "core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice",
    "nofile", "nproc", "rss", "rtprio", "rttime", "sigpending", "stack",
)  # fmt: skip
ARCHITECTURES = ("X86_64", "ARM64")
MIN_FARGATE_VERSION = (1, 4, 0)  # for EFS volumes and ARM64
LOG_STREAM_PREFIX = "snakemake"
EFS_KEYS = (
    "fileSystemId", "rootDirectory", "accessPointId", "transitEncryption",
    "transitEncryptionPort", "iam",
)  # fmt: skip

VOLUMES_EXAMPLE = (
    '[{"name": "refs", "containerPath": "/refs", "readOnly": true, '
    '"efs": {"fileSystemId": "fs-0123456789abcdef0", "transitEncryption": true}}]'
)
ULIMITS_EXAMPLE = '[{"name": "nofile", "softLimit": 65536, "hardLimit": 65536}]'


@dataclass(frozen=True, slots=True)
class Efs:
    file_system_id: str
    root_directory: str | None = None
    access_point_id: str | None = None
    transit_encryption: bool = False
    transit_encryption_port: int | None = None
    iam: bool = False


@dataclass(frozen=True, slots=True)
class Volume:
    """A volume and where the container sees it: a host path (EC2) or an EFS file system."""

    name: str
    container_path: str
    read_only: bool = False
    host_path: str | None = None
    efs: Efs | None = None


@dataclass(frozen=True, slots=True)
class Ulimit:
    name: str
    soft: int
    hard: int


@dataclass(frozen=True, slots=True)
class ContainerOptions:
    """What a job definition holds beyond image, roles and secrets. Defaults add nothing."""

    shared_memory_mb: int | None = None
    volumes: tuple[Volume, ...] = ()
    ulimits: tuple[Ulimit, ...] = ()
    privileged: bool = False
    cpu_architecture: str | None = None  # None: the platform's default (X86_64)
    log_group: str | None = None  # None: AWS Batch's /aws/batch/job
    fargate_platform_version: str = "LATEST"


# Checks of single values ---------------------------------------------------------


def shared_memory_mb(origin: Origin, value: object) -> int:
    return integer(origin, value, minimum=1)


def privileged(origin: Origin, value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise invalid(origin, value, "Expected True or False.")


def cpu_architecture(origin: Origin, value: object) -> str:
    text = value.strip().upper() if isinstance(value, str) else None
    if text not in ARCHITECTURES:
        raise invalid(origin, value, "Expected X86_64 or ARM64.")
    return text


def log_group(origin: Origin, value: object) -> str:
    if not isinstance(value, str) or not LOG_GROUP.fullmatch(value):
        raise invalid(
            origin,
            value,
            "Expected a CloudWatch Logs group name: 1 to 512 letters, digits and "
            "'_', '-', '/', '.', '#', e.g. /aws/batch/snakemake.",
        )
    return value


def fargate_platform_version(origin: Origin, value: object) -> str:
    if not isinstance(value, str) or not PLATFORM_VERSION.fullmatch(value.strip()):
        raise invalid(origin, value, "Expected LATEST or a version such as 1.4.0.")
    return value.strip()


def _absolute_path(origin: Origin, entry: object, key: str, value: object) -> str:
    if not isinstance(value, str) or not value.startswith("/") or "\0" in value:
        raise invalid(origin, entry, f"{key} must be an absolute path, e.g. /refs.")
    return value


def _flag(origin: Origin, entry: object, key: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise invalid(origin, entry, f"{key} must be true or false.")
    return value


def _keys(origin: Origin, entry: object, allowed: Iterable[str], what: str) -> dict[str, Any]:
    if not isinstance(entry, dict):
        raise invalid(origin, entry, f"Each {what} must be a JSON object.")
    unknown = sorted(set(entry) - set(allowed))
    if unknown:
        raise invalid(
            origin,
            entry,
            f"Unknown key(s) {', '.join(unknown)} in a {what}; allowed: {', '.join(allowed)}.",
        )
    return entry


def _efs(origin: Origin, entry: object, value: object) -> Efs:
    keys = EFS_KEYS
    found = _keys(origin, value, keys, "efs object")
    system = found.get("fileSystemId")
    if not isinstance(system, str) or not FILE_SYSTEM_ID.fullmatch(system):
        raise invalid(
            origin, entry, "efs.fileSystemId must be an EFS id, e.g. fs-0123456789abcdef0."
        )
    point = found.get("accessPointId")
    if point is not None and (not isinstance(point, str) or not ACCESS_POINT_ID.fullmatch(point)):
        raise invalid(
            origin,
            entry,
            "efs.accessPointId must be an access point id, e.g. fsap-0123456789abcdef0.",
        )
    root = found.get("rootDirectory")
    if root is not None:
        root = _absolute_path(origin, entry, "efs.rootDirectory", root)
    encrypted = _flag(origin, entry, "efs.transitEncryption", found.get("transitEncryption", False))
    iam = _flag(origin, entry, "efs.iam", found.get("iam", False))
    port = found.get("transitEncryptionPort")
    if port is not None:
        port = integer(origin, port, minimum=1, maximum=65535)
    if point is not None and not encrypted:
        raise invalid(origin, entry, 'An EFS access point needs "transitEncryption": true.')
    if point is not None and root not in (None, "/"):
        raise invalid(
            origin,
            entry,
            "With an EFS access point the root directory is the access point's: leave "
            'efs.rootDirectory out (or "/").',
        )
    if iam and not encrypted:
        raise invalid(origin, entry, 'EFS IAM authorization needs "transitEncryption": true.')
    if port is not None and not encrypted:
        raise invalid(origin, entry, 'efs.transitEncryptionPort needs "transitEncryption": true.')
    return Efs(system, root, point, encrypted, port, iam)


def _volume(origin: Origin, entry: object) -> Volume:
    keys = ("name", "containerPath", "readOnly", "hostPath", "efs")
    found = _keys(origin, entry, keys, "volume")
    name = found.get("name")
    if not isinstance(name, str) or not VOLUME_NAME.fullmatch(name):
        raise invalid(
            origin, entry, "A volume's name must be 1 to 255 letters, digits, '-' and '_'."
        )
    path = _absolute_path(origin, entry, "containerPath", found.get("containerPath"))
    read_only = _flag(origin, entry, "readOnly", found.get("readOnly", False))
    if ("hostPath" in found) == ("efs" in found):
        raise invalid(
            origin,
            entry,
            'A volume needs exactly one of "hostPath" (an absolute path on the EC2 host) '
            'and "efs" (an EFS file system).',
        )
    if "hostPath" in found:
        host = _absolute_path(origin, entry, "hostPath", found["hostPath"])
        return Volume(name, path, read_only, host_path=host)
    return Volume(name, path, read_only, efs=_efs(origin, entry, found["efs"]))


def volumes(origin: Origin, value: object) -> tuple[Volume, ...]:
    entries = parse_json(origin, value, list, VOLUMES_EXAMPLE)
    checked = tuple(_volume(origin, entry) for entry in entries)
    check_distinct(origin, value, checked)
    return checked


def check_distinct(origin: Origin, value: object, found: Iterable[Volume]) -> None:
    """Refuse two volumes of one name, or two at one container path."""
    names: set[str] = set()
    paths: set[str] = set()
    for volume in found:
        if volume.name in names:
            raise invalid(origin, value, f"The volume name {volume.name!r} is used twice.")
        path = volume.container_path.rstrip("/") or "/"
        if path in paths:
            raise invalid(origin, value, f"Two volumes are mounted at {volume.container_path}.")
        names.add(volume.name)
        paths.add(path)


def merge_volumes(
    default: Iterable[Volume], rule: Iterable[Volume], origin: Origin, value: object
) -> tuple[Volume, ...]:
    """The setting's volumes, then the rule's: on the same name the rule's wins."""
    merged = {volume.name: volume for volume in default}
    merged.update({volume.name: volume for volume in rule})
    result = tuple(merged.values())
    check_distinct(origin, value, result)
    return result


def ulimits(origin: Origin, value: object) -> tuple[Ulimit, ...]:
    entries = parse_json(origin, value, list, ULIMITS_EXAMPLE)
    found: list[Ulimit] = []
    for entry in entries:
        keys = _keys(origin, entry, ("name", "softLimit", "hardLimit"), "ulimit")
        name = keys.get("name")
        if name not in ULIMIT_NAMES:
            raise invalid(
                origin, entry, f"A ulimit's name must be one of {', '.join(ULIMIT_NAMES)}."
            )
        if "softLimit" not in keys or "hardLimit" not in keys:
            raise invalid(origin, entry, "A ulimit needs softLimit and hardLimit.")
        soft = integer(origin, keys["softLimit"], minimum=0)
        hard = integer(origin, keys["hardLimit"], minimum=0)
        if soft > hard:
            raise invalid(origin, entry, f"softLimit {soft} is above hardLimit {hard}.")
        if any(other.name == name for other in found):
            raise invalid(origin, value, f"The ulimit {name} is given twice.")
        found.append(Ulimit(str(name), soft, hard))
    return tuple(found)


def from_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """The rule's own container options among its checked resource values (not volumes,
    which are merged with the setting's)."""
    fields = {
        SHARED_MEMORY_MB: "shared_memory_mb",
        ULIMITS: "ulimits",
        PRIVILEGED: "privileged",
        CPU_ARCHITECTURE: "cpu_architecture",
    }
    return {field: values[name] for name, field in fields.items() if name in values}
