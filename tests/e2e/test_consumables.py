"""The user guide's consumable-resource set-up, then a rule that uses it, on the local endpoint."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import batch_client, sent

pytestmark = pytest.mark.e2e


def test_the_guides_consumable_resource_set_up_and_a_rule_that_uses_it(workflow: Any) -> None:
    flow = workflow(
        """
        rule licensed:
            output: "licensed.txt"
            resources:
                aws_batch_consumable_resources='[{"consumableResource": "license-pool", "quantity": 2}]'
            shell: "echo ran > {output}"
        """
    )
    batch = batch_client(flow.local)
    created = batch.create_consumable_resource(
        consumableResourceName="license-pool", totalQuantity=10, resourceType="REPLENISHABLE"
    )
    try:
        result = flow.run()
        assert result.returncode == 0, result.output[-4000:]
        assert flow.read("licensed.txt") == "ran\n"
        [request] = sent(flow.local, "SubmitJob")
        assert request["consumableResourcePropertiesOverride"] == {
            "consumableResourceList": [{"consumableResource": "license-pool", "quantity": 2}]
        }
        described = batch.describe_consumable_resource(consumableResource="license-pool")
        assert described["consumableResourceArn"] == created["consumableResourceArn"]
        assert (described["totalQuantity"], described["inUseQuantity"]) == (10, 0)
    finally:
        batch.delete_consumable_resource(consumableResource="license-pool")
