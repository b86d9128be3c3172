"""References between blocks resolve, as `terraform validate` would check them.

Terraform itself is not needed: the .tf text is scanned for references to variables,
locals, data sources, resources and module outputs, and each is matched against what the
files declare. The root module and every local module (terraform/modules/*) are checked
each on their own, as Terraform resolves references within one module only.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.terraform.config import TERRAFORM_DIR, Config, load, module_directories, tf_files

_COMMENT = re.compile(r"^\s*#.*$", re.MULTILINE)
# A moved block names addresses that are no longer declared (its `from`) or that live in
# another module (its `to`); test_modules.py checks them.
_MOVED = re.compile(r"^moved\s*\{.*?^\}", re.MULTILINE | re.DOTALL)
_VARIABLE = re.compile(r"(?<![\w.])var\.(\w+)")
_LOCAL = re.compile(r"(?<![\w.])local\.(\w+)")
_NAME = re.compile(r"(?<![\w.])local\.names\.(\w+)")
_DATA = re.compile(r"(?<![\w.])data\.(\w+)\.(\w+)(.?)")
_RESOURCE = re.compile(r"(?<![\w.])(aws_[a-z0-9_]+)\.([a-z0-9_]+)(.?)")
# module.NAME, module.NAME[0].OUTPUT, module.NAME[*].OUTPUT
_MODULE = re.compile(r"(?<![\w.])module\.(\w+)(\[[^\]]*\])?(?:\.(\w+))?")
# Arguments of a module block that are Terraform's, not the module's input variables.
_META_ARGUMENTS = {"source", "version", "count", "for_each", "depends_on", "providers"}

MODULES = module_directories()


def module_id(directory: Path) -> str:
    return "root" if directory == TERRAFORM_DIR else str(directory.relative_to(TERRAFORM_DIR))


def source(directory: Path = TERRAFORM_DIR) -> str:
    """Every .tf file of one module without its comment lines and moved blocks."""
    text = "\n".join(_COMMENT.sub("", path.read_text()) for path in tf_files(directory))
    return _MOVED.sub("", text)


def references(
    pattern: re.Pattern[str], directory: Path = TERRAFORM_DIR
) -> Iterator[tuple[str, ...]]:
    for match in pattern.finditer(source(directory)):
        yield match.groups()


def is_repeated(body: dict[str, object]) -> bool:
    return "count" in body or "for_each" in body


def test_the_local_modules_are_found() -> None:
    assert TERRAFORM_DIR / "modules" / "fargate_queue" in MODULES


def test_moved_blocks_are_left_out_of_the_scanned_text_only() -> None:
    text = "\n".join(path.read_text() for path in tf_files())
    assert len(_MOVED.findall(text)) == len(load().moved) > 0
    assert "moved {" not in source()
    assert 'module "fargate_queue" {' in source()


@pytest.mark.parametrize("directory", MODULES, ids=module_id)
def test_every_variable_used_is_declared_and_every_declared_one_is_used(directory: Path) -> None:
    declared = set(load(directory).variables)
    used = {name for (name,) in references(_VARIABLE, directory)}
    assert used - declared == set(), f"undeclared variables {used - declared}"
    assert declared - used == set(), f"variables nothing uses {declared - used}"


@pytest.mark.parametrize("directory", MODULES, ids=module_id)
def test_every_local_used_is_defined(directory: Path) -> None:
    defined = set(load(directory).locals)
    used = {name for (name,) in references(_LOCAL, directory)}
    assert used - defined == set(), f"undefined locals {used - defined}"


def test_every_name_used_is_in_the_names_map() -> None:
    names = load().locals["names"]
    assert isinstance(names, dict)
    used = {name for (name,) in references(_NAME)}
    assert used, "no local.names.* reference found"
    assert used - set(names) == set(), f"local.names lacks {used - set(names)}"


@pytest.mark.parametrize("directory", MODULES, ids=module_id)
def test_every_data_source_used_is_declared(directory: Path) -> None:
    data = load(directory).data
    for kind, name, _ in references(_DATA, directory):
        assert name in data.get(kind, {}), f"data.{kind}.{name} is not declared"


def test_the_root_module_uses_data_sources_and_resources() -> None:
    # Guards the scans below: a pattern that stopped matching would pass them all.
    assert list(references(_DATA))
    assert len(list(references(_RESOURCE))) > 50
    assert len(list(references(_RESOURCE, TERRAFORM_DIR / "modules" / "fargate_queue"))) >= 1


@pytest.mark.parametrize("directory", MODULES, ids=module_id)
def test_every_resource_used_is_declared(directory: Path) -> None:
    resources = load(directory).resources
    for kind, name, _ in references(_RESOURCE, directory):
        assert name in resources.get(kind, {}), f"{kind}.{name} is not declared"


@pytest.mark.parametrize("directory", MODULES, ids=module_id)
@pytest.mark.parametrize("pattern", [_RESOURCE, _DATA], ids=["resource", "data"])
def test_repeated_blocks_are_indexed_and_single_ones_are_not(
    pattern: re.Pattern[str], directory: Path
) -> None:
    config = load(directory)
    blocks = config.resources if pattern is _RESOURCE else config.data
    for kind, name, following in references(pattern, directory):
        body = blocks[kind][name]
        if is_repeated(body):
            # aws_x.y[0].arn, aws_x.y[*].id, aws_x.y[count.index]; depends_on may name it bare.
            assert following in ("[", ",", "\n", "]"), f"{kind}.{name} has count: index it"
        else:
            assert following != "[", f"{kind}.{name} has no count or for_each: do not index it"


@pytest.mark.parametrize("directory", MODULES, ids=module_id)
def test_every_module_output_used_is_declared_and_indexed_like_its_call(directory: Path) -> None:
    config = load(directory)
    for name, index, output in references(_MODULE, directory):
        call = config.module(name)
        if output is None:  # depends_on = [module.x]
            continue
        if is_repeated(call):
            assert index in ("[0]", "[*]"), f"module.{name} has count: index it"
        else:
            assert index is None, f"module.{name} has no count: do not index it"
        assert output in config.child(name).outputs, f"module.{name} has no output {output}"


def module_calls() -> Iterator[tuple[str, Config, dict[str, object]]]:
    for directory in MODULES:
        config = load(directory)
        for name, call in config.modules.items():
            yield name, config, call


def test_the_root_module_calls_modules() -> None:
    assert {name for name, _, _ in module_calls()} >= {"fargate_queue", "coordinator_queue"}


@pytest.mark.parametrize("name", [name for name, _, _ in module_calls()])
def test_every_module_call_sets_exactly_the_modules_variables(name: str) -> None:
    ((config, call),) = [(c, body) for n, c, body in module_calls() if n == name]
    variables = config.child(name).variables
    given = set(call) - _META_ARGUMENTS
    required = {v for v, body in variables.items() if "default" not in body}
    assert given - set(variables) == set(), (
        f"module.{name} sets undeclared {given - set(variables)}"
    )
    assert required - given == set(), f"module.{name} leaves out {required - given}"


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
