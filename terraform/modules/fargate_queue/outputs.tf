output "compute_environment_arn" {
  description = "ARN of the Fargate compute environment."
  value       = aws_batch_compute_environment.this.arn
}

output "job_queue_arn" {
  description = "ARN of the job queue."
  value       = aws_batch_job_queue.this.arn
}
