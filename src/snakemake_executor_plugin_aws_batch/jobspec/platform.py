"""The compute platforms of AWS Batch and what each accepts for vCPU, memory and GPU."""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from fractions import Fraction

from ..settings.validation import Origin, invalid

EC2_MIN_MEMORY_MIB = 1024
FARGATE_MIN_EPHEMERAL_GIB = 21
FARGATE_MAX_EPHEMERAL_GIB = 200
FARGATE_DEFAULT_EPHEMERAL_GIB = 20


class Platform(enum.Enum):
    EC2 = "EC2"
    FARGATE = "FARGATE"


def _steps(low: int, high: int, step: int) -> tuple[int, ...]:
    return tuple(range(low, high + 1, step))


# Allowed memory (MiB) for each Fargate vCPU value.
FARGATE_MEMORY: dict[Fraction, tuple[int, ...]] = {
    Fraction(1, 4): (512, 1024, 2048),
    Fraction(1, 2): _steps(1024, 4096, 1024),
    Fraction(1): _steps(2048, 8192, 1024),
    Fraction(2): _steps(4096, 16384, 1024),
    Fraction(4): _steps(8192, 30720, 1024),
    Fraction(8): _steps(16384, 61440, 4096),
    Fraction(16): _steps(32768, 122880, 8192),
}


def format_vcpu(vcpu: Fraction) -> str:
    """vCPU as AWS writes it in resourceRequirements: ``"0.25"``, ``"2"``."""
    if vcpu.denominator == 1:
        return str(vcpu.numerator)
    return str(float(vcpu))


@dataclass(frozen=True, slots=True)
class Resources:
    """vCPU, memory and GPU of one job, as they will be requested."""

    vcpu: Fraction
    memory_mib: int
    gpu: int

    def describe(self) -> str:
        """For messages: ``"4 vCPU, 8192 MiB"``, and the GPUs when there are any."""
        text = f"{format_vcpu(self.vcpu)} vCPU, {self.memory_mib} MiB"
        return f"{text}, {self.gpu} GPU" if self.gpu else text

    def requirements(self) -> list[dict[str, str]]:
        """``containerOverrides.resourceRequirements``."""
        items = [
            {"type": "VCPU", "value": format_vcpu(self.vcpu)},
            {"type": "MEMORY", "value": str(self.memory_mib)},
        ]
        if self.gpu:
            items.append({"type": "GPU", "value": str(self.gpu)})
        return items


@dataclass(frozen=True, slots=True)
class Request:
    """A job's resource request before the platform's rules are applied.

    The ``*_explicit`` flags say whether the value came from an
    ``aws_batch_*`` resource (checked strictly) or from Snakemake's standard
    resources and defaults (adjusted where a platform needs it).
    """

    vcpu: Fraction
    memory_mib: int
    gpu: int
    vcpu_explicit: bool
    memory_explicit: bool
    gpu_explicit: bool = False


@dataclass(frozen=True, slots=True)
class Fitted:
    resources: Resources
    notes: tuple[str, ...] = ()  # debug notes
    warnings: tuple[str, ...] = ()


def fit(platform: Platform, request: Request, rule: str) -> Fitted:
    """Apply the platform's rules to a request: adjust where allowed, else raise."""
    if platform is Platform.FARGATE:
        return _fit_fargate(request, rule)
    return _fit_ec2(request, rule)


def _fit_ec2(request: Request, rule: str) -> Fitted:
    vcpu_origin = Origin("aws_batch_vcpu" if request.vcpu_explicit else "threads", rule)
    if request.vcpu < 1 or request.vcpu.denominator != 1:
        raise invalid(
            vcpu_origin,
            float(request.vcpu),
            "EC2 compute environments need a whole number of vCPUs, at least 1.",
        )
    notes: list[str] = []
    memory = request.memory_mib
    if memory < EC2_MIN_MEMORY_MIB:
        if request.memory_explicit:
            raise invalid(
                Origin("aws_batch_mem_mb", rule),
                memory,
                f"EC2 jobs need at least {EC2_MIN_MEMORY_MIB} MiB of memory.",
            )
        notes.append(
            f"rule {rule!r}: memory raised from {memory} to {EC2_MIN_MEMORY_MIB} MiB, the minimum for EC2 jobs."
        )
        memory = EC2_MIN_MEMORY_MIB
    return Fitted(Resources(request.vcpu, memory, request.gpu), tuple(notes))


def _fit_fargate(request: Request, rule: str) -> Fitted:
    warnings: list[str] = []
    if request.gpu:
        raise invalid(
            Origin("aws_batch_gpu" if request.gpu_explicit else "gpu", rule),
            request.gpu,
            "Fargate does not offer GPUs; use a queue with an EC2 compute environment "
            "(aws_batch_job_queue) or request 0 GPUs.",
        )
    vcpu = request.vcpu
    allowed_vcpus = ", ".join(format_vcpu(v) for v in FARGATE_MEMORY)
    if vcpu not in FARGATE_MEMORY:
        larger = [v for v in FARGATE_MEMORY if v > vcpu]
        if request.vcpu_explicit or not larger:
            raise invalid(
                Origin("aws_batch_vcpu" if request.vcpu_explicit else "threads", rule),
                format_vcpu(vcpu),
                f"Fargate allows these vCPU values: {allowed_vcpus}.",
            )
        warnings.append(
            f"rule {rule!r}: {format_vcpu(vcpu)} threads is not a Fargate vCPU size; "
            f"requesting {format_vcpu(larger[0])} vCPU. Set aws_batch_vcpu to choose."
        )
        vcpu = larger[0]
    choices = FARGATE_MEMORY[vcpu]
    memory = next((m for m in choices if m >= request.memory_mib), None)
    if memory is None:
        raise invalid(
            Origin("aws_batch_mem_mb" if request.memory_explicit else "mem_mb", rule),
            request.memory_mib,
            f"With {format_vcpu(vcpu)} vCPU, Fargate allows {choices[0]} to {choices[-1]} MiB; "
            "ask for more vCPUs (aws_batch_vcpu) or less memory.",
        )
    if memory != request.memory_mib:
        warnings.append(
            f"rule {rule!r}: Fargate has no {request.memory_mib} MiB size with {format_vcpu(vcpu)} vCPU; "
            f"requesting {memory} MiB instead."
        )
    return Fitted(Resources(vcpu, memory, 0), (), tuple(warnings))


def ephemeral_storage_gib(disk_mb: int | None, rule: str, *, explicit: bool) -> int | None:
    """Fargate ephemeral storage for ``disk_mb``: None keeps Fargate's default 20 GiB."""
    if disk_mb is None:
        return None
    gib = math.ceil(disk_mb / 1024)
    if gib <= FARGATE_DEFAULT_EPHEMERAL_GIB:
        return None
    if gib > FARGATE_MAX_EPHEMERAL_GIB:
        if not explicit:
            return FARGATE_MAX_EPHEMERAL_GIB
        raise invalid(
            Origin("disk_mb", rule),
            disk_mb,
            f"Fargate jobs can have at most {FARGATE_MAX_EPHEMERAL_GIB} GiB "
            f"({FARGATE_MAX_EPHEMERAL_GIB * 1024} MiB) of ephemeral storage.",
        )
    return max(gib, FARGATE_MIN_EPHEMERAL_GIB)
