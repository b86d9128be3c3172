"""Submission pacing, job environments and the job definition registry."""

from __future__ import annotations

import threading
import time

import pytest
from snakemake_interface_common.exceptions import WorkflowError

from snakemake_executor_plugin_aws_batch import requests
from snakemake_executor_plugin_aws_batch.definitions import DefinitionRegistry
from snakemake_executor_plugin_aws_batch.environment import job_environment
from snakemake_executor_plugin_aws_batch.platform import Platform
from snakemake_executor_plugin_aws_batch.spec import DefinitionSpec
from snakemake_executor_plugin_aws_batch.submission import RateLimiter, Submitter, Tracked


class FakeTime:
    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.mark.parametrize(("burst", "minimum"), [(None, 1.8), (1, 1.98)])
def test_rate_limiter_paces_acquisitions(burst, minimum):
    fake = FakeTime()
    limiter = RateLimiter(50, burst=burst, clock=fake.clock)
    for _ in range(100):
        limiter.acquire(sleep=fake.sleep)
    assert fake.now >= minimum - 1e-6
    assert fake.now <= 2.0 + 1e-6
    assert all(s > 0 for s in fake.sleeps)


def test_rate_limiter_burst_is_free():
    fake = FakeTime()
    limiter = RateLimiter(50, burst=10, clock=fake.clock)
    for _ in range(10):
        limiter.acquire(sleep=fake.sleep)
    assert fake.now == 0.0
    limiter.acquire(sleep=fake.sleep)
    assert fake.now == pytest.approx(0.02)


def test_rate_limiter_refuses_non_positive_rate():
    with pytest.raises(ValueError, match="positive"):
        RateLimiter(0)


class ListLogger:
    def __init__(self):
        self.records = []

    def warning(self, msg):
        self.records.append(("warning", msg))

    def info(self, msg):
        self.records.append(("info", msg))

    def debug(self, msg):
        self.records.append(("debug", msg))

    def levels(self, level):
        return [m for lvl, m in self.records if lvl == level]


VARIABLES = {
    "MY_SETTING": "1",
    "AWS_SECRET_ACCESS_KEY": "secret",
    "AWS_ACCESS_KEY_ID": "id",
    "SNAKEMAKE_STORAGE_S3_SECRET_KEY": "s3secret",
    "SNAKEMAKE_STORAGE_S3_ENDPOINT_URL": "http://s3",
}
STORAGE = ["SNAKEMAKE_STORAGE_S3_SECRET_KEY", "SNAKEMAKE_STORAGE_S3_ENDPOINT_URL"]


def test_environment_drops_credentials():
    logger = ListLogger()
    env = job_environment(
        VARIABLES, storage_variables=STORAGE, forward_storage_credentials=False, logger=logger
    )
    assert env == {"MY_SETTING": "1", "SNAKEMAKE_STORAGE_S3_ENDPOINT_URL": "http://s3"}
    assert logger.levels("warning") == []
    assert len(logger.levels("info")) == 1
    assert "AWS_SECRET_ACCESS_KEY" in logger.levels("info")[0]
    assert "SNAKEMAKE_STORAGE_S3_SECRET_KEY" in logger.levels("info")[0]


def test_environment_forwards_storage_credentials_with_warning():
    logger = ListLogger()
    env = job_environment(
        VARIABLES, storage_variables=STORAGE, forward_storage_credentials=True, logger=logger
    )
    assert env["SNAKEMAKE_STORAGE_S3_SECRET_KEY"] == "s3secret"
    assert "AWS_SECRET_ACCESS_KEY" not in env
    assert "AWS_ACCESS_KEY_ID" not in env
    warnings = logger.levels("warning")
    assert len(warnings) == 1
    assert "SNAKEMAKE_STORAGE_S3_SECRET_KEY" in warnings[0]


def test_environment_secret_name_outside_storage_is_kept():
    env = job_environment(
        {"MY_API_TOKEN": "t"},
        storage_variables=[],
        forward_storage_credentials=False,
        logger=ListLogger(),
    )
    assert env == {"MY_API_TOKEN": "t"}


def test_environment_reserved_prefix_is_error():
    with pytest.raises(WorkflowError, match=r"AWS_BATCH_X.*reserved"):
        job_environment(
            {"AWS_BATCH_X": "1"},
            storage_variables=[],
            forward_storage_credentials=False,
            logger=ListLogger(),
        )


SPEC = DefinitionSpec(
    image="img",
    platform=Platform.EC2,
    job_role=None,
    execution_role=None,
    secrets=(),
    assign_public_ip=False,
    ephemeral_storage_gib=None,
)


def test_registry_registers_once_under_concurrency():
    lookups = []
    registered = []
    start = threading.Barrier(20)

    def lookup(name):
        lookups.append(name)
        time.sleep(0.01)

    def register(request):
        registered.append(request["jobDefinitionName"])
        time.sleep(0.02)
        return f"arn:aws:batch:us-east-1:1:job-definition/{request['jobDefinitionName']}:1"

    registry = DefinitionRegistry(build=requests.job_definition, lookup=lookup, register=register)
    results = []

    def worker():
        start.wait()
        results.append(registry.arn(SPEC))

    threads = [threading.Thread(target=worker) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    name = requests.job_definition(SPEC)["jobDefinitionName"]
    assert registered == [name]
    assert len(lookups) == 1
    assert len(results) == 20
    assert set(results) == {f"arn:aws:batch:us-east-1:1:job-definition/{name}:1"}
    assert registry.registered == [results[0]]


def test_registry_lookup_hit_never_registers():
    def register(request):
        raise AssertionError("register must not be called")

    registry = DefinitionRegistry(
        build=requests.job_definition, lookup=lambda name: "arn:existing", register=register
    )
    assert registry.arn(SPEC) == "arn:existing"
    assert registry.arn(SPEC) == "arn:existing"
    assert registry.registered == []


def test_registry_different_specs_resolved_separately():
    names = []
    registry = DefinitionRegistry(
        build=requests.job_definition,
        lookup=lambda name: None,
        register=lambda request: names.append(request["jobDefinitionName"]) or f"arn:{len(names)}",
    )
    other = DefinitionSpec(
        image="img2",
        platform=Platform.EC2,
        job_role=None,
        execution_role=None,
        secrets=(),
        assign_public_ip=False,
        ephemeral_storage_gib=None,
    )
    assert registry.arn(SPEC) == "arn:1"
    assert registry.arn(other) == "arn:2"
    assert len(set(names)) == 2


def test_submitter_records_id_and_errors():
    sent = []

    def send(request, marker):
        sent.append((request["jobDefinition"], marker))
        return "batch-id-1"

    def resolve(definition):
        if definition == "bad":
            raise WorkflowError("cannot resolve")
        return f"arn:{definition}"

    submitter = Submitter(send=send, resolve=resolve, rate=1000)
    ok = Tracked(name="n1", rule="r", queue="q", request="1 vCPU", marker="m1")
    bad = Tracked(name="n2", rule="r", queue="q", request="1 vCPU", marker="m2")
    submitter.submit(ok, {}, "good")
    submitter.submit(bad, {}, "bad")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not all(t.batch_id or t.error for t in (ok, bad)):
        time.sleep(0.01)
    assert submitter.stop(timeout=10) is True
    assert ok.batch_id == "batch-id-1"
    assert ok.error is None
    assert bad.batch_id is None
    assert bad.error == "cannot resolve"
    assert sent == [("arn:good", "m1")]
