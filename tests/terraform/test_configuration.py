"""Static checks of terraform/: what the plugin needs, and the traps it must avoid."""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

import pytest

from snakemake_executor_plugin_aws_batch import ExecutorSettings
from snakemake_executor_plugin_aws_batch.jobspec.names import definition_name
from snakemake_executor_plugin_aws_batch.settings import container_options
from snakemake_executor_plugin_aws_batch.settings.validation import Origin
from tests.terraform.config import (
    TERRAFORM_DIR,
    all_resources,
    as_list,
    configurations,
    load,
    load_file,
    module_directories,
    reference,
    statements,
    tf_files,
)

# The environment variables the user guide tells people to export from the outputs.
USER_GUIDE_VARIABLES = {
    "SNAKEMAKE_AWS_BATCH_REGION",
    "SNAKEMAKE_AWS_BATCH_JOB_QUEUE",
    "SNAKEMAKE_AWS_BATCH_JOB_ROLE",
    "SNAKEMAKE_AWS_BATCH_EXECUTION_ROLE",
}
# Upper-case outputs beyond those: documented in terraform/README.md.
DOCUMENTED_VARIABLES = {
    "SNAKEMAKE_STORAGE_PREFIX",
    "SNAKEMAKE_AWS_BATCH_FARGATE_JOB_QUEUE",
    "SNAKEMAKE_AWS_BATCH_VOLUMES",
}


def plugin_variables() -> set[str]:
    return {f"SNAKEMAKE_AWS_BATCH_{f.name.upper()}" for f in dataclasses.fields(ExecutorSettings)}


def trusted_services(document: dict[str, Any]) -> set[str]:
    services: set[str] = set()
    for statement in statements(document):
        assert statement.get("effect", "Allow") == "Allow"
        assert "sts:AssumeRole" in statement["actions"]
        for principal in statement.get("principals", []):
            assert principal["type"] == "Service", f"unexpected principal {principal}"
            services.update(principal["identifiers"])
    return services


def role_of_output(name: str) -> str:
    """The aws_iam_role resource name an output's value is the ARN of."""
    ref = reference(load().outputs[name]["value"])
    assert ref is not None, f"output {name} must be a plain reference to a role's ARN"
    match = re.fullmatch(r"aws_iam_role\.(\w+)\.arn", ref)
    assert match, f"output {name} is {ref}, not the ARN of an aws_iam_role"
    return match.group(1)


def actions_to_resources(document: dict[str, Any]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for statement in statements(document):
        assert statement.get("effect", "Allow") == "Allow"
        for action in statement["actions"]:
            found.setdefault(action, set()).update(as_list(statement["resources"]))
    return found


# ---------------------------------------------------------------------------
# Files and versions
# ---------------------------------------------------------------------------


def test_expected_files_exist() -> None:
    names = {path.name for path in TERRAFORM_DIR.iterdir()}
    for expected in (
        "versions.tf",
        "vars.tf",
        "outputs.tf",
        "terraform.tfvars.example",
        "README.md",
        "checkov-skips.txt",
    ):
        assert expected in names


@pytest.mark.parametrize(
    "path",
    [path for directory in module_directories() for path in tf_files(directory)],
    ids=lambda p: str(p.relative_to(TERRAFORM_DIR)),
)
def test_every_tf_file_parses(path: Any) -> None:
    parsed = load_file(path)
    assert parsed, f"{path.name} holds no blocks"


def test_terraform_and_provider_versions_are_ranges() -> None:
    (settings,) = load().terraform
    required = settings["required_version"]
    assert re.fullmatch(r">= ?1\.\d+\.\d+, ?< ?2\.0\.0", required), required
    aws = settings["required_providers"][0]["aws"]
    assert aws["source"] == "hashicorp/aws"
    assert re.fullmatch(r">= ?6\.\d+\.\d+, ?< ?7\.0\.0", aws["version"]), aws["version"]


def test_example_tfvars_sets_only_declared_variables() -> None:
    example = load_file(TERRAFORM_DIR / "terraform.tfvars.example")
    assert example
    undeclared = set(example) - set(load().variables)
    assert not undeclared, f"terraform.tfvars.example sets undeclared variables {undeclared}"


def test_every_variable_has_a_description_and_type() -> None:
    for name, body in load().variables.items():
        assert body.get("description"), f"variable {name} has no description"
        assert body.get("type"), f"variable {name} has no type"


# ---------------------------------------------------------------------------
# Outputs: the plugin's environment variables
# ---------------------------------------------------------------------------


def test_user_guide_variables_are_outputs() -> None:
    missing = USER_GUIDE_VARIABLES - set(load().outputs)
    assert not missing, f"outputs missing for {missing}"


def test_user_guide_variables_are_plugin_settings() -> None:
    # Guards the list above: the plugin reads each of these.
    assert plugin_variables() >= USER_GUIDE_VARIABLES


def test_every_snakemake_output_is_known() -> None:
    known = USER_GUIDE_VARIABLES | DOCUMENTED_VARIABLES
    unknown = {name for name in load().outputs if name.startswith("SNAKEMAKE_")} - known
    assert not unknown, f"outputs {unknown} are no variable the plugin or the docs know"


def test_upper_case_outputs_are_environment_variables_only() -> None:
    for name in load().outputs:
        if name.isupper():
            assert name.startswith("SNAKEMAKE_"), name


def test_user_policy_arn_is_a_lower_case_output() -> None:
    assert reference(load().outputs["user_policy_arn"]["value"]) == "aws_iam_policy.user.arn"


def test_queue_outputs_reference_the_queues() -> None:
    outputs = load().outputs
    assert reference(outputs["SNAKEMAKE_AWS_BATCH_JOB_QUEUE"]["value"]) == (
        "aws_batch_job_queue.ec2.arn"
    )
    fargate = outputs["SNAKEMAKE_AWS_BATCH_FARGATE_JOB_QUEUE"]["value"]
    # Only when the Fargate queue exists; a null output is left out of `terraform output`.
    assert fargate == "${var.enable_fargate ? module.fargate_queue[0].job_queue_arn : null}"
    assert reference(outputs["SNAKEMAKE_AWS_BATCH_REGION"]["value"]) == "var.region"


def test_storage_prefix_output_is_an_s3_url_in_the_bucket() -> None:
    value = load().outputs["SNAKEMAKE_STORAGE_PREFIX"]["value"]
    assert value.startswith("s3://${aws_s3_bucket.workflow.id}/")
    assert "var.storage_prefix" in value


# ---------------------------------------------------------------------------
# IAM
# ---------------------------------------------------------------------------


def test_job_role_output_is_a_role_trusted_by_ecs_tasks() -> None:
    config = load()
    name = role_of_output("SNAKEMAKE_AWS_BATCH_JOB_ROLE")
    assert name == "job"
    role = config.resource("aws_iam_role", name)
    assert trusted_services(config.policy_document(role["assume_role_policy"])) == {
        "ecs-tasks.amazonaws.com"
    }


def test_job_role_is_neither_the_instance_role_nor_a_service_role() -> None:
    config = load()
    name = role_of_output("SNAKEMAKE_AWS_BATCH_JOB_ROLE")
    profile_role = reference(config.resource("aws_iam_instance_profile", "ecs_instance")["role"])
    assert profile_role != f"aws_iam_role.{name}.name"
    for service_role in config.resources.get("aws_iam_service_linked_role", {}).values():
        assert service_role["aws_service_name"] == "batch.amazonaws.com"
    for attachment in config.resources["aws_iam_role_policy_attachment"].values():
        if attachment["role"] == f"${{aws_iam_role.{name}.name}}":
            assert "service-role" not in attachment["policy_arn"]


def test_execution_role_output_is_the_execution_role() -> None:
    config = load()
    name = role_of_output("SNAKEMAKE_AWS_BATCH_EXECUTION_ROLE")
    assert name == "execution"
    role = config.resource("aws_iam_role", name)
    assert trusted_services(config.policy_document(role["assume_role_policy"])) == {
        "ecs-tasks.amazonaws.com"
    }
    attached = [
        a["policy_arn"]
        for a in config.resources["aws_iam_role_policy_attachment"].values()
        if a["role"] == "${aws_iam_role.execution.name}"
    ]
    assert any(
        arn.endswith(":policy/service-role/AmazonECSTaskExecutionRolePolicy") for arn in attached
    )


def test_instance_role_is_for_ec2_and_in_the_instance_profile() -> None:
    config = load()
    role = config.resource("aws_iam_role", "ecs_instance")
    assert trusted_services(config.policy_document(role["assume_role_policy"])) == {
        "ec2.amazonaws.com"
    }
    profile = config.resource("aws_iam_instance_profile", "ecs_instance")
    assert reference(profile["role"]) == "aws_iam_role.ecs_instance.name"
    compute = config.resource("aws_batch_compute_environment", "ec2")["compute_resources"][0]
    assert reference(compute["instance_role"]) == "aws_iam_instance_profile.ecs_instance.arn"


def test_batch_service_linked_role_is_optional() -> None:
    config = load()
    role = config.resource("aws_iam_service_linked_role", "batch")
    assert role["aws_service_name"] == "batch.amazonaws.com"
    assert role["count"] == "${var.create_batch_service_linked_role ? 1 : 0}"
    assert isinstance(config.default("create_batch_service_linked_role"), bool)


def test_job_role_reads_and_writes_the_workflow_bucket() -> None:
    config = load()
    # Its one policy that is always there; the EFS one comes with enable_efs.
    policies = [
        p
        for p in config.resources["aws_iam_role_policy"].values()
        if p["role"] == "${aws_iam_role.job.id}" and "count" not in p
    ]
    assert len(policies) == 1
    granted = actions_to_resources(config.policy_document(policies[0]["policy"]))
    objects = "${aws_s3_bucket.workflow.arn}/*"
    for action in ("s3:GetObject", "s3:PutObject", "s3:DeleteObject"):
        assert granted.get(action) == {objects}, action
    assert granted.get("s3:ListBucket") == {"${aws_s3_bucket.workflow.arn}"}
    assert granted.get("kms:GenerateDataKey") == {"${aws_kms_key.main.arn}"}


def test_execution_role_reads_only_the_listed_secrets() -> None:
    config = load()
    policy = config.resource("aws_iam_role_policy", "execution_secrets")
    assert reference(policy["role"]) == "aws_iam_role.execution.id"
    granted = actions_to_resources(config.policy_document(policy["policy"]))
    assert granted["secretsmanager:GetSecretValue"] == {"${var.secrets_manager_arns}"}
    assert granted["ssm:GetParameters"] == {"${var.ssm_parameter_arns}"}
    assert config.default("secrets_manager_arns") == []
    assert config.default("ssm_parameter_arns") == []


USER_ACTIONS = {
    "batch:SubmitJob",
    "batch:DescribeJobs",
    "batch:TerminateJob",
    "batch:ListJobs",
    "batch:TagResource",
    "batch:RegisterJobDefinition",
    "batch:DescribeJobDefinitions",
    "batch:DescribeJobQueues",
    "batch:DescribeComputeEnvironments",
    "iam:PassRole",
    "logs:GetLogEvents",
    "s3:ListBucket",
    "s3:GetObject",
    "s3:PutObject",
}
# Actions that take no resource-level restriction in IAM.
UNRESTRICTABLE = {
    "batch:DescribeJobs",
    "batch:ListJobs",
    "batch:DescribeJobDefinitions",
    "batch:DescribeJobQueues",
    "batch:DescribeComputeEnvironments",
}


def user_policy() -> dict[str, set[str]]:
    config = load()
    return actions_to_resources(
        config.policy_document(config.resource("aws_iam_policy", "user")["policy"])
    )


def test_user_policy_grants_what_the_plugin_calls() -> None:
    missing = USER_ACTIONS - set(user_policy())
    assert not missing, f"user policy lacks {missing}"


def test_user_policy_is_least_privilege() -> None:
    granted = user_policy()
    for action, resources in granted.items():
        assert "*" not in action, f"wildcard action {action}"
        if action not in UNRESTRICTABLE:
            assert "*" not in resources, f"{action} is granted on every resource"
    assert granted["iam:PassRole"] == {
        "${aws_iam_role.job.arn}",
        "${aws_iam_role.execution.arn}",
    }
    assert granted["logs:GetLogEvents"] == {"${local.job_log_group_arn}:log-stream:*"}
    assert "${var.log_group_name}" in load().locals["job_log_group_arn"]
    assert granted["s3:PutObject"] == {"${aws_s3_bucket.workflow.arn}/*"}
    (submit,) = granted["batch:SubmitJob"]
    assert "local.job_queue_arns" in submit
    assert "local.plugin_job_definition_arn" in submit
    queues = load().locals["job_queue_arns"]
    assert "aws_batch_job_queue.ec2.arn" in queues
    assert "module.fargate_queue[*].job_queue_arn" in queues
    assert (
        load()
        .locals["plugin_job_definition_arn"]
        .endswith(":job-definition/${var.job_definition_name_prefix}*")
    )
    # The plugin's own definitions fall under the registrable names.
    assert definition_name({"type": "container"}).startswith(
        load().default("job_definition_name_prefix")
    )


# ---------------------------------------------------------------------------
# Network
# ---------------------------------------------------------------------------


def has_block(body: Any, block: str) -> bool:
    """Whether a block (or a dynamic block) of that name appears anywhere in body."""
    if isinstance(body, dict):
        return block in body or any(has_block(value, block) for value in body.values())
    if isinstance(body, list):
        return any(has_block(item, block) for item in body)
    return False


def ingress_rules() -> list[str]:
    """Address of every block of the whole configuration, modules included, that lets
    traffic in: inline ingress blocks of any resource, aws_security_group_rule of type
    ingress, and the ingress rule resources."""
    found = []
    for address, kind, body in all_resources():
        if (
            has_block(body, "ingress")
            or "ingress" in kind
            or (kind == "aws_security_group_rule" and body.get("type") != "egress")
        ):
            found.append(address)
    return found


def test_the_only_ingress_rule_is_nfs_from_the_jobs_to_the_efs_mount_targets() -> None:
    config = load()
    # One rule in the whole configuration (modules included): NFS into the mount
    # targets' group, from the jobs' group only.
    assert ingress_rules() == ["aws_vpc_security_group_ingress_rule.efs_nfs_from_jobs"]
    rule = config.resource("aws_vpc_security_group_ingress_rule", "efs_nfs_from_jobs")
    assert rule["count"] == "${var.enable_efs ? 1 : 0}"
    assert rule["security_group_id"] == "${aws_security_group.efs[0].id}"
    assert rule["referenced_security_group_id"] == "${aws_security_group.jobs.id}"
    assert rule["ip_protocol"] == "tcp"
    assert rule["from_port"] == rule["to_port"] == "${local.nfs_port}"
    assert config.locals["nfs_port"] == 2049
    for source in ("cidr_ipv4", "cidr_ipv6", "prefix_list_id"):
        assert source not in rule, f"the NFS rule must not also allow {source}"
    # The EFS group is the mount targets' only group, and the jobs' group is the one every
    # compute environment runs in (test below): the rule admits the jobs and nothing else.
    mount_target = config.resource("aws_efs_mount_target", "main")
    assert mount_target["security_groups"] == ["${aws_security_group.efs[0].id}"]


def test_ingress_rules_are_found_wherever_they_are() -> None:
    # Guards ingress_rules(): each way of letting traffic in is caught.
    assert has_block({"dynamic": [{"ingress": {"content": [{}]}}]}, "ingress")
    assert has_block({"ingress": [{"from_port": 22}]}, "ingress")
    assert not has_block({"egress": [{"from_port": 443}], "tags": {"Name": "x"}}, "ingress")


def test_the_security_groups_are_the_jobs_the_mount_targets_and_the_emptied_default() -> None:
    groups = {
        address
        for address, kind, _ in all_resources()
        if kind in ("aws_security_group", "aws_default_security_group")
    }
    assert groups == {
        "aws_security_group.jobs",
        "aws_security_group.efs",
        "aws_default_security_group.default",
    }
    # Without ingress or egress blocks Terraform removes every rule of the default group.
    default = load().resource("aws_default_security_group", "default")
    assert not has_block(default, "ingress")
    assert not has_block(default, "egress")
    assert reference(default["vpc_id"]) == "aws_vpc.main.id"
    # The jobs' group lets nothing in; the EFS group has no inline rule at all (its one
    # rule is the resource above, and inline rules would fight it).
    assert not has_block(load().resource("aws_security_group", "jobs"), "ingress")
    efs = load().resource("aws_security_group", "efs")
    assert not has_block(efs, "ingress")
    assert not has_block(efs, "egress")


def compute_environments() -> dict[str, dict[str, Any]]:
    """compute_resources of every compute environment, modules included, by address; a
    module's expressions are read with what its call gives them."""
    found = {}
    for instance in configurations():
        for name, body in instance.config.resources.get(
            "aws_batch_compute_environment", {}
        ).items():
            (resources,) = body["compute_resources"]
            found[f"{instance.prefix}aws_batch_compute_environment.{name}"] = {
                key: instance.resolve(value) for key, value in resources.items()
            }
    return found


def test_jobs_security_group_allows_egress_and_is_used_by_every_compute_environment() -> None:
    config = load()
    group = config.resource("aws_security_group", "jobs")
    assert any("egress" in dynamic for dynamic in group["dynamic"])
    environments = compute_environments()
    # The EC2 one, the Fargate one and the coordinator's.
    assert len(environments) == 3
    for address, resources in environments.items():
        assert resources["security_group_ids"] == ["${aws_security_group.jobs.id}"], address


def test_jobs_may_connect_to_the_efs_mount_targets_on_nfs() -> None:
    group = load().resource("aws_security_group", "jobs")
    egress = [d["egress"] for d in group["dynamic"] if "egress" in d]
    nfs = [rule for rule in egress if "aws_security_group.efs" in json.dumps(rule["content"])]
    assert len(nfs) == 1, "the jobs' security group needs one egress rule to the EFS group"
    (rule,) = nfs
    # With allow_all_egress the rule for every port already covers NFS.
    assert rule["for_each"] == "${var.enable_efs && !var.allow_all_egress ? ['nfs'] : []}"
    (content,) = rule["content"]
    assert content["protocol"] == "tcp"
    assert content["from_port"] == content["to_port"] == "${local.nfs_port}"
    assert content["security_groups"] == ["${aws_security_group.efs[0].id}"]
    assert "cidr_blocks" not in content


def test_subnets_span_at_least_two_zones_by_default() -> None:
    config = load()
    assert config.default("az_count") >= 2
    assert config.default("availability_zones") == []
    azs = config.locals["azs"]
    assert "slice(data.aws_availability_zones.available.names, 0, var.az_count)" in azs
    assert "var.availability_zones" in azs
    for name in ("public", "private"):
        subnet = config.resource("aws_subnet", name)
        assert subnet["availability_zone"] == "${local.azs[count.index]}"
        assert "length(local.azs)" in subnet["count"]
    # Under the default subnet_type the jobs run in the private subnets, one per zone.
    assert config.default("subnet_type") == "private"
    assert config.locals["private"] == '${var.subnet_type == "private"}'
    assert (
        config.resource("aws_subnet", "private")["count"]
        == "${local.private ? length(local.azs) : 0}"
    )
    assert config.locals["job_subnet_ids"] == (
        "${local.private ? aws_subnet.private[*].id : aws_subnet.public[*].id}"
    )
    environments = compute_environments()
    assert len(environments) == 3
    for address, resources in environments.items():
        assert resources["subnets"] == "${local.job_subnet_ids}", address


def test_az_count_rejects_a_single_zone() -> None:
    validation = load().variables["az_count"]["validation"][0]
    assert "var.az_count >= 2" in validation["condition"]
    validation = load().variables["availability_zones"]["validation"][0]
    assert "length(var.availability_zones) >= 2" in validation["condition"]


def test_private_subnets_reach_the_internet_through_nat() -> None:
    config = load()
    route = config.resource("aws_route", "private_nat")
    assert route["destination_cidr_block"] == "0.0.0.0/0"
    assert "aws_nat_gateway.main" in route["nat_gateway_id"]
    assert config.resource("aws_nat_gateway", "main")["count"] == "${local.nat_count}"
    assert config.resource("aws_subnet", "public")["map_public_ip_on_launch"] == (
        '${var.subnet_type == "public"}'
    )


def test_s3_gateway_endpoint_serves_every_route_table() -> None:
    endpoint = load().resource("aws_vpc_endpoint", "s3")
    assert endpoint["vpc_endpoint_type"] == "Gateway"
    assert endpoint["service_name"].endswith(".s3")
    assert "aws_route_table.public.id" in endpoint["route_table_ids"]
    assert "aws_route_table.private[*].id" in endpoint["route_table_ids"]


# ---------------------------------------------------------------------------
# Compute
# ---------------------------------------------------------------------------


def test_ec2_compute_environment_and_queue() -> None:
    config = load()
    environment = config.resource("aws_batch_compute_environment", "ec2")
    assert environment["type"] == "MANAGED"
    compute = environment["compute_resources"][0]
    assert compute["type"] == "${local.ec2_type}"
    assert config.locals["ec2_type"] == '${var.use_spot ? "SPOT" : "EC2"}'
    assert config.default("use_spot") is False
    assert compute["instance_type"] == "${var.instance_types}"
    assert compute["min_vcpus"] == "${var.min_vcpus}"
    assert compute["max_vcpus"] == "${var.max_vcpus}"
    assert compute["allocation_strategy"] == "${local.allocation_strategy}"
    queue = config.resource("aws_batch_job_queue", "ec2")
    order = queue["compute_environment_order"][0]
    assert order["compute_environment"] == "${aws_batch_compute_environment.ec2.arn}"


def test_fargate_compute_environment_and_queue_are_optional() -> None:
    config = load()
    assert config.default("enable_fargate") is False
    assert config.default("fargate_use_spot") is False
    # modules/fargate_queue: its compute environment and the queue on it (test_modules.py).
    call = config.module("fargate_queue")
    assert call["count"] == "${var.enable_fargate ? 1 : 0}"
    assert call["capacity_type"] == '${var.fargate_use_spot ? "FARGATE_SPOT" : "FARGATE"}'
    environments = compute_environments()
    fargate = environments["module.fargate_queue[0].aws_batch_compute_environment.this"]
    assert fargate["type"] == call["capacity_type"]
    assert fargate["max_vcpus"] == "${var.fargate_max_vcpus}"


def test_instances_require_imdsv2_and_encrypt_their_volume() -> None:
    template = load().resource("aws_launch_template", "instances")
    metadata = template["metadata_options"][0]
    assert metadata["http_tokens"] == "required"
    assert load().default("instance_metadata_hop_limit") == 1
    assert template["block_device_mappings"][0]["ebs"][0]["encrypted"] is True


# ---------------------------------------------------------------------------
# Storage and logs
# ---------------------------------------------------------------------------


def test_workflow_bucket_is_private_and_encrypted() -> None:
    config = load()
    block = config.resource("aws_s3_bucket_public_access_block", "workflow")
    for setting in (
        "block_public_acls",
        "block_public_policy",
        "ignore_public_acls",
        "restrict_public_buckets",
    ):
        assert block[setting] is True, setting
    encryption = config.resource("aws_s3_bucket_server_side_encryption_configuration", "workflow")
    default = encryption["rule"][0]["apply_server_side_encryption_by_default"][0]
    assert default["sse_algorithm"] == "aws:kms"
    versioning = config.resource("aws_s3_bucket_versioning", "workflow")
    assert "var.bucket_versioning" in versioning["versioning_configuration"][0]["status"]
    for name in ("aws_s3_bucket_public_access_block", "aws_s3_bucket_versioning"):
        assert reference(config.resource(name, "workflow")["bucket"]) == "aws_s3_bucket.workflow.id"


def test_bucket_policy_refuses_plain_http() -> None:
    config = load()
    policy = config.resource("aws_s3_bucket_policy", "workflow")
    (statement,) = statements(config.policy_document(policy["policy"]))
    assert statement["effect"] == "Deny"
    assert statement["condition"][0]["variable"] == "aws:SecureTransport"
    assert statement["condition"][0]["values"] == ["false"]


def test_job_log_group_has_the_batch_default_name_and_retention() -> None:
    config = load()
    assert config.default("log_group_name") == "/aws/batch/job"
    group = config.resource("aws_cloudwatch_log_group", "jobs")
    assert group["name"] == "${var.log_group_name}"
    assert group["retention_in_days"] == "${var.log_retention_days}"
    assert config.default("log_retention_days") > 0


# ---------------------------------------------------------------------------
# Shared file system (EFS)
# ---------------------------------------------------------------------------

EFS_ONCE = "${var.enable_efs ? 1 : 0}"
EFS_CLIENT_ACTIONS = {"elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"}
ACCESS_POINT_CONDITION = {
    "test": "StringEquals",
    "variable": "elasticfilesystem:AccessPointArn",
    "values": ["${aws_efs_access_point.main[0].arn}"],
}


def test_efs_is_off_by_default_and_every_part_of_it_depends_on_enable_efs() -> None:
    config = load()
    assert config.default("enable_efs") is False
    efs_resources = {
        (kind, name)
        for kind, named in config.resources.items()
        for name in named
        if kind.startswith("aws_efs_")
    }
    assert efs_resources == {
        ("aws_efs_file_system", "main"),
        ("aws_efs_mount_target", "main"),
        ("aws_efs_access_point", "main"),
        ("aws_efs_file_system_policy", "main"),
    }
    for kind, name in efs_resources - {("aws_efs_mount_target", "main")}:
        assert config.resource(kind, name)["count"] == EFS_ONCE, f"{kind}.{name}"
    for kind, name in (
        ("aws_security_group", "efs"),
        ("aws_vpc_security_group_ingress_rule", "efs_nfs_from_jobs"),
        ("aws_iam_role_policy", "job_efs"),
    ):
        assert config.resource(kind, name)["count"] == EFS_ONCE, f"{kind}.{name}"
    for name in ("efs", "job_efs"):
        assert config.data_source("aws_iam_policy_document", name)["count"] == EFS_ONCE


def test_efs_file_system_is_encrypted_with_the_kms_key() -> None:
    config = load()
    system = config.resource("aws_efs_file_system", "main")
    assert system["encrypted"] is True
    assert system["kms_key_id"] == "${aws_kms_key.main.arn}"
    assert system["performance_mode"] == "${var.efs_performance_mode}"
    assert system["throughput_mode"] == "${var.efs_throughput_mode}"
    assert config.default("efs_performance_mode") == "generalPurpose"
    assert config.default("efs_throughput_mode") == "elastic"


def test_efs_has_a_mount_target_in_every_job_subnet() -> None:
    config = load()
    target = config.resource("aws_efs_mount_target", "main")
    assert target["count"] == "${var.enable_efs ? length(local.azs) : 0}"
    assert target["subnet_id"] == "${local.job_subnet_ids[count.index]}"
    assert target["file_system_id"] == "${aws_efs_file_system.main[0].id}"
    assert target["security_groups"] == ["${aws_security_group.efs[0].id}"]
    # One job subnet per zone, whichever subnet_type: as many as there are mount targets.
    for name in ("public", "private"):
        assert "length(local.azs)" in config.resource("aws_subnet", name)["count"]
    group = config.resource("aws_security_group", "efs")
    assert group["vpc_id"] == "${aws_vpc.main.id}"
    assert "egress" not in group, "the mount targets never open a connection"


def test_efs_access_point_fixes_the_root_directory_and_posix_user() -> None:
    config = load()
    point = config.resource("aws_efs_access_point", "main")
    assert point["file_system_id"] == "${aws_efs_file_system.main[0].id}"
    (root,) = point["root_directory"]
    assert root["path"] == "${var.efs_root_directory}"
    assert config.default("efs_root_directory") == "/snakemake"
    (user,) = point["posix_user"]
    assert user == {"uid": "${var.efs_posix_uid}", "gid": "${var.efs_posix_gid}"}
    # EFS creates the root directory owned by that user, so jobs can write to it.
    (creation,) = root["creation_info"]
    assert creation["owner_uid"] == user["uid"]
    assert creation["owner_gid"] == user["gid"]
    assert creation["permissions"] == "${var.efs_root_directory_permissions}"
    assert re.fullmatch(r"[0-7]{3,4}", config.default("efs_root_directory_permissions"))


def test_efs_policy_requires_tls_and_lets_the_job_role_mount_via_the_access_point() -> None:
    config = load()
    policy = config.resource("aws_efs_file_system_policy", "main")
    assert policy["file_system_id"] == "${aws_efs_file_system.main[0].id}"
    document = config.policy_document(policy["policy"])
    deny = [s for s in statements(document) if s.get("effect") == "Deny"]
    allow = [s for s in statements(document) if s.get("effect", "Allow") == "Allow"]
    (tls,) = deny
    assert tls["actions"] == ["*"]
    assert tls["principals"] == [{"type": "AWS", "identifiers": ["*"]}]
    assert tls["condition"] == [
        {"test": "Bool", "variable": "aws:SecureTransport", "values": ["false"]}
    ]
    (mount,) = allow
    assert set(mount["actions"]) == EFS_CLIENT_ACTIONS, "no ClientRootAccess"
    assert mount["resources"] == ["${aws_efs_file_system.main[0].arn}"]
    assert mount["principals"] == [{"type": "AWS", "identifiers": ["${aws_iam_role.job.arn}"]}]
    assert mount["condition"] == [ACCESS_POINT_CONDITION]


def test_job_role_may_mount_the_file_system_through_the_access_point() -> None:
    config = load()
    policy = config.resource("aws_iam_role_policy", "job_efs")
    assert reference(policy["role"]) == "aws_iam_role.job.id"
    (statement,) = statements(config.policy_document(policy["policy"]))
    assert statement.get("effect", "Allow") == "Allow"
    assert set(statement["actions"]) == EFS_CLIENT_ACTIONS
    assert statement["resources"] == ["${aws_efs_file_system.main[0].arn}"]
    assert statement["condition"] == [ACCESS_POINT_CONDITION]


def test_efs_outputs_are_the_ids_or_null() -> None:
    outputs = load().outputs
    assert outputs["efs_file_system_id"]["value"] == (
        "${var.enable_efs ? aws_efs_file_system.main[0].id : null}"
    )
    assert outputs["efs_access_point_id"]["value"] == (
        "${var.enable_efs ? aws_efs_access_point.main[0].id : null}"
    )


def volumes_output(file_system_id: str, access_point_id: str) -> str:
    """SNAKEMAKE_AWS_BATCH_VOLUMES as `terraform output` would show it, for these ids."""
    value = load().outputs["SNAKEMAKE_AWS_BATCH_VOLUMES"]["value"]
    match = re.fullmatch(r"\$\{var\.enable_efs \? jsonencode\((.*)\) : null\}", value, re.S)
    assert match, f"SNAKEMAKE_AWS_BATCH_VOLUMES must be jsonencode(...) or null, not {value}"
    text = (
        match.group(1)
        .replace("${var.efs_container_path}", load().default("efs_container_path"))
        .replace("${aws_efs_file_system.main[0].id}", file_system_id)
        .replace("${aws_efs_access_point.main[0].id}", access_point_id)
    )
    assert "${" not in text, f"unexpected expression in {text}"
    return json.dumps(json.loads(text), sort_keys=True)


def test_volumes_output_is_a_value_the_plugin_accepts() -> None:
    text = volumes_output("fs-0123456789abcdef0", "fsap-0123456789abcdef0")
    # The output is named after the plugin's setting (aws_batch_volumes).
    assert f"SNAKEMAKE_{container_options.VOLUMES.upper()}" in load().outputs
    (volume,) = container_options.volumes(Origin("--aws-batch-volumes"), text)
    assert volume.name == "efs"
    assert volume.container_path == "/mnt/efs"
    assert volume.read_only is False
    assert volume.host_path is None
    assert volume.efs == container_options.Efs(
        file_system_id="fs-0123456789abcdef0",
        root_directory=None,  # the access point's root directory
        access_point_id="fsap-0123456789abcdef0",
        transit_encryption=True,  # the file system policy refuses anything else
        iam=True,  # the policy grants the job role, not anonymous clients
    )
