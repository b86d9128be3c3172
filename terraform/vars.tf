# Every name and size below has a default; override any of them in terraform.tfvars
# (see terraform.tfvars.example).

# ---------------------------------------------------------------------------
# General
# ---------------------------------------------------------------------------

variable "region" {
  description = "AWS region for every resource; exported as SNAKEMAKE_AWS_BATCH_REGION."
  type        = string
  default     = "us-west-2"
}

variable "name_prefix" {
  description = "Prefix of every default resource name."
  type        = string
  default     = "snakemake"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,19}$", var.name_prefix))
    error_message = "name_prefix must be 1-20 lower-case letters, digits or '-', starting with a letter."
  }
}

variable "tags" {
  description = "Tags put on every resource."
  type        = map(string)
  default = {
    Project   = "snakemake-aws-batch"
    ManagedBy = "terraform"
  }
}

# ---------------------------------------------------------------------------
# Network
# ---------------------------------------------------------------------------

variable "vpc_name" {
  description = "Name tag of the VPC (default: <name_prefix>-vpc)."
  type        = string
  default     = null
}

variable "vpc_cidr" {
  description = "IPv4 range of the VPC."
  type        = string
  default     = "10.42.0.0/16"

  validation {
    condition     = can(cidrhost(var.vpc_cidr, 0))
    error_message = "vpc_cidr must be an IPv4 CIDR block such as 10.42.0.0/16."
  }
}

variable "subnet_newbits" {
  description = "Bits added to the VPC prefix for each subnet (4 turns a /16 into /20 subnets of 4,096 addresses)."
  type        = number
  default     = 4
}

variable "az_count" {
  description = "Number of availability zones to spread subnets over (taken in order from the region's zones). At least 2."
  type        = number
  default     = 2

  validation {
    condition     = var.az_count >= 2 && var.az_count <= 6
    error_message = "az_count must be between 2 and 6."
  }
}

variable "availability_zones" {
  description = "Explicit availability zones to use instead of the first az_count zones of the region (empty: automatic). At least 2 when set."
  type        = list(string)
  default     = []

  validation {
    condition     = length(var.availability_zones) == 0 || length(var.availability_zones) >= 2
    error_message = "availability_zones must be empty or name at least two zones."
  }
}

variable "subnet_type" {
  description = <<-EOT
    Where jobs run. "private": private subnets that reach the internet (ECR, Docker Hub,
    CloudWatch) through NAT gateways; nothing on the internet can open a connection to a job.
    "public": public subnets, instances get public IP addresses and no NAT gateway is
    created (cheaper when idle; Fargate jobs then need --aws-batch-assign-public-ip).
  EOT
  type        = string
  default     = "private"

  validation {
    condition     = contains(["private", "public"], var.subnet_type)
    error_message = "subnet_type must be \"private\" or \"public\"."
  }
}

variable "nat_gateway_per_az" {
  description = "With private subnets: one NAT gateway in every zone (survives the loss of a zone) instead of a single shared one (cheaper)."
  type        = bool
  default     = false
}

variable "security_group_name" {
  description = "Name of the jobs' security group (default: <name_prefix>-jobs)."
  type        = string
  default     = null
}

variable "egress_ports" {
  description = "TCP ports jobs may connect to anywhere (HTTPS for AWS APIs, ECR and registries; HTTP for package mirrors). The security group never allows inbound traffic."
  type        = list(number)
  default     = [443, 80]
}

variable "allow_all_egress" {
  description = "Let jobs open connections on every port and protocol instead of only egress_ports (e.g. FTP downloads)."
  type        = bool
  default     = false
}

variable "enable_flow_logs" {
  description = "Record the VPC's traffic in a CloudWatch log group."
  type        = bool
  default     = true
}

variable "flow_log_traffic_type" {
  description = "Traffic the flow log records: ACCEPT, REJECT or ALL."
  type        = string
  default     = "ALL"

  validation {
    condition     = contains(["ACCEPT", "REJECT", "ALL"], var.flow_log_traffic_type)
    error_message = "flow_log_traffic_type must be ACCEPT, REJECT or ALL."
  }
}

variable "flow_log_group_name" {
  description = "Log group of the VPC flow logs (default: /<name_prefix>/vpc-flow-logs)."
  type        = string
  default     = null
}

variable "flow_log_role_name" {
  description = "IAM role the flow logs write with (default: <name_prefix>-flow-logs)."
  type        = string
  default     = null
}

variable "flow_log_retention_days" {
  description = "Days the VPC flow logs are kept."
  type        = number
  default     = 365
}

# ---------------------------------------------------------------------------
# Compute: EC2
# ---------------------------------------------------------------------------

variable "compute_environment_name" {
  description = "Name of the EC2 compute environment (default: <name_prefix>-ec2)."
  type        = string
  default     = null
}

variable "job_queue_name" {
  description = "Name of the EC2 job queue (default: <name_prefix>-queue); exported as SNAKEMAKE_AWS_BATCH_JOB_QUEUE."
  type        = string
  default     = null
}

variable "job_queue_priority" {
  description = "Priority of the EC2 job queue."
  type        = number
  default     = 1
}

variable "instance_types" {
  description = "EC2 instance types or families the compute environment may launch."
  type        = list(string)
  default     = ["c6i", "m6i", "r6i"]

  validation {
    condition     = length(var.instance_types) > 0
    error_message = "instance_types must name at least one instance type or family."
  }
}

variable "min_vcpus" {
  description = "vCPUs kept running when no job waits (0 scales to nothing when idle)."
  type        = number
  default     = 0

  validation {
    condition     = var.min_vcpus >= 0
    error_message = "min_vcpus must not be negative."
  }
}

variable "max_vcpus" {
  description = "Most vCPUs the EC2 compute environment runs at once."
  type        = number
  default     = 256

  validation {
    condition     = var.max_vcpus >= 1
    error_message = "max_vcpus must be at least 1."
  }
}

variable "use_spot" {
  description = "Run the EC2 compute environment on Spot instances (cheaper; AWS may reclaim an instance, the job then fails with 'Host EC2 (instance ...) terminated.' and Snakemake's --retries can rerun it)."
  type        = bool
  default     = false
}

variable "spot_bid_percentage" {
  description = "Highest Spot price as a percentage of the On-Demand price."
  type        = number
  default     = 100

  validation {
    condition     = var.spot_bid_percentage >= 1 && var.spot_bid_percentage <= 100
    error_message = "spot_bid_percentage must be between 1 and 100."
  }
}

variable "allocation_strategy" {
  description = "How instances are chosen. null picks BEST_FIT_PROGRESSIVE On-Demand and SPOT_PRICE_CAPACITY_OPTIMIZED on Spot."
  type        = string
  default     = null

  validation {
    condition = var.allocation_strategy == null ? true : contains(
      ["BEST_FIT_PROGRESSIVE", "SPOT_CAPACITY_OPTIMIZED", "SPOT_PRICE_CAPACITY_OPTIMIZED"],
      var.allocation_strategy,
    )
    error_message = "allocation_strategy must be BEST_FIT_PROGRESSIVE, SPOT_CAPACITY_OPTIMIZED or SPOT_PRICE_CAPACITY_OPTIMIZED (BEST_FIT needs a Spot fleet role and is not offered)."
  }
}

variable "ec2_image_type" {
  description = "Amazon ECS optimized image the instances boot (ECS_AL2023, ECS_AL2, ECS_AL2_NVIDIA, ...)."
  type        = string
  default     = "ECS_AL2023"
}

variable "launch_template_name" {
  description = "Name of the instances' launch template (default: <name_prefix>-instances)."
  type        = string
  default     = null
}

variable "root_volume_size_gib" {
  description = "Size of each instance's encrypted root volume, which holds images and the jobs' scratch space."
  type        = number
  default     = 50

  validation {
    condition     = var.root_volume_size_gib >= 30
    error_message = "root_volume_size_gib must be at least 30 (the size of the ECS optimized image)."
  }
}

variable "root_volume_type" {
  description = "EBS volume type of the instances' root volume."
  type        = string
  default     = "gp3"
}

variable "root_device_name" {
  description = "Device name of the image's root volume (/dev/xvda for the Amazon Linux ECS optimized images)."
  type        = string
  default     = "/dev/xvda"
}

variable "instance_metadata_hop_limit" {
  description = "Hops an instance metadata (IMDSv2) response may travel. 1 keeps containers from reading the instance role's credentials; jobs use the job role instead."
  type        = number
  default     = 1
}

# ---------------------------------------------------------------------------
# Compute: Fargate
# ---------------------------------------------------------------------------

variable "enable_fargate" {
  description = "Also create a Fargate compute environment and its job queue (exported as SNAKEMAKE_AWS_BATCH_FARGATE_JOB_QUEUE)."
  type        = bool
  default     = false
}

variable "fargate_use_spot" {
  description = "Run the Fargate compute environment on Fargate Spot."
  type        = bool
  default     = false
}

variable "fargate_compute_environment_name" {
  description = "Name of the Fargate compute environment (default: <name_prefix>-fargate)."
  type        = string
  default     = null
}

variable "fargate_job_queue_name" {
  description = "Name of the Fargate job queue (default: <name_prefix>-fargate-queue)."
  type        = string
  default     = null
}

variable "fargate_max_vcpus" {
  description = "Most vCPUs the Fargate compute environment runs at once."
  type        = number
  default     = 64

  validation {
    condition     = var.fargate_max_vcpus >= 1
    error_message = "fargate_max_vcpus must be at least 1."
  }
}

variable "fargate_job_queue_priority" {
  description = "Priority of the Fargate job queue."
  type        = number
  default     = 1
}

# ---------------------------------------------------------------------------
# IAM
# ---------------------------------------------------------------------------

variable "create_batch_service_linked_role" {
  description = "Create the AWSServiceRoleForBatch service-linked role. Leave false if the account already has it (any earlier use of AWS Batch creates it; AWS Batch also creates it on the first compute environment)."
  type        = bool
  default     = false
}

variable "instance_role_name" {
  description = "Name of the ECS instance role and its instance profile (default: <name_prefix>-ecs-instance)."
  type        = string
  default     = null
}

variable "job_role_name" {
  description = "Name of the job role, the role the jobs' containers run as (default: <name_prefix>-job)."
  type        = string
  default     = null
}

variable "job_role_policy_arns" {
  description = "Further managed policies for the job role (e.g. read access to reference data in another bucket)."
  type        = list(string)
  default     = []
}

variable "execution_role_name" {
  description = "Name of the execution role, which pulls images, reads secrets and writes logs (default: <name_prefix>-execution)."
  type        = string
  default     = null
}

variable "secrets_manager_arns" {
  description = "Secrets Manager secret ARNs the execution role may read (secretsmanager:GetSecretValue), for --aws-batch-secrets."
  type        = list(string)
  default     = []
}

variable "ssm_parameter_arns" {
  description = "SSM Parameter Store parameter ARNs the execution role may read (ssm:GetParameters), for --aws-batch-secrets."
  type        = list(string)
  default     = []
}

variable "secrets_kms_key_arns" {
  description = "Customer managed KMS keys that encrypt those secrets or parameters (kms:Decrypt for the execution role); not needed for AWS managed keys."
  type        = list(string)
  default     = []
}

variable "user_policy_name" {
  description = "Name of the IAM policy for the people who run Snakemake (default: <name_prefix>-user)."
  type        = string
  default     = null
}

variable "user_policy_group_names" {
  description = "IAM groups the user policy is attached to."
  type        = list(string)
  default     = []
}

variable "user_policy_role_names" {
  description = "IAM roles the user policy is attached to (e.g. an SSO permission set's role or a CI role)."
  type        = list(string)
  default     = []
}

variable "job_definition_name_prefix" {
  description = "Names of the job definitions the user policy lets people register and submit to. The plugin names its definitions snakemake-<hash>."
  type        = string
  default     = "snakemake-"
}

variable "extra_job_definition_arns" {
  description = "Existing job definitions (ARNs, wildcards allowed) people may submit to with --aws-batch-job-definition."
  type        = list(string)
  default     = []
}

# ---------------------------------------------------------------------------
# Storage and logs
# ---------------------------------------------------------------------------

variable "bucket_name" {
  description = "Name of the workflow bucket (default: a unique name starting with <name_prefix>-)."
  type        = string
  default     = null
}

variable "storage_prefix" {
  description = "Key prefix inside the bucket for Snakemake's --default-storage-prefix."
  type        = string
  default     = "workflows"
}

variable "bucket_versioning" {
  description = "Keep earlier versions of overwritten or deleted objects (they expire after noncurrent_version_expiration_days)."
  type        = bool
  default     = true
}

variable "noncurrent_version_expiration_days" {
  description = "Days an overwritten or deleted object's earlier version is kept."
  type        = number
  default     = 30
}

variable "abort_incomplete_upload_days" {
  description = "Days after which unfinished multipart uploads are removed."
  type        = number
  default     = 7
}

variable "bucket_force_destroy" {
  description = "Let terraform destroy delete the bucket with everything in it."
  type        = bool
  default     = false
}

variable "create_log_group" {
  description = "Create the jobs' log group. Set false if it already exists in the account (AWS Batch creates /aws/batch/job on first use); it is then used as it is."
  type        = bool
  default     = true
}

variable "log_group_name" {
  description = "CloudWatch log group of the jobs' output. The plugin's job definitions log to AWS Batch's default, /aws/batch/job; change this only together with a job definition of your own (--aws-batch-job-definition) that logs elsewhere."
  type        = string
  default     = "/aws/batch/job"
}

variable "log_retention_days" {
  description = "Days the jobs' logs are kept."
  type        = number
  default     = 365

  validation {
    condition = contains(
      [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653],
      var.log_retention_days,
    )
    error_message = "log_retention_days must be a retention CloudWatch Logs offers (1, 3, 5, 7, 14, 30, 60, 90, ... 365, ... 3653)."
  }
}

variable "kms_alias_name" {
  description = "Alias of the KMS key that encrypts the bucket, the log groups and the EFS file system (default: alias/<name_prefix>)."
  type        = string
  default     = null
}

variable "kms_deletion_window_days" {
  description = "Days a scheduled deletion of the KMS key can still be cancelled."
  type        = number
  default     = 30
}

# ---------------------------------------------------------------------------
# Shared file system (EFS)
# ---------------------------------------------------------------------------

variable "enable_efs" {
  description = "Create an EFS file system the jobs can mount (mount targets in the job subnets, an access point, a TLS-only policy); its --aws-batch-volumes value is exported as SNAKEMAKE_AWS_BATCH_VOLUMES."
  type        = bool
  default     = false
}

variable "efs_name" {
  description = "Name tag and creation token of the EFS file system and its access point (default: <name_prefix>-efs)."
  type        = string
  default     = null
}

variable "efs_security_group_name" {
  description = "Name of the EFS mount targets' security group (default: <name_prefix>-efs-mount-targets)."
  type        = string
  default     = null
}

variable "efs_performance_mode" {
  description = "EFS performance mode: generalPurpose (lowest latency, the right choice for almost every workflow) or maxIO."
  type        = string
  default     = "generalPurpose"

  validation {
    condition     = contains(["generalPurpose", "maxIO"], var.efs_performance_mode)
    error_message = "efs_performance_mode must be generalPurpose or maxIO."
  }
}

variable "efs_throughput_mode" {
  description = "EFS throughput mode: elastic (scales with the jobs, billed per byte moved), bursting (grows with the stored size) or provisioned (efs_provisioned_throughput_mibps, billed by the hour)."
  type        = string
  default     = "elastic"

  validation {
    condition     = contains(["elastic", "bursting", "provisioned"], var.efs_throughput_mode)
    error_message = "efs_throughput_mode must be elastic, bursting or provisioned."
  }
}

variable "efs_provisioned_throughput_mibps" {
  description = "Throughput in MiB/s when efs_throughput_mode is provisioned."
  type        = number
  default     = null

  validation {
    condition     = var.efs_provisioned_throughput_mibps == null ? true : var.efs_provisioned_throughput_mibps >= 1
    error_message = "efs_provisioned_throughput_mibps must be at least 1."
  }
}

variable "efs_root_directory" {
  description = "Directory of the file system the access point exposes as the volume's root; EFS creates it on first use."
  type        = string
  default     = "/snakemake"

  validation {
    condition     = can(regex("^(/[^/]+){1,4}$", var.efs_root_directory)) && length(var.efs_root_directory) <= 100
    error_message = "efs_root_directory must be an absolute path of one to four directories without a trailing '/' (at most 100 characters), e.g. /snakemake."
  }
}

variable "efs_posix_uid" {
  description = "POSIX user id every file operation through the access point runs as, and the owner of efs_root_directory."
  type        = number
  default     = 1000

  validation {
    condition     = var.efs_posix_uid >= 0 && var.efs_posix_uid <= 4294967295 && floor(var.efs_posix_uid) == var.efs_posix_uid
    error_message = "efs_posix_uid must be a whole number from 0 to 4294967295."
  }
}

variable "efs_posix_gid" {
  description = "POSIX group id every file operation through the access point runs as, and the group of efs_root_directory."
  type        = number
  default     = 1000

  validation {
    condition     = var.efs_posix_gid >= 0 && var.efs_posix_gid <= 4294967295 && floor(var.efs_posix_gid) == var.efs_posix_gid
    error_message = "efs_posix_gid must be a whole number from 0 to 4294967295."
  }
}

variable "efs_root_directory_permissions" {
  description = "Octal permissions efs_root_directory is created with."
  type        = string
  default     = "0755"

  validation {
    condition     = can(regex("^[0-7]{3,4}$", var.efs_root_directory_permissions))
    error_message = "efs_root_directory_permissions must be octal permissions such as 0755."
  }
}

variable "efs_container_path" {
  description = "Where SNAKEMAKE_AWS_BATCH_VOLUMES mounts the file system in the jobs' containers."
  type        = string
  default     = "/mnt/efs"

  validation {
    condition     = startswith(var.efs_container_path, "/")
    error_message = "efs_container_path must be an absolute path, e.g. /mnt/efs."
  }
}

# ---------------------------------------------------------------------------
# Detached runs: the coordinator (coordinator.tf)
# ---------------------------------------------------------------------------

variable "enable_coordinator" {
  description = "Create the coordinator role, its On-Demand Fargate queue and the policy to launch coordinators, for detached runs (snakemake-aws-batch run)."
  type        = bool
  default     = true
}

variable "coordinator_max_vcpus" {
  description = "vCPUs the coordinator queue's Fargate compute environment may run at once (each detached run's coordinator takes 1 by default)."
  type        = number
  default     = 4
}
