"""Fitting resource requests to EC2 and Fargate rules."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st
from snakemake_interface_common.exceptions import WorkflowError

from snakemake_executor_plugin_aws_batch.platform import (
    FARGATE_MEMORY,
    Platform,
    Request,
    Resources,
    ephemeral_storage_gib,
    fit,
)


def request(vcpu, memory, gpu=0, *, vcpu_explicit=True, memory_explicit=True) -> Request:
    return Request(Fraction(vcpu), memory, gpu, vcpu_explicit, memory_explicit)


def test_ec2_request_passes_unchanged():
    fitted = fit(Platform.EC2, request(4, 8192, 1), "r")
    assert fitted.resources == Resources(Fraction(4), 8192, 1)
    assert fitted.notes == ()
    assert fitted.warnings == ()
    assert fitted.resources.requirements() == [
        {"type": "VCPU", "value": "4"},
        {"type": "MEMORY", "value": "8192"},
        {"type": "GPU", "value": "1"},
    ]


def test_ec2_explicit_small_memory_is_error():
    with pytest.raises(WorkflowError) as info:
        fit(Platform.EC2, request(1, 512), "r")
    message = str(info.value)
    assert "rule 'r', resource aws_batch_mem_mb" in message
    assert "512" in message
    assert "1024" in message


def test_ec2_derived_small_memory_is_raised_with_note():
    fitted = fit(Platform.EC2, request(1, 1000, memory_explicit=False), "r")
    assert fitted.resources.memory_mib == 1024
    assert len(fitted.notes) == 1
    assert "1000" in fitted.notes[0]
    assert "1024" in fitted.notes[0]
    assert fitted.warnings == ()


@pytest.mark.parametrize("explicit", [True, False])
def test_ec2_fractional_vcpu_is_error(explicit):
    name = "aws_batch_vcpu" if explicit else "threads"
    with pytest.raises(WorkflowError, match=f"resource {name}.*0.5.*whole number"):
        fit(Platform.EC2, request(Fraction(1, 2), 2048, vcpu_explicit=explicit), "r")


def test_fargate_memory_rounded_up_with_warning():
    fitted = fit(Platform.FARGATE, request(1, 3000), "r")
    assert fitted.resources == Resources(Fraction(1), 3072, 0)
    assert len(fitted.warnings) == 1
    assert "3000" in fitted.warnings[0]
    assert "3072" in fitted.warnings[0]


def test_fargate_exact_size_has_no_warning():
    fitted = fit(Platform.FARGATE, request(Fraction(1, 4), 512), "r")
    assert fitted.resources == Resources(Fraction(1, 4), 512, 0)
    assert fitted.warnings == ()
    assert fitted.resources.requirements()[0] == {"type": "VCPU", "value": "0.25"}


def test_fargate_explicit_odd_vcpu_is_error():
    with pytest.raises(WorkflowError) as info:
        fit(Platform.FARGATE, request(3, 8192), "r")
    message = str(info.value)
    assert "resource aws_batch_vcpu" in message
    assert "'3'" in message
    assert "0.25, 0.5, 1, 2, 4, 8, 16" in message


def test_fargate_thread_derived_vcpu_rounded_up_with_warning():
    fitted = fit(Platform.FARGATE, request(3, 8192, vcpu_explicit=False), "r")
    assert fitted.resources == Resources(Fraction(4), 8192, 0)
    assert len(fitted.warnings) == 1
    assert "requesting 4 vCPU" in fitted.warnings[0]


def test_fargate_thread_derived_beyond_largest_is_error():
    with pytest.raises(WorkflowError, match="resource threads"):
        fit(Platform.FARGATE, request(32, 65536, vcpu_explicit=False), "r")


def test_fargate_memory_too_large_for_vcpu_is_error():
    with pytest.raises(WorkflowError) as info:
        fit(Platform.FARGATE, request(2, 20000), "r")
    message = str(info.value)
    assert "resource aws_batch_mem_mb" in message
    assert "20000" in message
    assert "4096 to 16384" in message


def test_fargate_gpu_is_error():
    with pytest.raises(WorkflowError, match="Fargate does not offer GPUs"):
        fit(Platform.FARGATE, request(4, 8192, 1), "r")


@given(
    vcpu=st.fractions(min_value=Fraction(1, 8), max_value=20, max_denominator=8),
    memory=st.integers(min_value=1, max_value=200_000),
    vcpu_explicit=st.booleans(),
    memory_explicit=st.booleans(),
)
def test_fargate_fit_is_an_allowed_pair_or_error(vcpu, memory, vcpu_explicit, memory_explicit):
    req = Request(vcpu, memory, 0, vcpu_explicit, memory_explicit)
    try:
        fitted = fit(Platform.FARGATE, req, "r")
    except WorkflowError:
        return
    resources = fitted.resources
    assert resources.vcpu in FARGATE_MEMORY
    assert resources.memory_mib in FARGATE_MEMORY[resources.vcpu]
    assert resources.memory_mib >= memory
    assert resources.vcpu >= vcpu
    if vcpu_explicit:
        assert resources.vcpu == vcpu


@pytest.mark.parametrize(
    ("disk_mb", "explicit", "expected"),
    [
        (None, True, None),
        (10000, True, None),
        (20480, True, None),
        (21000, True, 21),
        (51200, True, 50),
        (51201, True, 51),
        (300 * 1024, False, 200),
    ],
)
def test_ephemeral_storage(disk_mb, explicit, expected):
    assert ephemeral_storage_gib(disk_mb, "r", explicit=explicit) == expected


def test_ephemeral_storage_explicit_too_large_is_error():
    with pytest.raises(WorkflowError) as info:
        ephemeral_storage_gib(300 * 1024, "r", explicit=True)
    message = str(info.value)
    assert "rule 'r', resource disk_mb" in message
    assert "307200" in message
    assert "200 GiB" in message
