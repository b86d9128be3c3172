# An optional EFS file system the jobs mount as a volume (enable_efs, off by default):
# one mount target per job subnet, an access point that fixes the directory and POSIX
# user jobs see, and a file system policy that accepts only TLS connections and lets the
# job role mount and write through that access point. The output
# SNAKEMAKE_AWS_BATCH_VOLUMES is the matching --aws-batch-volumes value.
#
# The jobs reach the mount targets on NFS (TCP 2049): the mount targets' security group
# lets in only the jobs' security group, and the jobs' security group allows that one
# connection out (network.tf).

locals {
  nfs_port = 2049
}

resource "aws_efs_file_system" "main" {
  count = var.enable_efs ? 1 : 0

  creation_token   = local.names.efs
  encrypted        = true
  kms_key_id       = aws_kms_key.main.arn
  performance_mode = var.efs_performance_mode
  throughput_mode  = var.efs_throughput_mode

  provisioned_throughput_in_mibps = (
    var.efs_throughput_mode == "provisioned" ? var.efs_provisioned_throughput_mibps : null
  )

  tags = { Name = local.names.efs }

  lifecycle {
    precondition {
      condition     = var.efs_throughput_mode != "provisioned" || var.efs_provisioned_throughput_mibps != null
      error_message = "efs_throughput_mode = \"provisioned\" needs efs_provisioned_throughput_mibps."
    }

    precondition {
      condition     = var.efs_throughput_mode != "elastic" || var.efs_performance_mode == "generalPurpose"
      error_message = "Elastic throughput needs efs_performance_mode = \"generalPurpose\"; choose bursting or provisioned throughput for maxIO."
    }
  }
}

# The mount targets' security group: NFS in from the jobs' security group, nothing else.
# Its rule is a resource of its own because the jobs' group refers to this group (for its
# outbound NFS rule) and an inline rule here would refer back.
resource "aws_security_group" "efs" {
  count = var.enable_efs ? 1 : 0

  name        = local.names.efs_security_group
  description = "EFS mount targets of ${local.names.efs}: NFS from the jobs' security group only"
  vpc_id      = aws_vpc.main.id

  tags = { Name = local.names.efs_security_group }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "efs_nfs_from_jobs" {
  count = var.enable_efs ? 1 : 0

  security_group_id            = aws_security_group.efs[0].id
  description                  = "NFS from the jobs' security group"
  ip_protocol                  = "tcp"
  from_port                    = local.nfs_port
  to_port                      = local.nfs_port
  referenced_security_group_id = aws_security_group.jobs.id

  tags = { Name = "${local.names.efs_security_group}-nfs-from-jobs" }
}

# One mount target in each subnet the jobs run in, so every zone mounts locally.
resource "aws_efs_mount_target" "main" {
  count = var.enable_efs ? length(local.azs) : 0

  file_system_id  = aws_efs_file_system.main[0].id
  subnet_id       = local.job_subnet_ids[count.index]
  security_groups = [aws_security_group.efs[0].id]
}

# Jobs see efs_root_directory as their volume's root, and every file operation runs as
# efs_posix_uid:efs_posix_gid whatever user the container runs as. EFS creates the
# directory, owned by that user, the first time a job mounts it.
resource "aws_efs_access_point" "main" {
  count = var.enable_efs ? 1 : 0

  file_system_id = aws_efs_file_system.main[0].id

  posix_user {
    uid = var.efs_posix_uid
    gid = var.efs_posix_gid
  }

  root_directory {
    path = var.efs_root_directory

    creation_info {
      owner_uid   = var.efs_posix_uid
      owner_gid   = var.efs_posix_gid
      permissions = var.efs_root_directory_permissions
    }
  }

  tags = { Name = local.names.efs }
}

data "aws_iam_policy_document" "efs" {
  count = var.enable_efs ? 1 : 0

  statement {
    sid       = "DenyUnencryptedTransport"
    effect    = "Deny"
    actions   = ["*"]
    resources = [aws_efs_file_system.main[0].arn]

    principals {
      type        = "AWS"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }

  statement {
    sid = "JobRoleMountsThroughTheAccessPoint"
    actions = [
      "elasticfilesystem:ClientMount",
      "elasticfilesystem:ClientWrite",
    ]
    resources = [aws_efs_file_system.main[0].arn]

    principals {
      type        = "AWS"
      identifiers = [aws_iam_role.job.arn]
    }

    condition {
      test     = "StringEquals"
      variable = "elasticfilesystem:AccessPointArn"
      values   = [aws_efs_access_point.main[0].arn]
    }
  }
}

resource "aws_efs_file_system_policy" "main" {
  count = var.enable_efs ? 1 : 0

  file_system_id = aws_efs_file_system.main[0].id
  policy         = data.aws_iam_policy_document.efs[0].json
}

# The job role's side of the same permission: mount and write, through the access point.
data "aws_iam_policy_document" "job_efs" {
  count = var.enable_efs ? 1 : 0

  statement {
    sid = "MountThroughTheAccessPoint"
    actions = [
      "elasticfilesystem:ClientMount",
      "elasticfilesystem:ClientWrite",
    ]
    resources = [aws_efs_file_system.main[0].arn]

    condition {
      test     = "StringEquals"
      variable = "elasticfilesystem:AccessPointArn"
      values   = [aws_efs_access_point.main[0].arn]
    }
  }
}

resource "aws_iam_role_policy" "job_efs" {
  count = var.enable_efs ? 1 : 0

  name   = "efs-mount-through-access-point"
  role   = aws_iam_role.job.id
  policy = data.aws_iam_policy_document.job_efs[0].json
}
