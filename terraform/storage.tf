# The workflow bucket (Snakemake's --default-storage-prefix), the jobs' log group and
# the KMS key that encrypts both (and the optional EFS file system, efs.tf).

# ---------------------------------------------------------------------------
# KMS key
# ---------------------------------------------------------------------------

locals {
  flow_log_group_arn = "arn:${local.partition}:logs:${var.region}:${local.account_id}:log-group:${local.names.flow_log_group}"
}

data "aws_iam_policy_document" "kms" {
  # The account administers the key; IAM policies (the job role, the user policy)
  # grant its use.
  statement {
    sid       = "AccountAdministers"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  # CloudWatch Logs encrypts the job and flow log groups of this configuration only.
  statement {
    sid = "CloudWatchLogsEncryptsTheseGroups"
    actions = [
      "kms:Encrypt",
      "kms:Decrypt",
      "kms:ReEncrypt*",
      "kms:GenerateDataKey*",
      "kms:DescribeKey",
    ]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["logs.${var.region}.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = [local.job_log_group_arn, local.flow_log_group_arn]
    }
  }
}

resource "aws_kms_key" "main" {
  description             = "Encrypts the ${var.name_prefix} workflow bucket and log groups"
  enable_key_rotation     = true
  deletion_window_in_days = var.kms_deletion_window_days
  policy                  = data.aws_iam_policy_document.kms.json
}

resource "aws_kms_alias" "main" {
  name          = local.names.kms_alias
  target_key_id = aws_kms_key.main.key_id
}

# ---------------------------------------------------------------------------
# Workflow bucket
# ---------------------------------------------------------------------------

resource "aws_s3_bucket" "workflow" {
  bucket        = var.bucket_name
  bucket_prefix = var.bucket_name == null ? local.names.bucket_prefix : null
  force_destroy = var.bucket_force_destroy
}

resource "aws_s3_bucket_public_access_block" "workflow" {
  bucket = aws_s3_bucket.workflow.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "workflow" {
  bucket = aws_s3_bucket.workflow.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "workflow" {
  bucket = aws_s3_bucket.workflow.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.main.arn
    }
    # One data key per bucket rather than per object: far fewer KMS requests.
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_versioning" "workflow" {
  bucket = aws_s3_bucket.workflow.id

  versioning_configuration {
    status = var.bucket_versioning ? "Enabled" : "Suspended"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "workflow" {
  bucket = aws_s3_bucket.workflow.id

  rule {
    id     = "abort-incomplete-uploads"
    status = "Enabled"

    filter {}

    abort_incomplete_multipart_upload {
      days_after_initiation = var.abort_incomplete_upload_days
    }
  }

  rule {
    id     = "expire-earlier-versions"
    status = "Enabled"

    filter {}

    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_expiration_days
    }

    expiration {
      expired_object_delete_marker = true
    }
  }

  depends_on = [aws_s3_bucket_versioning.workflow]
}

data "aws_iam_policy_document" "workflow_bucket" {
  statement {
    sid       = "DenyUnencryptedTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.workflow.arn, "${aws_s3_bucket.workflow.arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "workflow" {
  bucket = aws_s3_bucket.workflow.id
  policy = data.aws_iam_policy_document.workflow_bucket.json

  depends_on = [aws_s3_bucket_public_access_block.workflow]
}

# ---------------------------------------------------------------------------
# Jobs' log group
# ---------------------------------------------------------------------------

resource "aws_cloudwatch_log_group" "jobs" {
  count = var.create_log_group ? 1 : 0

  name              = var.log_group_name
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.main.arn
}
