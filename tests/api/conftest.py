"""A moto server over real HTTP, shared by the API tests and reset between them."""

from __future__ import annotations

import collections
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import requests
from moto.server import ThreadedMotoServer

from snakemake_executor_plugin_aws_batch import aws

REGION = "us-east-1"


class Calls(collections.Counter[str]):
    """Counts the API operations a client sends."""

    def __call__(self, model: Any, **_: Any) -> None:
        self[model.name] += 1


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    yield endpoint
    server.stop()


@pytest.fixture
def endpoint(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    requests.post(f"{moto_endpoint}/moto-api/reset", timeout=10).raise_for_status()
    requests.post(
        f"{moto_endpoint}/moto-api/config", json={"batch": {"use_docker": False}}, timeout=10
    ).raise_for_status()
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    return moto_endpoint


@pytest.fixture
def clients(endpoint: str) -> aws.Clients:
    return aws.make_clients(region=REGION)


@pytest.fixture
def calls(clients: aws.Clients) -> Calls:
    counter = Calls()
    clients.batch.meta.events.register("before-call.batch.*", counter)
    clients.logs.meta.events.register("before-call.cloudwatch-logs.*", counter)
    return counter


class Logger:
    def __init__(self) -> None:
        self.records: list[tuple[str, str]] = []

    def warning(self, msg: str) -> None:
        self.records.append(("warning", msg))

    def info(self, msg: str) -> None:
        self.records.append(("info", msg))

    def debug(self, msg: str) -> None:
        self.records.append(("debug", msg))

    def error(self, msg: str) -> None:
        self.records.append(("error", msg))

    def of(self, level: str) -> list[str]:
        return [msg for lvl, msg in self.records if lvl == level]


@pytest.fixture
def logger() -> Logger:
    return Logger()


def make_queue(endpoint: str, *, fargate: bool = False, name: str = "queue") -> str:
    """An AWS Batch queue on a compute environment of the given kind; returns its name."""
    session = boto3.session.Session(region_name=REGION)
    iam = session.client("iam")
    role = iam.create_role(RoleName=f"{name}-service", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    batch = session.client("batch")
    if fargate:
        ec2 = session.client("ec2")
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
        group = ec2.create_security_group(GroupName=f"{name}-sg", Description="x", VpcId=vpc)[
            "GroupId"
        ]
        environment = batch.create_compute_environment(
            computeEnvironmentName=f"{name}-ce",
            type="MANAGED",
            state="ENABLED",
            computeResources={
                "type": "FARGATE",
                "maxvCpus": 16,
                "subnets": [subnet],
                "securityGroupIds": [group],
            },
            serviceRole=role,
        )
    else:
        environment = batch.create_compute_environment(
            computeEnvironmentName=f"{name}-ce", type="UNMANAGED", state="ENABLED", serviceRole=role
        )
    batch.create_job_queue(
        jobQueueName=name,
        state="ENABLED",
        priority=1,
        computeEnvironmentOrder=[
            {"order": 1, "computeEnvironment": environment["computeEnvironmentArn"]}
        ],
    )
    return name
