# Detached runs (`snakemake-aws-batch run`): the coordinator job's role and an On-Demand
# queue of its own, on Fargate, so a run's Snakemake is never reclaimed with Spot
# capacity and needs no instance. Switched off with enable_coordinator = false.
#
#   Coordinator role    the coordinator's container: exactly what Snakemake with the
#                       plugin does (the user policy's permissions: submit, describe,
#                       terminate and register on this project's queues and definitions,
#                       pass the job and execution roles, read job logs, the bucket).
#   Launch policy       for the people who run Snakemake: pass the coordinator role and
#                       submit to the coordinator queue, attached beside the user policy.

locals {
  coordinator_names = {
    compute_environment = "${var.name_prefix}-coordinator"
    job_queue           = "${var.name_prefix}-coordinator-queue"
    role                = "${var.name_prefix}-coordinator"
    launch_policy       = "${var.name_prefix}-launch-coordinators"
  }
}

# On-Demand Fargate (FARGATE, never FARGATE_SPOT): a reclaimed coordinator would end its run.
module "coordinator_queue" {
  source = "./modules/fargate_queue"
  count  = var.enable_coordinator ? 1 : 0

  compute_environment_name = local.coordinator_names.compute_environment
  job_queue_name           = local.coordinator_names.job_queue
  capacity_type            = "FARGATE"
  max_vcpus                = var.coordinator_max_vcpus
  job_queue_priority       = 1
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
  from = aws_batch_compute_environment.coordinator[0]
  to   = module.coordinator_queue[0].aws_batch_compute_environment.this
}

moved {
  from = aws_batch_job_queue.coordinator[0]
  to   = module.coordinator_queue[0].aws_batch_job_queue.this
}

resource "aws_iam_role" "coordinator" {
  count = var.enable_coordinator ? 1 : 0

  name               = local.coordinator_names.role
  description        = "Coordinator jobs of detached Snakemake runs (snakemake-aws-batch run)"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_trust.json
}

resource "aws_iam_role_policy" "coordinator" {
  count = var.enable_coordinator ? 1 : 0

  name   = "run-workflows"
  role   = aws_iam_role.coordinator[0].id
  policy = data.aws_iam_policy_document.user.json
}

data "aws_iam_policy_document" "launch_coordinators" {
  count = var.enable_coordinator ? 1 : 0

  statement {
    sid     = "SubmitCoordinators"
    actions = ["batch:SubmitJob"]
    resources = [
      module.coordinator_queue[0].job_queue_arn,
      local.plugin_job_definition_arn,
    ]
  }

  statement {
    sid       = "PassTheCoordinatorRole"
    actions   = ["iam:PassRole"]
    resources = [aws_iam_role.coordinator[0].arn]
  }
}

resource "aws_iam_policy" "launch_coordinators" {
  count = var.enable_coordinator ? 1 : 0

  name        = local.coordinator_names.launch_policy
  description = "Start detached Snakemake runs on the ${local.coordinator_names.job_queue} queue"
  policy      = data.aws_iam_policy_document.launch_coordinators[0].json
}

resource "aws_iam_group_policy_attachment" "launch_coordinators" {
  for_each = var.enable_coordinator ? toset(var.user_policy_group_names) : toset([])

  group      = each.value
  policy_arn = aws_iam_policy.launch_coordinators[0].arn
}

resource "aws_iam_role_policy_attachment" "launch_coordinators" {
  for_each = var.enable_coordinator ? toset(var.user_policy_role_names) : toset([])

  role       = each.value
  policy_arn = aws_iam_policy.launch_coordinators[0].arn
}
