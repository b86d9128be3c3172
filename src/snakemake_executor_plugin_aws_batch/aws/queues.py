"""What a job queue's description says about where its jobs can run. Pure functions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..jobspec.container import architecture_of
from ..jobspec.platform import Platform

FARGATE_TYPES = frozenset({"FARGATE", "FARGATE_SPOT"})


@dataclass(frozen=True, slots=True)
class QueueFacts:
    name: str
    platform: Platform
    usable: bool  # ENABLED and VALID
    max_vcpus: int | None  # the largest managed compute environment; None if unknown
    unusable_environments: tuple[str, ...] = ()
    # The CPU architectures of its EC2 instance types; None when some are not known
    # (unmanaged compute environments) or the queue is Fargate.
    architectures: frozenset[str] | None = None

    def likely_causes(self, vcpu: float) -> list[str]:
        """Why a job asking for ``vcpu`` may stay RUNNABLE on this queue."""
        causes = []
        if not self.usable:
            causes.append(f"the queue {self.name} is disabled or invalid")
        if self.unusable_environments:
            causes.append(
                "compute environment(s) disabled or invalid: "
                + ", ".join(self.unusable_environments)
            )
        if self.max_vcpus is not None and vcpu > self.max_vcpus:
            causes.append(
                f"the job asks for {vcpu:g} vCPU but the queue's compute environments allow at "
                f"most {self.max_vcpus} (maxvCpus)"
            )
        return causes


def queue_facts(
    name: str, queue: Mapping[str, Any], environments: Sequence[Mapping[str, Any]]
) -> QueueFacts:
    kinds = {(env.get("computeResources") or {}).get("type", "EC2") for env in environments}
    limits = [
        int(resources["maxvCpus"])
        for env in environments
        if (resources := env.get("computeResources") or {}).get("maxvCpus") is not None
    ]
    unusable = tuple(
        str(env.get("computeEnvironmentName"))
        for env in environments
        if env.get("state") == "DISABLED" or env.get("status") == "INVALID"
    )
    types = [
        (env.get("computeResources") or {}).get("instanceTypes") or None for env in environments
    ]
    known = bool(environments) and all(types)
    return QueueFacts(
        name=name,
        platform=Platform.FARGATE if kinds and kinds <= FARGATE_TYPES else Platform.EC2,
        usable=queue.get("state") == "ENABLED" and queue.get("status") != "INVALID",
        max_vcpus=max(limits) if limits and len(limits) == len(environments) else None,
        unusable_environments=unusable,
        architectures=(
            frozenset(architecture_of(t) for listed in types for t in listed or ())
            if known
            else None
        ),
    )
