"""BatchService's exactly-once submission and its one error contract, on botocore's Stubber.

The probabilistic test of the same (answers lost at random) runs against the local
endpoint in the e2e suite; here each lost answer is placed exactly.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from snakemake_executor_plugin_aws_batch.aws import boundary
from snakemake_executor_plugin_aws_batch.aws import service as service_module
from snakemake_executor_plugin_aws_batch.aws.boundary import BatchError, Clients
from snakemake_executor_plugin_aws_batch.aws.service import MARKER_VARIABLE, BatchService
from snakemake_executor_plugin_aws_batch.jobspec.platform import Platform

from ..fakes import RecordingLogger

MARKER = uuid.UUID(int=7)
REQUEST = {
    "jobName": "snakejob-r-1",
    "jobQueue": "q",
    "jobDefinition": "def:1",
    "containerOverrides": {"command": ["/bin/sh", "-c", "true"]},
}


class Pace:
    def __init__(self) -> None:
        self.events: list[str] = []

    def acquire(self) -> None:
        self.events.append("acquire")

    def throttled(self) -> None:
        self.events.append("throttled")


def client(name: str) -> Any:
    return boto3.client(
        name,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture
def stubbed(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[BatchService, Stubber]]:
    monkeypatch.setattr(service_module.uuid, "uuid4", lambda: MARKER)
    batch = client("batch")
    with Stubber(batch) as stubber:
        yield BatchService(Clients(batch=batch, logs=client("logs")), RecordingLogger()), stubber
        stubber.assert_no_pending_responses()


def lost_answer(stubber: Stubber) -> None:
    stubber.add_client_error("submit_job", service_error_code="InternalError", http_status_code=500)


def listed(stubber: Stubber, *job_ids: str) -> None:
    stubber.add_response(
        "list_jobs",
        {"jobSummaryList": [{"jobId": i, "jobName": REQUEST["jobName"]} for i in job_ids]},
        {"jobQueue": "q", "filters": [{"name": "JOB_NAME", "values": [REQUEST["jobName"]]}]},
    )


def described(stubber: Stubber, job_id: str, marker: str) -> None:
    job = {
        "jobId": job_id,
        "jobName": REQUEST["jobName"],
        "jobArn": f"arn:aws:batch:us-east-1:123456789012:job/{job_id}",
        "jobQueue": "q",
        "jobDefinition": "def:1",
        "status": "SUBMITTED",
        "startedAt": 0,
        "container": {"environment": [{"name": MARKER_VARIABLE, "value": marker}]},
    }
    stubber.add_response("describe_jobs", {"jobs": [job]}, {"jobs": [job_id]})


def accepted(stubber: Stubber, job_id: str) -> None:
    stubber.add_response("submit_job", {"jobName": REQUEST["jobName"], "jobId": job_id})


def test_a_lost_answer_whose_job_exists_is_not_sent_again(stubbed):
    service, stubber = stubbed
    lost_answer(stubber)
    listed(stubber, "job-1")
    described(stubber, "job-1", MARKER.hex)
    pace = Pace()
    assert service.submit(REQUEST, rule="r", pace=pace) == "job-1"
    assert pace.events == []


def test_a_lost_answer_without_its_job_is_sent_again_once(stubbed):
    service, stubber = stubbed
    lost_answer(stubber)
    listed(stubber, "other-run")
    described(stubber, "other-run", "0" * 32)  # same name, another submission's marker
    accepted(stubber, "job-2")
    pace = Pace()
    assert service.submit(REQUEST, rule="r", pace=pace) == "job-2"
    assert pace.events == ["acquire"]  # the call sent again waited for its token


def test_the_request_sent_carries_the_marker_and_the_caller_keeps_its_own(stubbed):
    service, stubber = stubbed
    expected = {
        **REQUEST,
        "containerOverrides": {
            "command": ["/bin/sh", "-c", "true"],
            "environment": [{"name": MARKER_VARIABLE, "value": MARKER.hex}],
        },
    }
    stubber.add_response("submit_job", {"jobName": REQUEST["jobName"], "jobId": "j"}, expected)
    assert service.submit(REQUEST, rule="r") == "j"
    assert "environment" not in REQUEST["containerOverrides"]


def test_a_refused_submission_names_the_job_rule_queue_and_region(stubbed):
    service, stubber = stubbed
    stubber.add_client_error(
        "submit_job", service_error_code="ClientException", service_message="no such queue"
    )
    with pytest.raises(BatchError) as info:
        service.submit(REQUEST, rule="r")
    assert str(info.value) == (
        "AWS Batch refused job snakejob-r-1 of rule 'r' on queue q in region "
        f"{service._batch.meta.region_name}: ClientException: no such queue"
    )


def test_a_throttle_is_reported_to_the_pace_before_the_call_is_sent_again(stubbed):
    service, stubber = stubbed
    stubber.add_client_error(
        "submit_job", service_error_code="TooManyRequestsException", http_status_code=429
    )
    accepted(stubber, "job-3")
    pace = Pace()
    assert service.submit(REQUEST, rule="r", pace=pace) == "job-3"
    assert pace.events == ["throttled", "acquire"]


@pytest.mark.parametrize(
    ("operation", "call", "message"),
    [
        (
            "describe_jobs",
            lambda s: s.describe(["a"]),
            "AWS Batch API DescribeJobs failed: ClientException: nope",
        ),
        (
            "terminate_job",
            lambda s: s.terminate("a", "why"),
            "AWS Batch API TerminateJob failed: ClientException: nope",
        ),
        (
            "describe_job_definitions",
            lambda s: s.find_definition("d"),
            "AWS Batch API DescribeJobDefinitions failed: ClientException: nope",
        ),
        (
            "describe_job_queues",
            lambda s: s.platform("q"),
            "AWS Batch API DescribeJobQueues failed: ClientException: nope",
        ),
        (
            "list_jobs",
            lambda s: s.children("arr", "FAILED"),
            "AWS Batch API ListJobs failed: ClientException: nope",
        ),
    ],
)
def test_every_public_method_raises_batch_error(stubbed, operation, call, message):
    service, stubber = stubbed
    stubber.add_client_error(
        operation, service_error_code="ClientException", service_message="nope"
    )
    with pytest.raises(BatchError) as info:
        call(service)
    assert str(info.value) == message


def test_a_missing_queue_is_a_batch_error(stubbed):
    service, stubber = stubbed
    stubber.add_response("describe_job_queues", {"jobQueues": []})
    with pytest.raises(BatchError, match="'q' does not exist in this account in region us-east-1"):
        service.platform("q")


# The children of an array job -------------------------------------------------------------


def children_page(
    stubber: Stubber, indexes: list[int], status: str, token: str | None, next_token: str | None
) -> None:
    """One ListJobs page of array ``arr``'s children; the first carries no index of its own."""
    summaries: list[dict[str, Any]] = [
        {"jobId": f"arr:{i}", "jobName": "snakejob-map-1", "arrayProperties": {"index": i}}
        for i in indexes
    ]
    if summaries and token is None:
        del summaries[0]["arrayProperties"]  # the index is then read from the id
    answer: dict[str, Any] = {"jobSummaryList": summaries}
    if next_token is not None:
        answer["nextToken"] = next_token
    expected: dict[str, Any] = {"arrayJobId": "arr", "jobStatus": status, "maxResults": 1000}
    if token is not None:
        expected["nextToken"] = token
    stubber.add_response("list_jobs", answer, expected)


def test_children_are_read_page_by_page(stubbed: tuple[BatchService, Stubber]) -> None:
    service, stubber = stubbed
    children_page(stubber, [0, 2, 5], "SUCCEEDED", None, "t1")
    children_page(stubber, [7, 1000], "SUCCEEDED", "t1", "t2")
    children_page(stubber, [], "SUCCEEDED", "t2", None)
    assert service.children("arr", "SUCCEEDED") == [0, 2, 5, 7, 1000]


def test_an_array_without_children_in_a_status_has_none(
    stubbed: tuple[BatchService, Stubber],
) -> None:
    service, stubber = stubbed
    children_page(stubber, [], "FAILED", None, None)
    assert service.children("arr", "FAILED") == []


def test_a_throttled_list_of_children_is_asked_again(
    stubbed: tuple[BatchService, Stubber], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(boundary.Backoff, "delay", lambda self, attempt: 0.0)
    service, stubber = stubbed
    stubber.add_client_error(
        "list_jobs", service_error_code="TooManyRequestsException", http_status_code=429
    )
    children_page(stubber, [3, 4], "FAILED", None, None)
    assert service.children("arr", "FAILED") == [3, 4]


# A queue's facts --------------------------------------------------------------------------

CE_ARN = "arn:aws:batch:us-east-1:123456789012:compute-environment/"


def described_queue(stubber: Stubber, *instance_types: list[str]) -> None:
    """DescribeJobQueues of ``q``, then DescribeComputeEnvironments of its environments."""
    arns = [f"{CE_ARN}ce{i}" for i in range(len(instance_types))]
    stubber.add_response(
        "describe_job_queues",
        {
            "jobQueues": [
                {
                    "jobQueueName": "q",
                    "jobQueueArn": "arn:aws:batch:us-east-1:123456789012:job-queue/q",
                    "state": "ENABLED",
                    "status": "VALID",
                    "priority": 1,
                    "computeEnvironmentOrder": [
                        {"order": i, "computeEnvironment": arn} for i, arn in enumerate(arns)
                    ],
                }
            ]
        },
        {"jobQueues": ["q"]},
    )
    stubber.add_response(
        "describe_compute_environments",
        {
            "computeEnvironments": [
                {
                    "computeEnvironmentName": f"ce{i}",
                    "computeEnvironmentArn": arn,
                    "state": "ENABLED",
                    "computeResources": {
                        "type": "EC2",
                        "maxvCpus": 16,
                        "instanceTypes": types,
                        "subnets": ["subnet-1"],
                    },
                }
                for i, (arn, types) in enumerate(zip(arns, instance_types, strict=True))
            ]
        },
        {"computeEnvironments": arns},
    )


def test_the_architectures_of_a_queue_come_from_its_one_description(
    stubbed: tuple[BatchService, Stubber],
) -> None:
    service, stubber = stubbed
    described_queue(stubber, ["m7g.large"], ["c5", "optimal"])
    assert service.architectures("q") == frozenset({"ARM64", "X86_64"})
    # Described once: the platform and the architectures again ask AWS nothing more.
    assert service.platform("q") is Platform.EC2
    assert service.architectures("q") == frozenset({"ARM64", "X86_64"})


def test_a_queue_of_graviton_instances_offers_arm64_alone(
    stubbed: tuple[BatchService, Stubber],
) -> None:
    service, stubber = stubbed
    described_queue(stubber, ["c7g", "r6gd.xlarge"])
    assert service.architectures("q") == frozenset({"ARM64"})
