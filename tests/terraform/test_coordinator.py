"""terraform/coordinator.tf: what a detached run's coordinator may do, and where it runs."""

from __future__ import annotations

from tests.terraform.config import load, reference
from tests.terraform.test_configuration import actions_to_resources


def test_the_coordinator_role_has_exactly_the_user_policy() -> None:
    config = load()
    role = config.resource("aws_iam_role", "coordinator")
    assert (
        reference(role["assume_role_policy"]) == "data.aws_iam_policy_document.ecs_tasks_trust.json"
    )
    inline = config.resource("aws_iam_role_policy", "coordinator")
    assert reference(inline["policy"]) == "data.aws_iam_policy_document.user.json"
    assert reference(inline["role"]) == "aws_iam_role.coordinator[0].id"
    # The user policy passes the job and execution roles only: never the coordinator's.
    passed = actions_to_resources(config.policy_document(inline["policy"]))["iam:PassRole"]
    assert passed == {"${aws_iam_role.job.arn}", "${aws_iam_role.execution.arn}"}


def test_launching_a_coordinator_needs_only_its_queue_and_role() -> None:
    config = load()
    policy = config.resource("aws_iam_policy", "launch_coordinators")
    granted = actions_to_resources(config.policy_document(policy["policy"]))
    assert granted == {
        "batch:SubmitJob": {
            "${module.coordinator_queue[0].job_queue_arn}",
            "${local.plugin_job_definition_arn}",
        },
        "iam:PassRole": {"${aws_iam_role.coordinator[0].arn}"},
    }


def test_the_coordinator_queue_is_on_demand() -> None:
    config = load()
    # modules/fargate_queue: a compute environment of the given type and its one queue.
    call = config.module("coordinator_queue")
    assert call["count"] == "${var.enable_coordinator ? 1 : 0}"
    assert call["capacity_type"] == "FARGATE"  # not FARGATE_SPOT: a reclaim would end the run
    assert call["max_vcpus"] == "${var.coordinator_max_vcpus}"
    queue = config.child("coordinator_queue").resource("aws_batch_job_queue", "this")
    (order,) = queue["compute_environment_order"]
    assert reference(order["compute_environment"]) == "aws_batch_compute_environment.this.arn"
    assert config.outputs["coordinator_queue_arn"]["value"] == (
        "${var.enable_coordinator ? module.coordinator_queue[0].job_queue_arn : null}"
    )
    assert {"coordinator_queue_arn", "coordinator_role_arn"} <= set(config.outputs)
