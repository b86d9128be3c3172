"""Consumable resources: the API, and jobs that wait in RUNNABLE until enough is free."""

from __future__ import annotations

import time
import urllib.request
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from local_helpers import client, definition, describe, submit, unique, wait_for
from snakemake_aws_batch_local import LocalBatch
from snakemake_aws_batch_local.consumables import ConsumableError, Registry

ARN_PREFIX = "arn:aws:batch:us-east-1:123456789012:consumable-resource/"


def asking(name: str, quantity: int) -> dict[str, Any]:
    return {"consumableResourceList": [{"consumableResource": name, "quantity": quantity}]}


def create(batch: Any, total: int, resource_type: str = "REPLENISHABLE", **fields: Any) -> str:
    name = unique("license")
    answer = batch.create_consumable_resource(
        consumableResourceName=name, totalQuantity=total, resourceType=resource_type, **fields
    )
    assert answer["consumableResourceName"] == name
    assert answer["consumableResourceArn"] == ARN_PREFIX + name
    return name


def quantities(batch: Any, name: str) -> tuple[int, int, int]:
    found = batch.describe_consumable_resource(consumableResource=name)
    return found["totalQuantity"], found["inUseQuantity"], found["availableQuantity"]


def refused(error: pytest.ExceptionInfo[ClientError]) -> str:
    assert error.value.response["Error"]["Code"] == "ClientException"
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    return str(error.value.response["Error"]["Message"])


def stays(batch: Any, job_id: str, status: str, seconds: float = 0.6) -> None:
    """The job reaches ``status`` and is still there ``seconds`` later."""
    wait_for(batch, job_id, (status,))
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert describe(batch, job_id)["status"] == status
        time.sleep(0.05)


# -- the API --------------------------------------------------------------------------------
def test_create_describe_and_list(batch: Any) -> None:
    name = create(batch, 10, tags={"team": "a"})
    by_name = batch.describe_consumable_resource(consumableResource=name)
    by_arn = batch.describe_consumable_resource(consumableResource=ARN_PREFIX + name)
    for found in (by_name, by_arn):
        assert found["consumableResourceName"] == name
        assert found["consumableResourceArn"] == ARN_PREFIX + name
        assert (found["totalQuantity"], found["inUseQuantity"]) == (10, 0)
        assert found["availableQuantity"] == 10
        assert found["resourceType"] == "REPLENISHABLE"
        assert found["tags"] == {"team": "a"}
        assert abs(found["createdAt"] / 1000 - time.time()) < 60
    listed = batch.list_consumable_resources()["consumableResources"]
    assert {
        "consumableResourceName": name,
        "consumableResourceArn": ARN_PREFIX + name,
        "totalQuantity": 10,
        "inUseQuantity": 0,
        "resourceType": "REPLENISHABLE",
    } in listed
    # The resource type defaults to REPLENISHABLE.
    other = unique("license")
    batch.create_consumable_resource(consumableResourceName=other, totalQuantity=1)
    assert batch.describe_consumable_resource(consumableResource=other)["resourceType"] == (
        "REPLENISHABLE"
    )


def test_list_filters_and_pages(batch: Any) -> None:
    prefix = unique("pool")
    names = [f"{prefix}-{i}" for i in range(3)]
    for name in names:
        batch.create_consumable_resource(consumableResourceName=name, totalQuantity=1)
    by_prefix = batch.list_consumable_resources(
        filters=[{"name": "CONSUMABLE_RESOURCE_NAME", "values": [prefix.upper() + "*"]}]
    )["consumableResources"]
    assert [r["consumableResourceName"] for r in by_prefix] == names
    exact = batch.list_consumable_resources(
        filters=[{"name": "CONSUMABLE_RESOURCE_NAME", "values": [names[1]]}]
    )["consumableResources"]
    assert [r["consumableResourceName"] for r in exact] == [names[1]]
    paged: list[str] = []
    fields: dict[str, Any] = {
        "filters": [{"name": "CONSUMABLE_RESOURCE_NAME", "values": [prefix + "*"]}],
        "maxResults": 2,
    }
    while True:
        page = batch.list_consumable_resources(**fields)
        paged += [r["consumableResourceName"] for r in page["consumableResources"]]
        if "nextToken" not in page:
            break
        fields["nextToken"] = page["nextToken"]
    assert paged == names


def test_duplicate_name_is_refused(batch: Any) -> None:
    name = create(batch, 10)
    with pytest.raises(ClientError) as error:
        batch.create_consumable_resource(consumableResourceName=name, totalQuantity=3)
    assert name in refused(error)
    assert quantities(batch, name) == (10, 0, 10)


def test_unknown_name_is_refused(batch: Any) -> None:
    missing = unique("missing")
    with pytest.raises(ClientError) as error:
        batch.describe_consumable_resource(consumableResource=missing)
    assert missing in refused(error)
    with pytest.raises(ClientError) as error:
        batch.delete_consumable_resource(consumableResource=ARN_PREFIX + missing)
    refused(error)


@pytest.mark.parametrize(
    "fields",
    [
        {"consumableResourceName": "bad/name", "totalQuantity": 1},
        {"consumableResourceName": "negative", "totalQuantity": -1},
        {"consumableResourceName": "typed", "totalQuantity": 1, "resourceType": "RENEWABLE"},
    ],
)
def test_bad_values_are_refused(batch: Any, fields: dict[str, Any]) -> None:
    with pytest.raises(ClientError) as error:
        batch.create_consumable_resource(**fields)
    refused(error)


def test_delete_and_update(batch: Any) -> None:
    name = create(batch, 4)
    assert (
        batch.update_consumable_resource(consumableResource=name, operation="ADD", quantity=3)[
            "totalQuantity"
        ]
        == 7
    )
    assert (
        batch.update_consumable_resource(consumableResource=name, operation="REMOVE", quantity=2)[
            "totalQuantity"
        ]
        == 5
    )
    assert (
        batch.update_consumable_resource(consumableResource=name, operation="SET", quantity=9)[
            "totalQuantity"
        ]
        == 9
    )
    with pytest.raises(ClientError) as error:
        batch.update_consumable_resource(consumableResource=name, operation="REMOVE", quantity=10)
    refused(error)
    batch.delete_consumable_resource(consumableResource=ARN_PREFIX + name)
    with pytest.raises(ClientError) as error:
        batch.describe_consumable_resource(consumableResource=name)
    refused(error)
    listed = batch.list_consumable_resources()["consumableResources"]
    assert name not in {r["consumableResourceName"] for r in listed}


def test_calls_are_counted(batch: Any, local: LocalBatch) -> None:
    name = create(batch, 1)
    batch.describe_consumable_resource(consumableResource=name)
    calls = local.calls()
    assert calls["CreateConsumableResource"] == calls["DescribeConsumableResource"] == 1


def test_state_is_per_region_and_cleared_by_moto_reset() -> None:
    with LocalBatch(engine="process") as local:  # its own endpoint: the reset clears all
        batch = client(local, "batch")
        name = create(batch, 1)
        elsewhere = boto3.client(
            "batch",
            endpoint_url=local.endpoint_url,
            region_name="eu-west-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )
        assert elsewhere.list_consumable_resources()["consumableResources"] == []
        answer = elsewhere.create_consumable_resource(consumableResourceName=name)
        assert answer["consumableResourceArn"] == (
            f"arn:aws:batch:eu-west-1:123456789012:consumable-resource/{name}"
        )
        reset = urllib.request.Request(f"{local.endpoint_url}/moto-api/reset", method="POST")
        urllib.request.urlopen(reset, data=b"", timeout=30).close()
        assert batch.list_consumable_resources()["consumableResources"] == []
        assert elsewhere.list_consumable_resources()["consumableResources"] == []
        batch.create_consumable_resource(consumableResourceName=name, totalQuantity=1)  # anew


# -- jobs -----------------------------------------------------------------------------------
def test_user_guide_flow(batch: Any, local: LocalBatch, tmp_path: Path) -> None:
    """create-consumable-resource, then a job that asks for it runs (and holds it meanwhile)."""
    name = create(batch, 10)
    gate = tmp_path / "go"
    job_id = submit(
        batch,
        local,
        definition(batch, f"until [ -f {gate} ]; do sleep 0.05; done; echo done"),
        consumableResourcePropertiesOverride=asking(name, 3),
    )
    wait_for(batch, job_id, ("RUNNING",))
    assert quantities(batch, name) == (10, 3, 7)
    gate.touch()
    job = wait_for(batch, job_id)
    assert job["status"] == "SUCCEEDED"
    assert job["consumableResourceProperties"] == asking(name, 3)
    assert quantities(batch, name) == (10, 0, 10)


def test_job_waits_in_runnable_until_enough_is_released(
    batch: Any, local: LocalBatch, tmp_path: Path
) -> None:
    name = create(batch, 3)
    gate = tmp_path / "go"
    holder = submit(
        batch,
        local,
        definition(batch, f"until [ -f {gate} ]; do sleep 0.05; done"),
        consumableResourcePropertiesOverride=asking(name, 2),
    )
    wait_for(batch, holder, ("RUNNING",))
    # By ARN; 2 are in use and 1 is free: a job that asks for 2 waits.
    waiter = submit(
        batch,
        local,
        definition(batch, "true"),
        consumableResourcePropertiesOverride=asking(ARN_PREFIX + name, 2),
    )
    small = submit(
        batch,
        local,
        definition(batch, "true"),
        consumableResourcePropertiesOverride=asking(name, 1),
    )
    assert wait_for(batch, small)["status"] == "SUCCEEDED"  # 1 fits: it does not wait
    stays(batch, waiter, "RUNNABLE")
    assert quantities(batch, name) == (3, 2, 1)
    gate.touch()
    held = wait_for(batch, holder)
    job = wait_for(batch, waiter)
    assert job["status"] == "SUCCEEDED"
    assert job["startedAt"] >= held["stoppedAt"]
    assert quantities(batch, name) == (3, 0, 3)


def test_more_quantity_and_termination_release_waiting_jobs(batch: Any, local: LocalBatch) -> None:
    name = create(batch, 0)
    waiting = [
        submit(
            batch,
            local,
            definition(batch, "true"),
            consumableResourcePropertiesOverride=asking(name, 1),
        )
        for _ in range(2)
    ]
    stays(batch, waiting[0], "RUNNABLE")
    batch.terminate_job(jobId=waiting[0], reason="not needed")
    assert wait_for(batch, waiting[0])["status"] == "FAILED"
    stays(batch, waiting[1], "RUNNABLE", seconds=0.3)
    batch.update_consumable_resource(consumableResource=name, operation="ADD", quantity=1)
    assert wait_for(batch, waiting[1])["status"] == "SUCCEEDED"
    assert quantities(batch, name) == (1, 0, 1)


def test_non_replenishable_is_used_up(batch: Any, local: LocalBatch) -> None:
    name = create(batch, 3, "NON_REPLENISHABLE")
    first = submit(
        batch,
        local,
        definition(batch, "true"),
        consumableResourcePropertiesOverride=asking(name, 2),
    )
    assert wait_for(batch, first)["status"] == "SUCCEEDED"
    assert quantities(batch, name) == (1, 0, 1)
    second = submit(
        batch,
        local,
        definition(batch, "true"),
        consumableResourcePropertiesOverride=asking(name, 2),
    )
    stays(batch, second, "RUNNABLE")
    batch.terminate_job(jobId=second, reason="never enough")
    assert wait_for(batch, second)["status"] == "FAILED"
    assert quantities(batch, name) == (1, 0, 1)


def test_job_definition_properties_apply_unless_overridden(batch: Any, local: LocalBatch) -> None:
    name = create(batch, 0)
    job_definition = unique("def")
    batch.register_job_definition(
        jobDefinitionName=job_definition,
        type="container",
        containerProperties={
            "image": "ignored",
            "command": ["true"],
            "resourceRequirements": [
                {"type": "VCPU", "value": "1"},
                {"type": "MEMORY", "value": "512"},
            ],
        },
        consumableResourceProperties=asking(name, 1),
    )
    [registered] = batch.describe_job_definitions(jobDefinitionName=job_definition)[
        "jobDefinitions"
    ]
    assert registered["consumableResourceProperties"] == asking(name, 1)
    waiting = submit(batch, local, job_definition)
    overridden = submit(
        batch,
        local,
        job_definition,
        consumableResourcePropertiesOverride={"consumableResourceList": []},
    )
    assert wait_for(batch, overridden)["status"] == "SUCCEEDED"
    stays(batch, waiting, "RUNNABLE", seconds=0.3)
    assert describe(batch, waiting)["consumableResourceProperties"] == asking(name, 1)
    batch.update_consumable_resource(consumableResource=name, operation="SET", quantity=1)
    assert wait_for(batch, waiting)["status"] == "SUCCEEDED"


def test_unknown_or_deleted_resources_are_not_counted(batch: Any, local: LocalBatch) -> None:
    unknown = submit(
        batch,
        local,
        definition(batch, "true"),
        consumableResourcePropertiesOverride=asking(unique("never-created"), 5),
    )
    assert wait_for(batch, unknown)["status"] == "SUCCEEDED"
    name = create(batch, 0)
    waiting = submit(
        batch,
        local,
        definition(batch, "true"),
        consumableResourcePropertiesOverride=asking(name, 1),
    )
    stays(batch, waiting, "RUNNABLE", seconds=0.3)
    batch.delete_consumable_resource(consumableResource=name)
    assert wait_for(batch, waiting)["status"] == "SUCCEEDED"


def test_resources_are_held_across_retries(batch: Any, local: LocalBatch) -> None:
    name = create(batch, 1)
    retried = submit(
        batch,
        local,
        definition(batch, "sleep 0.3; exit 1"),
        retryStrategy={"attempts": 3},
        consumableResourcePropertiesOverride=asking(name, 1),
    )
    wait_for(batch, retried, ("RUNNING",))  # it holds the only one
    other = submit(
        batch,
        local,
        definition(batch, "true"),
        consumableResourcePropertiesOverride=asking(name, 1),
    )
    first = wait_for(batch, retried)
    assert first["status"] == "FAILED"
    assert len(first["attempts"]) == 3
    job = wait_for(batch, other)
    assert job["status"] == "SUCCEEDED"
    assert job["startedAt"] >= first["stoppedAt"]  # not between the attempts


# -- the registry alone ---------------------------------------------------------------------
def test_registry_grants_waiting_claims_oldest_first() -> None:
    registry = Registry("us-east-1", "123456789012")
    for name, total in (("a", 2), ("b", 1)):
        registry.handle("CreateConsumableResource", {"consumableResourceName": name,
                                                      "totalQuantity": total})  # fmt: skip
    woken: list[str] = []

    def claim(key: str, *wanted: tuple[str, int]) -> Any:
        return registry.acquire(key, list(wanted), lambda: woken.append(key))

    first = claim("first", ("a", 2))
    assert first is not None
    assert claim("both", ("a", 1), ("b", 1)) is None  # a is used up
    assert claim("second", ("a", 2)) is None
    assert claim("third", ("a", 1)) is None
    registry.release(first)
    # "both" fits and is oldest; "second" no longer fits; "third" takes what is left.
    assert woken == ["both", "third"]
    both = claim("both")
    assert both is not None
    assert (
        registry.handle("DescribeConsumableResource", {"consumableResource": "b"})[
            "availableQuantity"
        ]
        == 0
    )
    registry.cancel("third")  # granted, never taken: given back, still 1 short for "second"
    assert woken == ["both", "third"]
    registry.release(both)
    assert woken == ["both", "third", "second"]
    with pytest.raises(ConsumableError):
        registry.handle("CreateConsumableResource", {"consumableResourceName": "a"})
