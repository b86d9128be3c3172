"""The AWS resources every local endpoint starts with, created through its own API."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

import boto3
from botocore.exceptions import ClientError

from .joblog import LOG_GROUP
from .runtime import CLIENT_ACCESS_KEY_ID, CLIENT_SECRET_ACCESS_KEY

JOB_QUEUE = "snakemake-local-queue"
FARGATE_JOB_QUEUE = "snakemake-local-fargate-queue"
EC2_COMPUTE_ENVIRONMENT = "snakemake-local-ec2"
FARGATE_COMPUTE_ENVIRONMENT = "snakemake-local-fargate"
JOB_ROLE = "snakemake-local-job-role"
EXECUTION_ROLE = "snakemake-local-execution-role"
SERVICE_ROLE = "snakemake-local-batch-service-role"
BUCKET = "snakemake-local"
STORAGE_PREFIX = f"s3://{BUCKET}/workdir"


def _trust(service: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
            ],
        }
    )


@dataclass(frozen=True)
class Resources:
    """Where the local endpoint is and what it holds."""

    endpoint_url: str
    region: str
    job_queue: str = JOB_QUEUE
    fargate_job_queue: str = FARGATE_JOB_QUEUE
    job_role_arn: str = ""
    execution_role_arn: str = ""
    bucket: str = BUCKET
    storage_prefix: str = STORAGE_PREFIX
    control_url: str = ""

    def env(self) -> dict[str, str]:
        """The environment that points AWS clients, Snakemake and the plugin at this endpoint."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": CLIENT_ACCESS_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": CLIENT_SECRET_ACCESS_KEY,
            "AWS_DEFAULT_REGION": self.region,
            "SNAKEMAKE_AWS_BATCH_REGION": self.region,
            "SNAKEMAKE_AWS_BATCH_JOB_QUEUE": self.job_queue,
            "SNAKEMAKE_AWS_BATCH_JOB_ROLE": self.job_role_arn,
            "SNAKEMAKE_AWS_BATCH_EXECUTION_ROLE": self.execution_role_arn,
            "SNAKEMAKE_STORAGE_S3_ENDPOINT_URL": self.endpoint_url,
            "SNAKEMAKE_AWS_BATCH_LOCAL_STORAGE_PREFIX": self.storage_prefix,
            "SNAKEMAKE_AWS_BATCH_LOCAL_CONTROL_URL": self.control_url,
        }

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Resources:
        return cls(**json.loads(text))


def _client(service: str, endpoint_url: str, region: str) -> Any:
    return boto3.client(
        service,  # type: ignore[call-overload]
        endpoint_url=endpoint_url,
        region_name=region,
        aws_access_key_id=CLIENT_ACCESS_KEY_ID,
        aws_secret_access_key=CLIENT_SECRET_ACCESS_KEY,
    )


def _role(iam: Any, name: str, service: str) -> str:
    try:
        created = iam.create_role(RoleName=name, AssumeRolePolicyDocument=_trust(service))
        return str(created["Role"]["Arn"])
    except ClientError as err:
        if err.response["Error"]["Code"] != "EntityAlreadyExists":
            raise
        return str(iam.get_role(RoleName=name)["Role"]["Arn"])


def _compute_environments(batch: Any, ec2: Any, service_role: str) -> None:
    existing = {
        ce["computeEnvironmentName"]
        for ce in batch.describe_compute_environments()["computeEnvironments"]
    }
    if EC2_COMPUTE_ENVIRONMENT not in existing:
        batch.create_compute_environment(
            computeEnvironmentName=EC2_COMPUTE_ENVIRONMENT,
            type="UNMANAGED",
            state="ENABLED",
            serviceRole=service_role,
        )
    if FARGATE_COMPUTE_ENVIRONMENT not in existing:
        vpc = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0]
        subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])
        groups = ec2.describe_security_groups(
            Filters=[
                {"Name": "vpc-id", "Values": [vpc["VpcId"]]},
                {"Name": "group-name", "Values": ["default"]},
            ]
        )
        batch.create_compute_environment(
            computeEnvironmentName=FARGATE_COMPUTE_ENVIRONMENT,
            type="MANAGED",
            state="ENABLED",
            serviceRole=service_role,
            computeResources={
                "type": "FARGATE",
                "maxvCpus": 256,
                "subnets": [s["SubnetId"] for s in subnets["Subnets"]][:2],
                "securityGroupIds": [g["GroupId"] for g in groups["SecurityGroups"]][:1],
            },
        )


def _queues(batch: Any) -> None:
    existing = {q["jobQueueName"] for q in batch.describe_job_queues()["jobQueues"]}
    for queue, environment in (
        (JOB_QUEUE, EC2_COMPUTE_ENVIRONMENT),
        (FARGATE_JOB_QUEUE, FARGATE_COMPUTE_ENVIRONMENT),
    ):
        if queue not in existing:
            batch.create_job_queue(
                jobQueueName=queue,
                state="ENABLED",
                priority=1,
                computeEnvironmentOrder=[{"order": 1, "computeEnvironment": environment}],
            )


def create_resources(endpoint_url: str, region: str, *, control_url: str = "") -> Resources:
    """Roles, compute environments, queues, bucket and log group (kept if already there)."""
    iam = _client("iam", endpoint_url, region)
    job_role = _role(iam, JOB_ROLE, "ecs-tasks.amazonaws.com")
    execution_role = _role(iam, EXECUTION_ROLE, "ecs-tasks.amazonaws.com")
    service_role = _role(iam, SERVICE_ROLE, "batch.amazonaws.com")
    batch = _client("batch", endpoint_url, region)
    _compute_environments(batch, _client("ec2", endpoint_url, region), service_role)
    _queues(batch)
    s3 = _client("s3", endpoint_url, region)
    try:
        if region == "us-east-1":
            s3.create_bucket(Bucket=BUCKET)
        else:
            s3.create_bucket(
                Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": region}
            )
    except ClientError as err:
        if err.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise
    logs = _client("logs", endpoint_url, region)
    try:
        logs.create_log_group(logGroupName=LOG_GROUP)
    except ClientError as err:
        if err.response["Error"]["Code"] != "ResourceAlreadyExistsException":
            raise
    return Resources(
        endpoint_url=endpoint_url,
        region=region,
        job_role_arn=job_role,
        execution_role_arn=execution_role,
        control_url=control_url,
    )
