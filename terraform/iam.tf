# Roles of the infrastructure, of the jobs, and a policy for the people who run Snakemake.
#
#   ECS instance role   EC2 instances of the compute environment (ECS agent, image pulls).
#   Job role            the jobs' containers: what a rule's code may do (the workflow bucket).
#   Execution role      the ECS agent on behalf of a job: pull images, read secrets, write logs.
#   Batch service role  AWS Batch itself (the AWSServiceRoleForBatch service-linked role).
#
# Only the job role and the execution role go to the plugin; neither is the Batch
# service role or the instance role.

# ---------------------------------------------------------------------------
# AWS Batch service-linked role
# ---------------------------------------------------------------------------

resource "aws_iam_service_linked_role" "batch" {
  count = var.create_batch_service_linked_role ? 1 : 0

  aws_service_name = "batch.amazonaws.com"
  description      = "Lets AWS Batch manage compute resources"
}

# ---------------------------------------------------------------------------
# ECS instance role and instance profile
# ---------------------------------------------------------------------------

data "aws_iam_policy_document" "ec2_trust" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "ecs_instance" {
  name               = local.names.instance_role
  description        = "EC2 instances of the ${local.names.compute_environment} compute environment"
  assume_role_policy = data.aws_iam_policy_document.ec2_trust.json
}

resource "aws_iam_role_policy_attachment" "ecs_instance" {
  role       = aws_iam_role.ecs_instance.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role"
}

resource "aws_iam_instance_profile" "ecs_instance" {
  name = local.names.instance_role
  role = aws_iam_role.ecs_instance.name
}

# ---------------------------------------------------------------------------
# Trust shared by the job role and the execution role: ECS tasks of this account.
# ---------------------------------------------------------------------------

data "aws_iam_policy_document" "ecs_tasks_trust" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

# ---------------------------------------------------------------------------
# Job role: exported as SNAKEMAKE_AWS_BATCH_JOB_ROLE
# ---------------------------------------------------------------------------

resource "aws_iam_role" "job" {
  name               = local.names.job_role
  description        = "Containers of Snakemake's AWS Batch jobs"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_trust.json
}

data "aws_iam_policy_document" "bucket_read_write" {
  statement {
    sid       = "ListWorkflowBucket"
    actions   = ["s3:ListBucket", "s3:GetBucketLocation"]
    resources = [aws_s3_bucket.workflow.arn]
  }

  statement {
    sid = "ReadWriteWorkflowObjects"
    actions = [
      "s3:GetObject",
      "s3:PutObject",
      "s3:DeleteObject",
      "s3:AbortMultipartUpload",
      "s3:ListMultipartUploadParts",
    ]
    resources = ["${aws_s3_bucket.workflow.arn}/*"]
  }

  statement {
    sid       = "UseBucketKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.main.arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.${var.region}.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "job_bucket" {
  name   = "workflow-bucket-read-write"
  role   = aws_iam_role.job.id
  policy = data.aws_iam_policy_document.bucket_read_write.json
}

# With enable_efs the job role also mounts the EFS file system: aws_iam_role_policy.job_efs
# in efs.tf, next to the file system policy that grants the same.

resource "aws_iam_role_policy_attachment" "job_extra" {
  for_each = toset(var.job_role_policy_arns)

  role       = aws_iam_role.job.name
  policy_arn = each.value
}

# ---------------------------------------------------------------------------
# Execution role: exported as SNAKEMAKE_AWS_BATCH_EXECUTION_ROLE
# ---------------------------------------------------------------------------

resource "aws_iam_role" "execution" {
  name               = local.names.execution_role
  description        = "Pulls images, reads secrets and writes logs for Snakemake's AWS Batch jobs"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_trust.json
}

resource "aws_iam_role_policy_attachment" "execution" {
  role       = aws_iam_role.execution.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
}

locals {
  execution_reads_secrets = length(var.secrets_manager_arns) + length(var.ssm_parameter_arns) > 0
}

data "aws_iam_policy_document" "execution_secrets" {
  count = local.execution_reads_secrets ? 1 : 0

  dynamic "statement" {
    for_each = length(var.secrets_manager_arns) > 0 ? ["secrets"] : []
    content {
      sid       = "ReadSecrets"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = var.secrets_manager_arns
    }
  }

  dynamic "statement" {
    for_each = length(var.ssm_parameter_arns) > 0 ? ["parameters"] : []
    content {
      sid       = "ReadParameters"
      actions   = ["ssm:GetParameters"]
      resources = var.ssm_parameter_arns
    }
  }

  dynamic "statement" {
    for_each = length(var.secrets_kms_key_arns) > 0 ? ["keys"] : []
    content {
      sid       = "DecryptSecrets"
      actions   = ["kms:Decrypt"]
      resources = var.secrets_kms_key_arns
    }
  }
}

resource "aws_iam_role_policy" "execution_secrets" {
  count = local.execution_reads_secrets ? 1 : 0

  name   = "read-job-secrets"
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.execution_secrets[0].json
}

# ---------------------------------------------------------------------------
# Policy for the people (or CI roles) who run Snakemake with the plugin
# ---------------------------------------------------------------------------

locals {
  batch_arn_prefix = "arn:${local.partition}:batch:${var.region}:${local.account_id}"
  job_queue_arns = concat(
    [aws_batch_job_queue.ec2.arn],
    module.fargate_queue[*].job_queue_arn,
  )
  plugin_job_definition_arn = "${local.batch_arn_prefix}:job-definition/${var.job_definition_name_prefix}*"
  job_log_group_arn         = "arn:${local.partition}:logs:${var.region}:${local.account_id}:log-group:${var.log_group_name}"
}

data "aws_iam_policy_document" "user" {
  statement {
    sid = "ReadBatchState"
    actions = [
      "batch:DescribeJobs",
      "batch:ListJobs",
      "batch:DescribeJobDefinitions",
      "batch:DescribeJobQueues",
      "batch:DescribeComputeEnvironments",
    ]
    # These actions take no resource-level restriction.
    resources = ["*"]
  }

  statement {
    sid       = "RegisterPluginJobDefinitions"
    actions   = ["batch:RegisterJobDefinition"]
    resources = [local.plugin_job_definition_arn]
  }

  statement {
    sid     = "SubmitToTheseQueues"
    actions = ["batch:SubmitJob"]
    resources = concat(
      local.job_queue_arns,
      [local.plugin_job_definition_arn],
      var.extra_job_definition_arns,
    )
  }

  statement {
    sid     = "TagJobsAndDefinitions"
    actions = ["batch:TagResource"]
    resources = [
      "${local.batch_arn_prefix}:job/*",
      local.plugin_job_definition_arn,
    ]
  }

  statement {
    sid       = "TerminateJobs"
    actions   = ["batch:TerminateJob"]
    resources = ["${local.batch_arn_prefix}:job/*"]
  }

  statement {
    sid     = "PassOnlyTheJobAndExecutionRoles"
    actions = ["iam:PassRole"]
    resources = [
      aws_iam_role.job.arn,
      aws_iam_role.execution.arn,
    ]
  }

  statement {
    sid       = "ReadJobLogs"
    actions   = ["logs:GetLogEvents"]
    resources = ["${local.job_log_group_arn}:log-stream:*"]
  }

  statement {
    sid       = "ListWorkflowBucket"
    actions   = ["s3:ListBucket", "s3:GetBucketLocation"]
    resources = [aws_s3_bucket.workflow.arn]
  }

  statement {
    sid = "ReadWriteWorkflowObjects"
    actions = [
      "s3:GetObject",
      "s3:PutObject",
      "s3:DeleteObject",
      "s3:AbortMultipartUpload",
      "s3:ListMultipartUploadParts",
    ]
    resources = ["${aws_s3_bucket.workflow.arn}/*"]
  }

  statement {
    sid       = "UseBucketKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.main.arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.${var.region}.amazonaws.com"]
    }
  }
}

resource "aws_iam_policy" "user" {
  name        = local.names.user_policy
  description = "Run Snakemake workflows on the ${local.names.job_queue} AWS Batch queue"
  policy      = data.aws_iam_policy_document.user.json
}

resource "aws_iam_group_policy_attachment" "user" {
  for_each = toset(var.user_policy_group_names)

  group      = each.value
  policy_arn = aws_iam_policy.user.arn
}

resource "aws_iam_role_policy_attachment" "user" {
  for_each = toset(var.user_policy_role_names)

  role       = each.value
  policy_arn = aws_iam_policy.user.arn
}
