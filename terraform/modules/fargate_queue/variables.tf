variable "compute_environment_name" {
  description = "Name of the Fargate compute environment."
  type        = string
}

variable "job_queue_name" {
  description = "Name of the job queue."
  type        = string
}

variable "capacity_type" {
  description = "FARGATE (On-Demand) or FARGATE_SPOT."
  type        = string

  validation {
    condition     = contains(["FARGATE", "FARGATE_SPOT"], var.capacity_type)
    error_message = "capacity_type must be FARGATE or FARGATE_SPOT."
  }
}

variable "max_vcpus" {
  description = "Most vCPUs the compute environment runs at once."
  type        = number
}

variable "job_queue_priority" {
  description = "Priority of the job queue."
  type        = number
}

variable "subnet_ids" {
  description = "Subnets the jobs run in."
  type        = list(string)
}

variable "security_group_id" {
  description = "The jobs' security group (outbound only); the environment's only security group."
  type        = string
}
