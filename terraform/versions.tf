terraform {
  required_version = ">= 1.5.0, < 2.0.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 6.0.0, < 7.0.0"
    }
  }
}

provider "aws" {
  region = var.region

  default_tags {
    tags = var.tags
  }
}

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition

  # Every name defaults to "<name_prefix>-<what>" and can be set on its own.
  names = {
    vpc                  = coalesce(var.vpc_name, "${var.name_prefix}-vpc")
    security_group       = coalesce(var.security_group_name, "${var.name_prefix}-jobs")
    launch_template      = coalesce(var.launch_template_name, "${var.name_prefix}-instances")
    compute_environment  = coalesce(var.compute_environment_name, "${var.name_prefix}-ec2")
    job_queue            = coalesce(var.job_queue_name, "${var.name_prefix}-queue")
    fargate_compute_env  = coalesce(var.fargate_compute_environment_name, "${var.name_prefix}-fargate")
    fargate_job_queue    = coalesce(var.fargate_job_queue_name, "${var.name_prefix}-fargate-queue")
    instance_role        = coalesce(var.instance_role_name, "${var.name_prefix}-ecs-instance")
    job_role             = coalesce(var.job_role_name, "${var.name_prefix}-job")
    execution_role       = coalesce(var.execution_role_name, "${var.name_prefix}-execution")
    user_policy          = coalesce(var.user_policy_name, "${var.name_prefix}-user")
    flow_log_role        = coalesce(var.flow_log_role_name, "${var.name_prefix}-flow-logs")
    flow_log_group       = coalesce(var.flow_log_group_name, "/${var.name_prefix}/vpc-flow-logs")
    kms_alias            = coalesce(var.kms_alias_name, "alias/${var.name_prefix}")
    efs                  = coalesce(var.efs_name, "${var.name_prefix}-efs")
    efs_security_group   = coalesce(var.efs_security_group_name, "${var.name_prefix}-efs-mount-targets")
    bucket_prefix        = "${var.name_prefix}-"
  }
}
