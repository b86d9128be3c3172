"""Fixtures shared by the test suites: fakes, moto's plain server, the local AWS Batch.

moto's server (``endpoint``) is reset before each test that uses it; the local AWS Batch
(``local``) is one server for the session, its knobs and counters reset before each test.

``make test`` runs the tests in several processes (pytest-xdist, ``--dist loadgroup``).
Each process is a session of its own, with its own servers on ports of their own: the
counters, requests and knobs a test looks at are those of its process's servers, which
run one test at a time. Tests that share a fixture made once per module or package
(podman's service, a checkov scan, a large page) run in one process, which makes it once.
"""

from __future__ import annotations

import collections
import time
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import requests

from snakemake_aws_batch_local import LocalBatch
from snakemake_executor_plugin_aws_batch.aws import boundary

from .fakes import FakeTime, RecordingLogger

REGION = "us-east-1"
# Fixture scopes made once for several tests but not for the whole session, widest first.
SHARED_SCOPES = ("package", "module", "class")


def shared_scope(item: pytest.Item) -> str | None:
    """The widest module- or package-scoped fixture ``item`` uses, as the id of the folder
    or module it is made for; None when it uses none."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return None
    scopes = {
        definitions[-1].scope: definitions[-1].baseid
        for definitions in info.name2fixturedefs.values()
        if definitions and definitions[-1].scope in SHARED_SCOPES
    }
    module = item.nodeid.split("::")[0]
    if "package" in scopes:
        return scopes["package"] or module
    return module if scopes else None


@pytest.hookimpl(wrapper=True)
def pytest_collection_modifyitems(
    config: pytest.Config, items: list[pytest.Item]
) -> Iterator[None]:
    """Under ``--dist loadgroup``, the tests of a module (or package) that share a fixture
    of that scope form one group, which one process runs: the fixture is made once. A
    wrapper, so that the groups are marked before any other plugin's hook (pytest-xdist's
    reads them) runs."""
    if config.pluginmanager.hasplugin("xdist"):
        mark_groups(items)
    return (yield)


def mark_groups(items: list[pytest.Item]) -> None:
    groups = {item.nodeid: shared_scope(item) for item in items}
    # A module where some test uses a package's fixture goes with that package whole.
    widest = {
        item.nodeid.split("::")[0]: group
        for item in items
        if (group := groups[item.nodeid]) and group != item.nodeid.split("::")[0]
    }
    for item in items:
        group = widest.get(item.nodeid.split("::")[0], groups[item.nodeid])
        if group is not None:
            item.add_marker(pytest.mark.xdist_group(group))


@pytest.fixture
def logger() -> RecordingLogger:
    return RecordingLogger()


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


# -- moto's plain server over HTTP ------------------------------------------------------


class Calls(collections.Counter[str]):
    """Counts the API operations a client sends."""

    def __call__(self, model: Any, **_: Any) -> None:
        self[model.name] += 1


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer  # seconds to import: only where it is used

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    yield endpoint
    server.stop()


@pytest.fixture
def endpoint(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """moto's server, emptied, and this process's AWS environment pointing at it."""
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
def clients(endpoint: str) -> boundary.Clients:
    return boundary.make_clients(region=REGION)


@pytest.fixture
def calls(clients: boundary.Clients) -> Calls:
    counter = Calls()
    clients.batch.meta.events.register("before-call.batch.*", counter)
    clients.logs.meta.events.register("before-call.cloudwatch-logs.*", counter)
    return counter


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


# -- the local AWS Batch ----------------------------------------------------------------


@pytest.fixture(scope="session")
def local_batch() -> Iterator[LocalBatch]:
    """One local AWS Batch for the whole session (use ``local``, which resets it)."""
    with LocalBatch(engine="process") as local:
        yield local


@pytest.fixture
def status_pace_seconds() -> float:
    """The status pace each test starts with (a conftest below may set another)."""
    return 0.05


@pytest.fixture
def local(local_batch: LocalBatch, status_pace_seconds: float) -> LocalBatch:
    """The session's local AWS Batch: every knob at its default but the pace, no job of an
    earlier test left, no calls counted."""
    local_batch.reset_knobs(status_pace_seconds=status_pace_seconds)
    end_leftover_jobs(local_batch)
    local_batch.reset_calls()
    return local_batch


ACTIVE_STATUSES = ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING")


def end_leftover_jobs(local: LocalBatch, timeout: float = 60.0) -> None:
    """Terminate the jobs earlier tests left behind (a cancelled coordinator, a job a test
    stopped watching), and wait until they have ended: a coordinator still describing its
    workers would otherwise count in the next test's calls."""
    if not local.health()["active_jobs"]:
        return
    batch = client(local, "batch")
    queues = [q["jobQueueName"] for q in batch.describe_job_queues()["jobQueues"]]
    for queue in queues:
        for status in ACTIVE_STATUSES:
            listed = batch.list_jobs(jobQueue=queue, jobStatus=status)["jobSummaryList"]
            for summary in listed:
                batch.terminate_job(jobId=summary["jobId"], reason="left by an earlier test")
    deadline = time.monotonic() + timeout
    while local.health()["active_jobs"] and time.monotonic() < deadline:
        time.sleep(0.1)


def client(local: LocalBatch, service: str) -> Any:
    """A boto3 client of the local endpoint, with the credentials of a client outside AWS."""
    env = local.env()
    return boto3.client(
        service,  # type: ignore[call-overload]
        endpoint_url=local.endpoint_url,
        region_name=local.region,
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )


def definition(batch: Any, command: str) -> str:
    """Register a job definition running ``/bin/sh -c command``; returns its name."""
    name = f"def-{uuid.uuid4().hex[:8]}"
    batch.register_job_definition(
        jobDefinitionName=name,
        type="container",
        containerProperties={
            "image": "local/ignored:latest",
            "command": ["/bin/sh", "-c", command],
            "resourceRequirements": [
                {"type": "VCPU", "value": "1"},
                {"type": "MEMORY", "value": "1024"},
            ],
        },
    )
    return name
