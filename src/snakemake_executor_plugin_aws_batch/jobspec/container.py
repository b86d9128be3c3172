"""Container options on a platform: what EC2 or Fargate refuses of them, and their
``containerProperties`` fields in a job definition. Pure.

The options and their checks are :mod:`..settings.container_options`'s.
"""

from __future__ import annotations

import re
from typing import Any

from ..settings.container_options import (
    CPU_ARCHITECTURE,
    LOG_STREAM_PREFIX,
    MIN_FARGATE_VERSION,
    PRIVILEGED,
    SHARED_MEMORY_MB,
    ULIMITS,
    VOLUMES,
    ContainerOptions,
    Volume,
)
from .platform import Platform

# The platform ---------------------------------------------------------------------

ARM64_FAMILY = re.compile(r"(?:a1|[a-z]+\d+g[a-z]*)(?:\..*)?|default_arm64")


def architecture_of(instance_type: str) -> str:
    """The CPU architecture of an EC2 instance type or family as a compute environment
    names it (``m7g.large``, ``c7g``, ``optimal``, ``default_arm64``)."""
    return "ARM64" if ARM64_FAMILY.fullmatch(instance_type.strip().lower()) else "X86_64"


def platform_problem(
    options: ContainerOptions, platform: Platform, architectures: frozenset[str] | None
) -> tuple[str, str] | None:
    """The first option the platform cannot run, and why; None when all can run.

    ``architectures`` are those the queue's EC2 compute environments offer, or None
    when their instance types are not known.
    """
    if platform is Platform.FARGATE:
        refused = [
            (SHARED_MEMORY_MB, options.shared_memory_mb is not None, "a shared memory size"),
            (VOLUMES, any(v.host_path for v in options.volumes), "host volumes"),
            (ULIMITS, bool(options.ulimits), "ulimits"),
            (PRIVILEGED, options.privileged, "privileged containers"),
        ]
        for name, used, what in refused:
            if used:
                return name, f"Fargate does not support {what}; they need an EC2 queue."
        recent = _version_at_least(options.fargate_platform_version, MIN_FARGATE_VERSION)
        for name, used, what in (
            (VOLUMES, any(v.efs for v in options.volumes), "EFS volumes on Fargate need"),
            (CPU_ARCHITECTURE, options.cpu_architecture == "ARM64", "ARM64 on Fargate needs"),
        ):
            if used and not recent:
                return (
                    name,
                    f"{what} platform version 1.4.0 or later "
                    f"(--aws-batch-fargate-platform-version is {options.fargate_platform_version}).",
                )
        return None
    wanted = options.cpu_architecture
    if wanted is not None and architectures is not None and wanted not in architectures:
        return (
            CPU_ARCHITECTURE,
            f"No compute environment of the queue runs {wanted} instances (their instance "
            f"types are {' and '.join(sorted(architectures))}).",
        )
    return None


def _version_at_least(version: str, least: tuple[int, ...]) -> bool:
    if version == "LATEST":
        return True
    return tuple(int(part) for part in version.split(".")) >= least


# The job definition ------------------------------------------------------------------


def definition_fields(options: ContainerOptions, platform: Platform) -> dict[str, Any]:
    """The ``containerProperties`` fields of ``options``; empty for the defaults."""
    fields: dict[str, Any] = {}
    if options.shared_memory_mb is not None:
        fields["linuxParameters"] = {"sharedMemorySize": options.shared_memory_mb}
    if options.volumes:
        fields["volumes"] = [_volume_field(volume) for volume in options.volumes]
        fields["mountPoints"] = [
            {
                "sourceVolume": volume.name,
                "containerPath": volume.container_path,
                "readOnly": volume.read_only,
            }
            for volume in options.volumes
        ]
    if options.ulimits:
        fields["ulimits"] = [
            {"name": u.name, "softLimit": u.soft, "hardLimit": u.hard} for u in options.ulimits
        ]
    if options.privileged:
        fields["privileged"] = True
    if options.log_group is not None:
        fields["logConfiguration"] = {
            "logDriver": "awslogs",
            "options": {
                "awslogs-group": options.log_group,
                "awslogs-stream-prefix": LOG_STREAM_PREFIX,
            },
        }
    if platform is Platform.FARGATE:
        fields["fargatePlatformConfiguration"] = {
            "platformVersion": options.fargate_platform_version
        }
        if options.cpu_architecture is not None:
            fields["runtimePlatform"] = {
                "operatingSystemFamily": "LINUX",
                "cpuArchitecture": options.cpu_architecture,
            }
    return fields


def _volume_field(volume: Volume) -> dict[str, Any]:
    if volume.efs is None:
        return {"name": volume.name, "host": {"sourcePath": volume.host_path}}
    efs = volume.efs
    configuration: dict[str, Any] = {
        "fileSystemId": efs.file_system_id,
        "transitEncryption": "ENABLED" if efs.transit_encryption else "DISABLED",
    }
    if efs.root_directory is not None:
        configuration["rootDirectory"] = efs.root_directory
    if efs.transit_encryption_port is not None:
        configuration["transitEncryptionPort"] = efs.transit_encryption_port
    if efs.access_point_id is not None or efs.iam:
        authorization: dict[str, Any] = {"iam": "ENABLED" if efs.iam else "DISABLED"}
        if efs.access_point_id is not None:
            authorization["accessPointId"] = efs.access_point_id
        configuration["authorizationConfig"] = authorization
    return {"name": volume.name, "efsVolumeConfiguration": configuration}
