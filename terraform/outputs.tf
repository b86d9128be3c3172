# Outputs in upper case are environment variables: export them all with the one command
# in README.md. The plugin reads the SNAKEMAKE_AWS_BATCH_* ones; SNAKEMAKE_STORAGE_PREFIX
# is for --default-storage-prefix. Outputs of disabled options are null, which
# `terraform output` and the export command leave out.

output "SNAKEMAKE_AWS_BATCH_REGION" {
  description = "Region of the job queue (--aws-batch-region)."
  value       = var.region
}

output "SNAKEMAKE_AWS_BATCH_JOB_QUEUE" {
  description = "ARN of the EC2 job queue (--aws-batch-job-queue)."
  value       = aws_batch_job_queue.ec2.arn
}

output "SNAKEMAKE_AWS_BATCH_JOB_ROLE" {
  description = "ARN of the job role the jobs' containers run as (--aws-batch-job-role)."
  value       = aws_iam_role.job.arn
}

output "SNAKEMAKE_AWS_BATCH_EXECUTION_ROLE" {
  description = "ARN of the execution role that pulls images, reads secrets and writes logs (--aws-batch-execution-role)."
  value       = aws_iam_role.execution.arn
}

output "SNAKEMAKE_STORAGE_PREFIX" {
  description = "S3 location for Snakemake's --default-storage-prefix."
  value       = "s3://${aws_s3_bucket.workflow.id}/${trim(var.storage_prefix, "/")}"
}

output "SNAKEMAKE_AWS_BATCH_FARGATE_JOB_QUEUE" {
  description = "ARN of the Fargate job queue, when enable_fargate is set: the value of a rule's aws_batch_job_queue resource to run that rule on Fargate."
  value       = var.enable_fargate ? module.fargate_queue[0].job_queue_arn : null
}

output "SNAKEMAKE_AWS_BATCH_VOLUMES" {
  description = "When enable_efs is set: the --aws-batch-volumes value that mounts the EFS file system at efs_container_path, through the access point, with TLS and the job role's IAM authorization."
  value = var.enable_efs ? jsonencode([{
    name          = "efs"
    containerPath = var.efs_container_path
    readOnly      = false
    efs = {
      fileSystemId      = aws_efs_file_system.main[0].id
      accessPointId     = aws_efs_access_point.main[0].id
      transitEncryption = true
      iam               = true
    }
  }]) : null
}

output "user_policy_arn" {
  description = "IAM policy with the permissions a person (or CI role) needs to run Snakemake on these queues."
  value       = aws_iam_policy.user.arn
}

output "bucket_name" {
  description = "Name of the workflow bucket."
  value       = aws_s3_bucket.workflow.id
}

output "log_group_name" {
  description = "CloudWatch log group of the jobs."
  value       = var.log_group_name
}

output "kms_key_arn" {
  description = "KMS key that encrypts the bucket, the log groups and the EFS file system."
  value       = aws_kms_key.main.arn
}

output "vpc_id" {
  description = "VPC the jobs run in."
  value       = aws_vpc.main.id
}

output "job_subnet_ids" {
  description = "Subnets the jobs run in, one per availability zone."
  value       = local.job_subnet_ids
}

output "security_group_id" {
  description = "Security group of the jobs (outbound only)."
  value       = aws_security_group.jobs.id
}

output "efs_file_system_id" {
  description = "ID of the EFS file system, when enable_efs is set."
  value       = var.enable_efs ? aws_efs_file_system.main[0].id : null
}

output "efs_access_point_id" {
  description = "ID of the EFS access point jobs mount through, when enable_efs is set."
  value       = var.enable_efs ? aws_efs_access_point.main[0].id : null
}

output "instance_role_arn" {
  description = "Role of the EC2 instances (not for the plugin: jobs use SNAKEMAKE_AWS_BATCH_JOB_ROLE)."
  value       = aws_iam_role.ecs_instance.arn
}

output "coordinator_queue_arn" {
  description = "ARN of the On-Demand coordinator queue, for snakemake-aws-batch run --queue (null without enable_coordinator)."
  value       = var.enable_coordinator ? module.coordinator_queue[0].job_queue_arn : null
}

output "coordinator_role_arn" {
  description = "ARN of the coordinator role, for snakemake-aws-batch run --job-role (null without enable_coordinator)."
  value       = var.enable_coordinator ? aws_iam_role.coordinator[0].arn : null
}

output "launch_coordinators_policy_arn" {
  description = "ARN of the policy that lets people start detached runs: attach it beside user_policy_arn (done for user_policy_group_names and user_policy_role_names)."
  value       = var.enable_coordinator ? aws_iam_policy.launch_coordinators[0].arn : null
}
