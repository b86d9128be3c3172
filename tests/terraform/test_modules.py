"""terraform/modules/fargate_queue: the one Fargate compute environment and job queue.

The optional Fargate queue (compute.tf) and the coordinator queue (coordinator.tf) are two
calls of this module; they differ only in name, capacity type and size. Both used to be
resources of the root module: moved blocks carry an existing state over to the module's
addresses, so `terraform apply` neither destroys nor recreates them.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.terraform.config import TERRAFORM_DIR, Config, all_resources, load, reference

MODULE_SOURCE = "./modules/fargate_queue"
MODULE_DIR = TERRAFORM_DIR / "modules" / "fargate_queue"

# What each call gives the module: everything the two old resource pairs set differently.
CALLS = {
    "fargate_queue": {
        "count": "${var.enable_fargate ? 1 : 0}",
        "compute_environment_name": "${local.names.fargate_compute_env}",
        "job_queue_name": "${local.names.fargate_job_queue}",
        "capacity_type": '${var.fargate_use_spot ? "FARGATE_SPOT" : "FARGATE"}',
        "max_vcpus": "${var.fargate_max_vcpus}",
        "job_queue_priority": "${var.fargate_job_queue_priority}",
    },
    "coordinator_queue": {
        "count": "${var.enable_coordinator ? 1 : 0}",
        "compute_environment_name": "${local.coordinator_names.compute_environment}",
        "job_queue_name": "${local.coordinator_names.job_queue}",
        # On-Demand only: Fargate Spot could reclaim a coordinator and end its run.
        "capacity_type": "FARGATE",
        "max_vcpus": "${var.coordinator_max_vcpus}",
        "job_queue_priority": 1,
    },
}
# What both calls give it, as the old resources did.
SHARED = {
    "source": MODULE_SOURCE,
    "subnet_ids": "${local.job_subnet_ids}",
    "security_group_id": "${aws_security_group.jobs.id}",
}
# The old resources' depends_on: the service-linked role and the routes outlive the
# compute environment, or its deletion hangs in DELETING.
DEPENDS_ON = [
    "${aws_iam_service_linked_role.batch}",
    "${aws_route_table_association.private}",
    "${aws_route.private_nat}",
    "${aws_route.public_internet}",
]

# The resources that moved: each was a root resource with count (so its one instance was
# [0]); it is now the resource without count in the module instance [0] of a call with
# that same count.
MOVED = {
    "aws_batch_compute_environment.fargate[0]": (
        "module.fargate_queue[0].aws_batch_compute_environment.this"
    ),
    "aws_batch_job_queue.fargate[0]": "module.fargate_queue[0].aws_batch_job_queue.this",
    "aws_batch_compute_environment.coordinator[0]": (
        "module.coordinator_queue[0].aws_batch_compute_environment.this"
    ),
    "aws_batch_job_queue.coordinator[0]": "module.coordinator_queue[0].aws_batch_job_queue.this",
}

_RESOURCE_ADDRESS = re.compile(
    r"(?:module\.(?P<module>\w+)(?P<module_index>\[\d+\])?\.)?"
    r"(?P<kind>aws_\w+)\.(?P<name>\w+)(?P<index>\[\d+\])?"
)


def module() -> Config:
    return load(MODULE_DIR)


def moved_blocks() -> dict[str, str]:
    """from -> to of every moved block of the root module, as written."""
    found: dict[str, str] = {}
    for block in load().moved:
        source, target = reference(block["from"]), reference(block["to"])
        assert source is not None, f"moved from {block['from']!r}: not an address"
        assert target is not None, f"moved to {block['to']!r}: not an address"
        assert source not in found, f"two moved blocks from {source}"
        found[source] = target
    return found


def parse_address(address: str) -> dict[str, Any]:
    match = _RESOURCE_ADDRESS.fullmatch(address)
    assert match, f"{address} is not a resource (instance) address"
    return match.groupdict()


# ---------------------------------------------------------------------------
# (a) Both Fargate queues come from the one module
# ---------------------------------------------------------------------------


def test_the_module_is_one_fargate_compute_environment_and_its_queue() -> None:
    config = module()
    assert set(config.resources) == {"aws_batch_compute_environment", "aws_batch_job_queue"}
    environment = config.resource("aws_batch_compute_environment", "this")
    queue = config.resource("aws_batch_job_queue", "this")
    assert set(config.resources["aws_batch_compute_environment"]) == {"this"}
    assert set(config.resources["aws_batch_job_queue"]) == {"this"}
    # No count inside: each call's count decides, and the moved addresses rely on it.
    for body in (environment, queue):
        assert "count" not in body
        assert "for_each" not in body
    assert config.modules == {}, "the module calls no module of its own"

    assert environment["name"] == "${var.compute_environment_name}"
    assert environment["type"] == "MANAGED"
    assert environment["state"] == "ENABLED"
    (resources,) = environment["compute_resources"]
    assert resources == {
        "type": "${var.capacity_type}",
        "max_vcpus": "${var.max_vcpus}",
        "subnets": "${var.subnet_ids}",
        "security_group_ids": ["${var.security_group_id}"],
    }

    assert queue["name"] == "${var.job_queue_name}"
    assert queue["state"] == "ENABLED"
    assert queue["priority"] == "${var.job_queue_priority}"
    (order,) = queue["compute_environment_order"]
    assert order == {
        "order": 1,
        "compute_environment": "${aws_batch_compute_environment.this.arn}",
    }
    assert reference(config.outputs["job_queue_arn"]["value"]) == "aws_batch_job_queue.this.arn"


def test_the_module_takes_only_fargate_capacity() -> None:
    variable = module().variables["capacity_type"]
    assert "default" not in variable
    (validation,) = variable["validation"]
    # python-hcl2 drops the quotes of strings in a list inside a call; compare without them.
    condition = re.sub(r"[\"']", "", validation["condition"])
    assert condition == "${contains([FARGATE, FARGATE_SPOT], var.capacity_type)}"


def test_every_module_input_is_required() -> None:
    # A forgotten input fails `terraform validate` instead of taking a silent default.
    for name, body in module().variables.items():
        assert "default" not in body, f"module variable {name} has a default"


def test_the_module_pins_the_same_terraform_and_provider_versions_as_the_root() -> None:
    (root,) = load().terraform
    (settings,) = module().terraform
    assert settings["required_version"] == root["required_version"]
    assert settings["required_providers"] == root["required_providers"]


def test_every_fargate_compute_environment_and_queue_comes_from_the_module() -> None:
    batch = [
        (address, kind, body)
        for address, kind, body in all_resources()
        if kind in ("aws_batch_compute_environment", "aws_batch_job_queue")
    ]
    in_root = {address for address, _, _ in batch if not address.startswith("module.")}
    # The root keeps only the EC2 environment and its queue.
    assert in_root == {"aws_batch_compute_environment.ec2", "aws_batch_job_queue.ec2"}
    in_modules = {address for address, _, _ in batch if address.startswith("module.")}
    assert in_modules == set(MOVED.values())
    # The EC2 environment never becomes a Fargate one.
    (resources,) = load().resource("aws_batch_compute_environment", "ec2")["compute_resources"]
    assert resources["type"] == "${local.ec2_type}"
    assert "FARGATE" not in load().locals["ec2_type"]


@pytest.mark.parametrize("name", sorted(CALLS))
def test_the_module_call_gives_the_queue_its_name_type_and_size(name: str) -> None:
    config = load()
    call = config.module(name)
    expected = {**SHARED, **CALLS[name], "depends_on": DEPENDS_ON}
    assert call == expected


def test_the_two_calls_differ_only_in_name_type_size_and_switch() -> None:
    fargate, coordinator = (load().module(name) for name in ("fargate_queue", "coordinator_queue"))
    differing = {
        key
        for key in fargate.keys() | coordinator.keys()
        if fargate.get(key) != coordinator.get(key)
    }
    assert differing == {
        "count",
        "compute_environment_name",
        "job_queue_name",
        "capacity_type",
        "max_vcpus",
        "job_queue_priority",
    }


def test_the_names_stay_what_they_were() -> None:
    config = load()
    names = config.locals["names"]
    assert names["fargate_compute_env"] == (
        '${coalesce(var.fargate_compute_environment_name, "${var.name_prefix}-fargate")}'
    )
    assert names["fargate_job_queue"] == (
        '${coalesce(var.fargate_job_queue_name, "${var.name_prefix}-fargate-queue")}'
    )
    coordinator = config.locals["coordinator_names"]
    assert coordinator["compute_environment"] == "${var.name_prefix}-coordinator"
    assert coordinator["job_queue"] == "${var.name_prefix}-coordinator-queue"


# ---------------------------------------------------------------------------
# (b) Moved blocks carry an existing state over
# ---------------------------------------------------------------------------


def test_a_moved_block_for_each_resource_that_moved() -> None:
    assert moved_blocks() == MOVED


@pytest.mark.parametrize("source", sorted(MOVED))
def test_the_old_address_is_gone_from_the_configuration(source: str) -> None:
    # Terraform refuses a move from an address still declared ("Moved object still exists").
    old = parse_address(source)
    assert old["module"] is None
    assert old["name"] not in load().resources.get(old["kind"], {}), f"{source} is still declared"


@pytest.mark.parametrize("target", sorted(MOVED.values()))
def test_the_new_address_is_declared_with_the_right_indexes(target: str) -> None:
    new = parse_address(target)
    call = load().module(new["module"])
    assert call["source"] == MODULE_SOURCE
    # module.NAME[0] for a call with count; the resource inside has none, so no index.
    assert "count" in call
    assert new["module_index"] == "[0]"
    body = module().resource(new["kind"], new["name"])
    assert "count" not in body
    assert new["index"] is None


@pytest.mark.parametrize("source", sorted(MOVED))
def test_each_resource_moves_to_the_same_kind_under_the_call_with_the_old_count(
    source: str,
) -> None:
    old, new = parse_address(source), parse_address(MOVED[source])
    assert new["kind"] == old["kind"], "a moved block cannot change a resource's type"
    # The old resource was there exactly when its call's instance [0] is now.
    switch = {"fargate": "enable_fargate", "coordinator": "enable_coordinator"}[old["name"]]
    assert old["index"] == "[0]"
    assert load().module(new["module"])["count"] == f"${{var.{switch} ? 1 : 0}}"


def test_every_resource_of_every_module_instance_is_a_moved_target() -> None:
    in_modules = {address for address, _, _ in all_resources() if address.startswith("module.")}
    assert in_modules == set(moved_blocks().values()), (
        "a resource in a module instance without a moved block would be created anew"
    )
