# A managed EC2 compute environment (On-Demand or Spot) with its job queue, and an
# optional Fargate compute environment with a job queue of its own (modules/fargate_queue).

locals {
  ec2_type = var.use_spot ? "SPOT" : "EC2"
  allocation_strategy = coalesce(
    var.allocation_strategy,
    var.use_spot ? "SPOT_PRICE_CAPACITY_OPTIMIZED" : "BEST_FIT_PROGRESSIVE",
  )
}

# Instances require IMDSv2 and keep metadata responses from reaching containers, and
# their root volume is encrypted.
resource "aws_launch_template" "instances" {
  name        = local.names.launch_template
  description = "Instances of the ${local.names.compute_environment} AWS Batch compute environment"

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = var.instance_metadata_hop_limit
  }

  block_device_mappings {
    device_name = var.root_device_name

    ebs {
      volume_size           = var.root_volume_size_gib
      volume_type           = var.root_volume_type
      encrypted             = true
      delete_on_termination = true
    }
  }

  tag_specifications {
    resource_type = "volume"
    tags          = merge(var.tags, { Name = local.names.compute_environment })
  }
}

resource "aws_batch_compute_environment" "ec2" {
  name  = local.names.compute_environment
  type  = "MANAGED"
  state = "ENABLED"

  compute_resources {
    type                = local.ec2_type
    allocation_strategy = local.allocation_strategy
    bid_percentage      = var.use_spot ? var.spot_bid_percentage : null
    instance_type       = var.instance_types
    instance_role       = aws_iam_instance_profile.ecs_instance.arn
    min_vcpus           = var.min_vcpus
    max_vcpus           = var.max_vcpus
    subnets             = local.job_subnet_ids
    security_group_ids  = [aws_security_group.jobs.id]

    ec2_configuration {
      image_type = var.ec2_image_type
    }

    launch_template {
      launch_template_id = aws_launch_template.instances.id
      version            = aws_launch_template.instances.latest_version
    }

    tags = merge(var.tags, { Name = local.names.compute_environment })
  }

  lifecycle {
    # AWS Batch moves desired_vcpus as jobs come and go.
    ignore_changes = [compute_resources[0].desired_vcpus]

    precondition {
      condition     = var.min_vcpus <= var.max_vcpus
      error_message = "min_vcpus must not exceed max_vcpus."
    }

    precondition {
      condition     = var.use_spot || !startswith(local.allocation_strategy, "SPOT_")
      error_message = "The SPOT_* allocation strategies need use_spot = true."
    }
  }

  # Keep the instance role's permissions until the environment is gone, or its deletion
  # hangs in DELETING.
  depends_on = [
    aws_iam_role_policy_attachment.ecs_instance,
    aws_iam_service_linked_role.batch,
    aws_route_table_association.private,
    aws_route.private_nat,
    aws_route.public_internet,
  ]
}

resource "aws_batch_job_queue" "ec2" {
  name     = local.names.job_queue
  state    = "ENABLED"
  priority = var.job_queue_priority

  compute_environment_order {
    order               = 1
    compute_environment = aws_batch_compute_environment.ec2.arn
  }
}

# The Fargate compute environment and its queue: the module the coordinator queue uses
# too (modules/fargate_queue).
module "fargate_queue" {
  source = "./modules/fargate_queue"
  count  = var.enable_fargate ? 1 : 0

  compute_environment_name = local.names.fargate_compute_env
  job_queue_name           = local.names.fargate_job_queue
  capacity_type            = var.fargate_use_spot ? "FARGATE_SPOT" : "FARGATE"
  max_vcpus                = var.fargate_max_vcpus
  job_queue_priority       = var.fargate_job_queue_priority
  subnet_ids               = local.job_subnet_ids
  security_group_id        = aws_security_group.jobs.id

  depends_on = [
    aws_iam_service_linked_role.batch,
    aws_route_table_association.private,
    aws_route.private_nat,
    aws_route.public_internet,
  ]
}

# Until the module, the two resources were here; an existing state keeps them.
moved {
  from = aws_batch_compute_environment.fargate[0]
  to   = module.fargate_queue[0].aws_batch_compute_environment.this
}

moved {
  from = aws_batch_job_queue.fargate[0]
  to   = module.fargate_queue[0].aws_batch_job_queue.this
}
