# A managed Fargate compute environment and the job queue that runs on it alone, in the
# jobs' subnets and security group. The root configuration calls it twice: the optional
# Fargate queue (compute.tf) and the coordinator queue (coordinator.tf).
#
# The callers give the ordering the environment needs (depends_on on the module call):
# AWS Batch's service-linked role and the subnets' routes must outlive it, or its
# deletion hangs in DELETING.

terraform {
  required_version = ">= 1.5.0, < 2.0.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 6.0.0, < 7.0.0"
    }
  }
}

resource "aws_batch_compute_environment" "this" {
  name  = var.compute_environment_name
  type  = "MANAGED"
  state = "ENABLED"

  compute_resources {
    type               = var.capacity_type
    max_vcpus          = var.max_vcpus
    subnets            = var.subnet_ids
    security_group_ids = [var.security_group_id]
  }
}

resource "aws_batch_job_queue" "this" {
  name     = var.job_queue_name
  state    = "ENABLED"
  priority = var.job_queue_priority

  compute_environment_order {
    order               = 1
    compute_environment = aws_batch_compute_environment.this.arn
  }
}
