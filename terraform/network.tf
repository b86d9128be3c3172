# A VPC with subnets in at least two availability zones. Jobs run either in private
# subnets behind NAT gateways (default) or in public subnets with public IP addresses.
# Either way the jobs' security group allows no inbound traffic.

data "aws_availability_zones" "available" {
  state = "available"

  filter {
    name   = "opt-in-status"
    values = ["opt-in-not-required"]
  }
}

locals {
  azs = (
    length(var.availability_zones) > 0
    ? var.availability_zones
    : slice(data.aws_availability_zones.available.names, 0, var.az_count)
  )
  private = var.subnet_type == "private"

  # The subnets the compute environments place jobs in: one per zone.
  job_subnet_ids = local.private ? aws_subnet.private[*].id : aws_subnet.public[*].id

  nat_count = local.private ? (var.nat_gateway_per_az ? length(local.azs) : 1) : 0
}

resource "aws_vpc" "main" {
  cidr_block           = var.vpc_cidr
  enable_dns_support   = true
  enable_dns_hostnames = true

  tags = { Name = local.names.vpc }
}

# The VPC's default security group loses its default rules, so nothing that lands in it
# by mistake can talk to anything.
resource "aws_default_security_group" "default" {
  vpc_id = aws_vpc.main.id

  tags = { Name = "${local.names.vpc}-default-unused" }
}

resource "aws_internet_gateway" "main" {
  vpc_id = aws_vpc.main.id

  tags = { Name = local.names.vpc }
}

# Public subnets: the jobs' subnets when subnet_type is "public", otherwise only the
# home of the NAT gateways (nothing there gets a public IP address by default).
resource "aws_subnet" "public" {
  count = length(local.azs)

  vpc_id                  = aws_vpc.main.id
  availability_zone       = local.azs[count.index]
  cidr_block              = cidrsubnet(var.vpc_cidr, var.subnet_newbits, count.index + length(local.azs))
  map_public_ip_on_launch = var.subnet_type == "public"

  tags = { Name = "${local.names.vpc}-public-${local.azs[count.index]}" }
}

resource "aws_subnet" "private" {
  count = local.private ? length(local.azs) : 0

  vpc_id            = aws_vpc.main.id
  availability_zone = local.azs[count.index]
  cidr_block        = cidrsubnet(var.vpc_cidr, var.subnet_newbits, count.index)

  tags = { Name = "${local.names.vpc}-private-${local.azs[count.index]}" }
}

resource "aws_route_table" "public" {
  vpc_id = aws_vpc.main.id

  tags = { Name = "${local.names.vpc}-public" }
}

resource "aws_route" "public_internet" {
  route_table_id         = aws_route_table.public.id
  destination_cidr_block = "0.0.0.0/0"
  gateway_id             = aws_internet_gateway.main.id
}

resource "aws_route_table_association" "public" {
  count = length(local.azs)

  subnet_id      = aws_subnet.public[count.index].id
  route_table_id = aws_route_table.public.id
}

resource "aws_eip" "nat" {
  count = local.nat_count

  domain = "vpc"

  tags = { Name = "${local.names.vpc}-nat-${local.azs[count.index]}" }

  depends_on = [aws_internet_gateway.main]
}

resource "aws_nat_gateway" "main" {
  count = local.nat_count

  allocation_id = aws_eip.nat[count.index].id
  subnet_id     = aws_subnet.public[count.index].id

  tags = { Name = "${local.names.vpc}-${local.azs[count.index]}" }

  depends_on = [aws_internet_gateway.main]
}

# One route table per private subnet, so each zone can use its own NAT gateway.
resource "aws_route_table" "private" {
  count = local.private ? length(local.azs) : 0

  vpc_id = aws_vpc.main.id

  tags = { Name = "${local.names.vpc}-private-${local.azs[count.index]}" }
}

resource "aws_route" "private_nat" {
  count = local.private ? length(local.azs) : 0

  route_table_id         = aws_route_table.private[count.index].id
  destination_cidr_block = "0.0.0.0/0"
  nat_gateway_id         = aws_nat_gateway.main[var.nat_gateway_per_az ? count.index : 0].id
}

resource "aws_route_table_association" "private" {
  count = local.private ? length(local.azs) : 0

  subnet_id      = aws_subnet.private[count.index].id
  route_table_id = aws_route_table.private[count.index].id
}

# S3 traffic (workflow data, and the layers of ECR images) stays inside AWS and does not
# pass through, or pay for, a NAT gateway.
resource "aws_vpc_endpoint" "s3" {
  vpc_id            = aws_vpc.main.id
  service_name      = "com.amazonaws.${var.region}.s3"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = concat([aws_route_table.public.id], aws_route_table.private[*].id)

  tags = { Name = "${local.names.vpc}-s3" }
}

# The jobs' security group: outbound connections only. It has no ingress rule, and none
# should be added: jobs never serve anything. (The only ingress rule in this
# configuration lets the jobs reach the optional EFS mount targets, efs.tf.)
resource "aws_security_group" "jobs" {
  name        = local.names.security_group
  description = "AWS Batch jobs run by Snakemake: outbound only, no inbound traffic"
  vpc_id      = aws_vpc.main.id

  dynamic "egress" {
    for_each = var.allow_all_egress ? [] : toset(var.egress_ports)
    content {
      description = "Outbound TCP ${egress.value}"
      protocol    = "tcp"
      from_port   = egress.value
      to_port     = egress.value
      cidr_blocks = ["0.0.0.0/0"]
    }
  }

  # NFS to the EFS mount targets (enable_efs); allow_all_egress already covers it.
  dynamic "egress" {
    for_each = var.enable_efs && !var.allow_all_egress ? ["nfs"] : []
    content {
      description     = "NFS to the EFS mount targets"
      protocol        = "tcp"
      from_port       = local.nfs_port
      to_port         = local.nfs_port
      security_groups = [aws_security_group.efs[0].id]
    }
  }

  dynamic "egress" {
    for_each = var.allow_all_egress ? ["all"] : []
    content {
      description = "All outbound traffic"
      protocol    = "-1"
      from_port   = 0
      to_port     = 0
      cidr_blocks = ["0.0.0.0/0"]
    }
  }

  tags = { Name = local.names.security_group }

  lifecycle {
    create_before_destroy = true
  }
}

# VPC flow logs

resource "aws_cloudwatch_log_group" "flow_logs" {
  count = var.enable_flow_logs ? 1 : 0

  name              = local.names.flow_log_group
  retention_in_days = var.flow_log_retention_days
  kms_key_id        = aws_kms_key.main.arn
}

data "aws_iam_policy_document" "flow_logs_trust" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["vpc-flow-logs.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "flow_logs" {
  count = var.enable_flow_logs ? 1 : 0

  name               = local.names.flow_log_role
  assume_role_policy = data.aws_iam_policy_document.flow_logs_trust.json
}

data "aws_iam_policy_document" "flow_logs_write" {
  count = var.enable_flow_logs ? 1 : 0

  statement {
    actions = [
      "logs:CreateLogStream",
      "logs:PutLogEvents",
      "logs:DescribeLogGroups",
      "logs:DescribeLogStreams",
    ]
    resources = [
      aws_cloudwatch_log_group.flow_logs[0].arn,
      "${aws_cloudwatch_log_group.flow_logs[0].arn}:*",
    ]
  }
}

resource "aws_iam_role_policy" "flow_logs" {
  count = var.enable_flow_logs ? 1 : 0

  name   = "write-flow-logs"
  role   = aws_iam_role.flow_logs[0].id
  policy = data.aws_iam_policy_document.flow_logs_write[0].json
}

resource "aws_flow_log" "main" {
  count = var.enable_flow_logs ? 1 : 0

  vpc_id          = aws_vpc.main.id
  traffic_type    = var.flow_log_traffic_type
  log_destination = aws_cloudwatch_log_group.flow_logs[0].arn
  iam_role_arn    = aws_iam_role.flow_logs[0].arn
}
