"""Fitting resource requests to what EC2 and Fargate accept."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st
from snakemake_interface_common.exceptions import WorkflowError

from snakemake_executor_plugin_aws_batch.jobspec.platform import (
    FARGATE_MEMORY,
    Platform,
    Request,
    Resources,
    ephemeral_storage_gib,
    fit,
    format_vcpu,
)

# The Fargate table of the AWS Batch documentation, written out in full.
FARGATE_TABLE = {
    "0.25": [512, 1024, 2048],
    "0.5": [1024, 2048, 3072, 4096],
    "1": [m * 1024 for m in range(2, 9)],
    "2": [m * 1024 for m in range(4, 17)],
    "4": [m * 1024 for m in range(8, 31)],
    "8": [m * 1024 for m in range(16, 61, 4)],
    "16": [m * 1024 for m in range(32, 121, 8)],
}


def request(vcpu, memory, gpu=0, *, vcpu_explicit=True, memory_explicit=True) -> Request:
    return Request(Fraction(vcpu), memory, gpu, vcpu_explicit, memory_explicit)


def fit_error(platform, req, rule="r") -> str:
    with pytest.raises(WorkflowError) as info:
        fit(platform, req, rule)
    return str(info.value)


def test_fargate_memory_table_matches_aws():
    assert {format_vcpu(v): list(m) for v, m in FARGATE_MEMORY.items()} == FARGATE_TABLE
    assert FARGATE_MEMORY[Fraction(16)][-1] == 122880
    assert FARGATE_MEMORY[Fraction(8)][:2] == (16384, 20480)


@pytest.mark.parametrize(
    ("vcpu", "text"),
    [(Fraction(1, 4), "0.25"), (Fraction(1, 2), "0.5"), (Fraction(1), "1"), (Fraction(16), "16")],
)
def test_format_vcpu(vcpu, text):
    assert format_vcpu(vcpu) == text


# EC2 ------------------------------------------------------------------------------


def test_user_guide_compute_intensive_on_ec2():
    fitted = fit(Platform.EC2, request(4, 8192, 1), "compute_intensive")
    assert fitted.resources == Resources(Fraction(4), 8192, 1)
    assert fitted.notes == ()
    assert fitted.warnings == ()
    assert fitted.resources.requirements() == [
        {"type": "VCPU", "value": "4"},
        {"type": "MEMORY", "value": "8192"},
        {"type": "GPU", "value": "1"},
    ]


def test_requirements_leave_out_gpu_when_none():
    assert Resources(Fraction(2), 2048, 0).requirements() == [
        {"type": "VCPU", "value": "2"},
        {"type": "MEMORY", "value": "2048"},
    ]


@pytest.mark.parametrize(("vcpu", "memory"), [(1, 1024), (96, 768 * 1024), (3, 1025), (7, 5000)])
def test_ec2_accepts_any_whole_vcpu_and_memory_from_1024(vcpu, memory):
    fitted = fit(Platform.EC2, request(vcpu, memory), "r")
    assert fitted.resources == Resources(Fraction(vcpu), memory, 0)
    assert fitted.notes == ()
    assert fitted.warnings == ()


@pytest.mark.parametrize("memory", [1, 512, 1023])
def test_ec2_explicit_memory_below_1024_is_an_error(memory):
    message = fit_error(Platform.EC2, request(1, memory), "small")
    assert "rule 'small', resource aws_batch_mem_mb" in message
    assert f": {memory}." in message
    assert "at least 1024 MiB" in message


@pytest.mark.parametrize("memory", [1, 1000, 1023])
def test_ec2_default_memory_below_1024_is_raised_with_a_debug_note(memory):
    fitted = fit(Platform.EC2, request(2, memory, memory_explicit=False), "small")
    assert fitted.resources == Resources(Fraction(2), 1024, 0)
    assert fitted.warnings == ()
    assert len(fitted.notes) == 1
    note = fitted.notes[0]
    assert "'small'" in note
    assert f"from {memory} to 1024" in note


@pytest.mark.parametrize(
    ("vcpu", "explicit", "resource", "shown"),
    [
        (Fraction(1, 2), True, "aws_batch_vcpu", "0.5"),
        (Fraction(1, 4), False, "threads", "0.25"),
        (Fraction(3, 2), True, "aws_batch_vcpu", "1.5"),
        (Fraction(0), False, "threads", "0.0"),
    ],
)
def test_ec2_needs_a_whole_vcpu_of_at_least_1(vcpu, explicit, resource, shown):
    message = fit_error(Platform.EC2, request(vcpu, 2048, vcpu_explicit=explicit))
    assert f"rule 'r', resource {resource}: {shown}." in message
    assert "whole number of vCPUs, at least 1" in message


@given(
    vcpu=st.integers(1, 256),
    memory=st.integers(1, 2_000_000),
    gpu=st.integers(0, 16),
)
def test_ec2_default_memory_is_never_below_1024(vcpu, memory, gpu):
    fitted = fit(Platform.EC2, request(vcpu, memory, gpu, memory_explicit=False), "r")
    assert fitted.resources == Resources(Fraction(vcpu), max(memory, 1024), gpu)
    assert len(fitted.notes) == (1 if memory < 1024 else 0)


# Fargate ----------------------------------------------------------------------------


def test_fargate_every_allowed_pair_passes_unchanged():
    for vcpu, memories in FARGATE_MEMORY.items():
        for memory in memories:
            fitted = fit(Platform.FARGATE, Request(vcpu, memory, 0, True, True), "r")
            assert fitted.resources == Resources(vcpu, memory, 0)
            assert fitted.warnings == ()
            assert fitted.notes == ()


def test_fargate_quarter_vcpu_requirement_is_written_as_aws_does():
    fitted = fit(Platform.FARGATE, request(Fraction(1, 4), 512), "r")
    assert fitted.resources.requirements() == [
        {"type": "VCPU", "value": "0.25"},
        {"type": "MEMORY", "value": "512"},
    ]


@pytest.mark.parametrize(
    ("vcpu", "memory", "expected"),
    [
        (Fraction(1, 4), 1, 512),
        (Fraction(1, 4), 600, 1024),
        (Fraction(1, 4), 1025, 2048),
        (Fraction(1, 2), 1000, 1024),
        (1, 1024, 2048),
        (1, 3000, 3072),
        (4, 1024, 8192),
        (8, 16385, 20480),
        (16, 32769, 40960),
    ],
)
@pytest.mark.parametrize("explicit", [True, False])
def test_fargate_memory_raised_to_smallest_valid_size_with_warning(
    vcpu, memory, expected, explicit
):
    fitted = fit(Platform.FARGATE, request(vcpu, memory, memory_explicit=explicit), "fg")
    assert fitted.resources == Resources(Fraction(vcpu), expected, 0)
    assert len(fitted.warnings) == 1
    warning = fitted.warnings[0]
    assert "'fg'" in warning
    assert f"no {memory} MiB size" in warning
    assert f"requesting {expected} MiB" in warning


@pytest.mark.parametrize(
    ("vcpu", "memory", "explicit", "resource", "allowed"),
    [
        (Fraction(1, 4), 2049, True, "aws_batch_mem_mb", "512 to 2048"),
        (1, 8193, True, "aws_batch_mem_mb", "2048 to 8192"),
        (2, 20000, False, "mem_mb", "4096 to 16384"),
        (16, 122881, True, "aws_batch_mem_mb", "32768 to 122880"),
    ],
)
def test_fargate_memory_too_large_for_the_vcpu_is_an_error(
    vcpu, memory, explicit, resource, allowed
):
    message = fit_error(Platform.FARGATE, request(vcpu, memory, memory_explicit=explicit))
    assert f"rule 'r', resource {resource}: {memory}." in message
    assert f"Fargate allows {allowed} MiB" in message
    assert "more vCPUs" in message


@pytest.mark.parametrize("vcpu", [3, 5, Fraction(3, 4), 32, Fraction(1, 8)])
def test_fargate_explicit_vcpu_must_be_an_allowed_value(vcpu):
    message = fit_error(Platform.FARGATE, request(vcpu, 8192))
    assert f"rule 'r', resource aws_batch_vcpu: '{format_vcpu(Fraction(vcpu))}'." in message
    assert "Fargate allows these vCPU values: 0.25, 0.5, 1, 2, 4, 8, 16." in message


@pytest.mark.parametrize(
    ("threads", "rounded", "memory"),
    [(3, 4, 8192), (5, 8, 16384), (6, 8, 16384), (9, 16, 32768), (12, 16, 40960)],
)
def test_fargate_thread_derived_vcpu_is_rounded_up_with_a_warning(threads, rounded, memory):
    fitted = fit(Platform.FARGATE, request(threads, memory, vcpu_explicit=False), "t")
    assert fitted.resources == Resources(Fraction(rounded), memory, 0)
    assert len(fitted.warnings) == 1
    assert f"{threads} threads is not a Fargate vCPU size" in fitted.warnings[0]
    assert f"requesting {rounded} vCPU" in fitted.warnings[0]
    assert "aws_batch_vcpu" in fitted.warnings[0]


def test_fargate_rounded_vcpu_and_raised_memory_give_two_warnings():
    fitted = fit(
        Platform.FARGATE, request(3, 1000, vcpu_explicit=False, memory_explicit=False), "t"
    )
    assert fitted.resources == Resources(Fraction(4), 8192, 0)
    assert len(fitted.warnings) == 2


def test_fargate_thread_derived_vcpu_beyond_16_is_an_error():
    message = fit_error(Platform.FARGATE, request(17, 65536, vcpu_explicit=False))
    assert "rule 'r', resource threads: '17'." in message
    assert "0.25, 0.5, 1, 2, 4, 8, 16" in message


@pytest.mark.parametrize("explicit", [True, False])
def test_fargate_refuses_gpus(explicit):
    message = fit_error(Platform.FARGATE, request(4, 8192, 1, vcpu_explicit=explicit))
    assert "rule 'r', resource" in message
    assert ": 1." in message
    assert "Fargate does not offer GPUs" in message
    assert "aws_batch_job_queue" in message


@given(
    vcpu=st.fractions(min_value=Fraction(1, 8), max_value=24, max_denominator=8),
    memory=st.integers(min_value=1, max_value=200_000),
    vcpu_explicit=st.booleans(),
    memory_explicit=st.booleans(),
)
def test_fargate_fit_is_always_an_allowed_pair_or_an_error(
    vcpu, memory, vcpu_explicit, memory_explicit
):
    req = Request(vcpu, memory, 0, vcpu_explicit, memory_explicit)
    # The vCPU size AWS will be asked for: exactly an explicit one, else the next size up.
    if vcpu_explicit:
        target = vcpu if vcpu in FARGATE_MEMORY else None
    else:
        target = min((size for size in FARGATE_MEMORY if size >= vcpu), default=None)
    if target is None or FARGATE_MEMORY[target][-1] < memory:
        with pytest.raises(WorkflowError, match="rule 'r', resource "):
            fit(Platform.FARGATE, req, "r")
        return
    fitted = fit(Platform.FARGATE, req, "r")
    resources = fitted.resources
    assert resources.vcpu in FARGATE_MEMORY
    assert resources.memory_mib in FARGATE_MEMORY[resources.vcpu]
    assert resources.memory_mib >= memory
    assert resources.gpu == 0
    assert resources.vcpu == target
    # The smallest allowed memory: the next smaller size would not be enough.
    smaller = [m for m in FARGATE_MEMORY[resources.vcpu] if m < resources.memory_mib]
    assert not smaller or smaller[-1] < memory


# Ephemeral storage -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("disk_mb", "explicit", "expected"),
    [
        (None, True, None),
        (1000, True, None),
        (20 * 1024, True, None),
        (20 * 1024 + 1, True, 21),
        (51200, True, 50),
        (51201, True, 51),
        (200 * 1024, True, 200),
        (200 * 1024 + 1, False, 200),
        (300 * 1024, False, 200),
    ],
)
def test_ephemeral_storage(disk_mb, explicit, expected):
    assert ephemeral_storage_gib(disk_mb, "r", explicit=explicit) == expected


def test_ephemeral_storage_explicit_too_large_is_an_error():
    with pytest.raises(WorkflowError) as info:
        ephemeral_storage_gib(200 * 1024 + 1, "big", explicit=True)
    message = str(info.value)
    assert "rule 'big', resource disk_mb: 204801." in message
    assert "at most 200 GiB (204800 MiB)" in message


@given(st.integers(min_value=0, max_value=10**7), st.booleans())
def test_ephemeral_storage_is_none_or_21_to_200_and_enough(disk_mb, explicit):
    try:
        gib = ephemeral_storage_gib(disk_mb, "r", explicit=explicit)
    except WorkflowError:
        assert explicit
        assert disk_mb > 200 * 1024
        return
    if gib is None:
        assert disk_mb <= 20 * 1024
    else:
        assert 21 <= gib <= 200
        assert gib * 1024 >= disk_mb or (not explicit and gib == 200)
