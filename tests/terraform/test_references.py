"""References between blocks resolve, as `terraform validate` would check them.

Terraform itself is not needed: the .tf text is scanned for references to variables,
locals, data sources and resources, and each is matched against what the files declare.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.terraform.config import load, tf_files

_COMMENT = re.compile(r"^\s*#.*$", re.MULTILINE)
_VARIABLE = re.compile(r"(?<![\w.])var\.(\w+)")
_LOCAL = re.compile(r"(?<![\w.])local\.(\w+)")
_NAME = re.compile(r"(?<![\w.])local\.names\.(\w+)")
_DATA = re.compile(r"(?<![\w.])data\.(\w+)\.(\w+)(.?)")
_RESOURCE = re.compile(r"(?<![\w.])(aws_[a-z0-9_]+)\.([a-z0-9_]+)(.?)")


def source() -> str:
    """Every .tf file without its comment lines."""
    return "\n".join(_COMMENT.sub("", path.read_text()) for path in tf_files())


def references(pattern: re.Pattern[str]) -> Iterator[tuple[str, ...]]:
    for match in pattern.finditer(source()):
        yield match.groups()


def is_repeated(body: dict[str, object]) -> bool:
    return "count" in body or "for_each" in body


def test_every_variable_used_is_declared_and_every_declared_one_is_used() -> None:
    declared = set(load().variables)
    used = {name for (name,) in references(_VARIABLE)}
    assert used - declared == set(), f"undeclared variables {used - declared}"
    assert declared - used == set(), f"variables nothing uses {declared - used}"


def test_every_local_used_is_defined() -> None:
    defined = set(load().locals)
    used = {name for (name,) in references(_LOCAL)}
    assert used - defined == set(), f"undefined locals {used - defined}"


def test_every_name_used_is_in_the_names_map() -> None:
    names = load().locals["names"]
    assert isinstance(names, dict)
    used = {name for (name,) in references(_NAME)}
    assert used, "no local.names.* reference found"
    assert used - set(names) == set(), f"local.names lacks {used - set(names)}"


def test_every_data_source_used_is_declared() -> None:
    data = load().data
    found = list(references(_DATA))
    assert found
    for kind, name, _ in found:
        assert name in data.get(kind, {}), f"data.{kind}.{name} is not declared"


def test_every_resource_used_is_declared() -> None:
    resources = load().resources
    found = list(references(_RESOURCE))
    assert len(found) > 50
    for kind, name, _ in found:
        assert name in resources.get(kind, {}), f"{kind}.{name} is not declared"


@pytest.mark.parametrize("pattern", [_RESOURCE, _DATA], ids=["resource", "data"])
def test_repeated_blocks_are_indexed_and_single_ones_are_not(pattern: re.Pattern[str]) -> None:
    config = load()
    blocks = config.resources if pattern is _RESOURCE else config.data
    for kind, name, following in references(pattern):
        body = blocks[kind][name]
        if is_repeated(body):
            # aws_x.y[0].arn, aws_x.y[*].id, aws_x.y[count.index]; depends_on may name it bare.
            assert following in ("[", ",", "\n", "]"), f"{kind}.{name} has count: index it"
        else:
            assert following != "[", f"{kind}.{name} has no count or for_each: do not index it"


def test_allocation_strategy_matches_the_purchase_option() -> None:
    lifecycle = load().resource("aws_batch_compute_environment", "ec2")["lifecycle"][0]
    conditions = [check["condition"] for check in lifecycle["precondition"]]
    assert '${var.use_spot || !startswith(local.allocation_strategy, "SPOT_")}' in conditions
    assert "${var.min_vcpus <= var.max_vcpus}" in conditions


def test_efs_throughput_options_are_checked_together() -> None:
    lifecycle = load().resource("aws_efs_file_system", "main")["lifecycle"][0]
    conditions = [check["condition"] for check in lifecycle["precondition"]]
    assert (
        '${var.efs_throughput_mode != "provisioned" || var.efs_provisioned_throughput_mibps != null}'
        in conditions
    )
    assert (
        '${var.efs_throughput_mode != "elastic" || var.efs_performance_mode == "generalPurpose"}'
        in conditions
    )
    throughput = load().resource("aws_efs_file_system", "main")["provisioned_throughput_in_mibps"]
    assert "var.efs_provisioned_throughput_mibps" in throughput


def test_security_groups_do_not_refer_to_each_other_inline() -> None:
    """Inline rules that refer both ways would be a dependency cycle: the EFS group's
    ingress is a rule of its own, the jobs' group refers to the EFS group inline."""
    groups = load().resources["aws_security_group"]
    refers = {
        name: set(re.findall(r"aws_security_group\.(\w+)", str(body))) - {name}
        for name, body in groups.items()
    }
    assert refers["jobs"] == {"efs"}
    for name, others in refers.items():
        for other in others:
            assert name not in refers.get(other, set()), f"{name} and {other} refer to each other"
