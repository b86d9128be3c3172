"""Consumable resources: the API moto lacks, and the quantities that keep jobs RUNNABLE.

Each moto Batch backend (one account and region) gets a ``Registry`` of its own, kept on the
backend, so moto's reset clears it with the rest of the endpoint's state. A job takes what it
asks for when it leaves RUNNABLE for STARTING and holds it until it ends (retries included):
a REPLENISHABLE resource gets it back then, a NON_REPLENISHABLE one loses it from its total
for good. A job that does not fit leaves a claim and waits without a thread; whenever
quantities come back, the waiting claims that now fit are granted, oldest first, and their
jobs woken.
"""

from __future__ import annotations

import copy
import os
import re
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

REPLENISHABLE = "REPLENISHABLE"
NON_REPLENISHABLE = "NON_REPLENISHABLE"
RESOURCE_TYPES = (REPLENISHABLE, NON_REPLENISHABLE)
NAME_FILTER = "CONSUMABLE_RESOURCE_NAME"
MAX_RESULTS = 100
UPDATE_OPERATIONS = ("SET", "ADD", "REMOVE")
# Where a job definition's consumableResourceProperties are kept (moto drops them).
DEFINITION_ATTRIBUTE = "_snakemake_local_consumable_properties"

_NAME = re.compile(r"[A-Za-z0-9_-]{1,128}\Z")
_CREDENTIAL = re.compile(r"Credential=([^/]+)/[^/]+/([^/]+)/")
_REGISTRY_ATTRIBUTE = "_snakemake_local_consumables"
_registry_lock = threading.Lock()


class ConsumableError(Exception):
    """A request refused: answered as HTTP 400 ``ClientException`` with this message."""


@dataclass(eq=False)
class Consumable:
    """One consumable resource and the claims waiting for it (oldest first)."""

    name: str
    arn: str
    total: int
    resource_type: str
    created_at: int
    tags: dict[str, str]
    in_use: int = 0
    waiting: dict[Hashable, None] = field(default_factory=dict)

    def available(self) -> int:
        return max(self.total - self.in_use, 0)

    def summary(self) -> dict[str, Any]:
        return {
            "consumableResourceArn": self.arn,
            "consumableResourceName": self.name,
            "totalQuantity": self.total,
            "inUseQuantity": self.in_use,
            "resourceType": self.resource_type,
        }

    def description(self) -> dict[str, Any]:
        return {
            "consumableResourceName": self.name,
            "consumableResourceArn": self.arn,
            "totalQuantity": self.total,
            "inUseQuantity": self.in_use,
            "availableQuantity": self.available(),
            "resourceType": self.resource_type,
            "createdAt": self.created_at,
            "tags": dict(self.tags),
        }


# What a job holds (or waits for): each resource with its quantity.
Holding = tuple[tuple[Consumable, int], ...]


_Wakes = list[Callable[[], None]]
_Handler = Callable[[dict[str, Any], _Wakes], dict[str, Any]]


@dataclass
class _Claim:
    wanted: Holding
    wake: Callable[[], None]


def _quantity(value: Any, field_name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConsumableError(f"{field_name} must be a non-negative integer, not {value!r}")
    return value


def _text(request: dict[str, Any], key: str) -> str:
    value = request.get(key)
    if not isinstance(value, str) or not value:
        raise ConsumableError(f"{key} is required")
    return value


class Registry:
    """The consumable resources of one account and region, and the jobs' claims on them."""

    def __init__(self, region: str, account: str, partition: str = "aws") -> None:
        self._lock = threading.Lock()
        self._resources: dict[str, Consumable] = {}
        self._claims: dict[Hashable, _Claim] = {}
        self._granted: dict[Hashable, Holding] = {}
        self._arn_prefix = f"arn:{partition}:batch:{region}:{account}:consumable-resource/"

    # -- the API ---------------------------------------------------------------------------
    def handle(self, operation: str, request: dict[str, Any]) -> dict[str, Any]:
        """Answer one of ``OPERATIONS``; ``ConsumableError`` for a refusal."""
        handler: _Handler = getattr(self, "_" + OPERATIONS[operation])
        wakes: list[Callable[[], None]] = []
        with self._lock:
            answer = handler(request, wakes)
        for wake in wakes:
            wake()
        return answer

    def _find(self, reference: str) -> Consumable | None:
        found = self._resources.get(reference)
        if found is None and reference.startswith(self._arn_prefix):
            found = self._resources.get(reference.removeprefix(self._arn_prefix))
        return found

    def _get(self, request: dict[str, Any]) -> Consumable:
        reference = _text(request, "consumableResource")
        found = self._find(reference)
        if found is None:
            raise ConsumableError(f"Consumable resource {reference} does not exist")
        return found

    def _create(self, request: dict[str, Any], wakes: _Wakes) -> dict[str, Any]:
        name = _text(request, "consumableResourceName")
        if not _NAME.match(name):
            raise ConsumableError(
                "consumableResourceName must be 1 to 128 letters, numbers, hyphens and "
                f"underscores, not {name!r}"
            )
        if name in self._resources:
            raise ConsumableError(f"Consumable resource {name} already exists")
        resource_type = request.get("resourceType") or REPLENISHABLE
        if resource_type not in RESOURCE_TYPES:
            raise ConsumableError(
                f"resourceType must be REPLENISHABLE or NON_REPLENISHABLE, not {resource_type!r}"
            )
        tags = request.get("tags") or {}
        if not isinstance(tags, dict):
            raise ConsumableError("tags must be an object of strings")
        resource = Consumable(
            name=name,
            arn=self._arn_prefix + name,
            total=_quantity(request.get("totalQuantity", 0), "totalQuantity"),
            resource_type=resource_type,
            created_at=int(time.time() * 1000),
            tags={str(k): str(v) for k, v in tags.items()},
        )
        self._resources[name] = resource
        return {"consumableResourceName": name, "consumableResourceArn": resource.arn}

    def _describe(self, request: dict[str, Any], wakes: _Wakes) -> dict[str, Any]:
        return self._get(request).description()

    def _list(self, request: dict[str, Any], wakes: _Wakes) -> dict[str, Any]:
        patterns: list[list[str]] = []
        for entry in request.get("filters") or []:
            if not isinstance(entry, dict) or entry.get("name") != NAME_FILTER:
                raise ConsumableError(f"the only filter name is {NAME_FILTER}")
            patterns.append([str(v).lower() for v in entry.get("values") or []])
        size = request.get("maxResults") or MAX_RESULTS
        if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= MAX_RESULTS:
            raise ConsumableError(f"maxResults must be between 1 and {MAX_RESULTS}")
        token = request.get("nextToken") or "0"
        if not isinstance(token, str) or not token.isdigit():
            raise ConsumableError(f"invalid nextToken {token!r}")
        matching = [
            resource
            for resource in self._resources.values()
            if all(any(_matches(resource.name, p) for p in values) for values in patterns)
        ]
        start = int(token)
        answer: dict[str, Any] = {
            "consumableResources": [r.summary() for r in matching[start : start + size]]
        }
        if start + size < len(matching):
            answer["nextToken"] = str(start + size)
        return answer

    def _delete(self, request: dict[str, Any], wakes: _Wakes) -> dict[str, Any]:
        resource = self._get(request)
        del self._resources[resource.name]
        # Jobs waiting for it look again: a resource that does not exist is not counted.
        for key in list(resource.waiting):
            claim = self._claims[key]
            self._drop_claim(key)
            wakes.append(claim.wake)
        return {}

    def _update(self, request: dict[str, Any], wakes: _Wakes) -> dict[str, Any]:
        resource = self._get(request)
        operation = request.get("operation") or "SET"
        if operation not in UPDATE_OPERATIONS:
            raise ConsumableError(f"operation must be SET, ADD or REMOVE, not {operation!r}")
        quantity = _quantity(request.get("quantity", 0), "quantity")
        total = {
            "SET": quantity,
            "ADD": resource.total + quantity,
            "REMOVE": resource.total - quantity,
        }[operation]
        if total < 0:
            raise ConsumableError(
                f"cannot remove {quantity} from consumable resource {resource.name}: "
                f"its total quantity is {resource.total}"
            )
        resource.total = total
        wakes.extend(self._grant([resource]))
        return {
            "consumableResourceName": resource.name,
            "consumableResourceArn": resource.arn,
            "totalQuantity": resource.total,
        }

    # -- the jobs --------------------------------------------------------------------------
    def acquire(
        self, key: Hashable, wanted: list[tuple[str, int]], wake: Callable[[], None]
    ) -> Holding | None:
        """Take ``wanted`` for ``key`` if it all fits now, else leave a claim and return None:
        ``wake`` is called once the claim is granted (the next ``acquire`` returns it).
        Resources that do not exist are left out."""
        with self._lock:
            granted = self._granted.pop(key, None)
            if granted is not None:
                return granted
            claim = self._claims.get(key)
            holding = claim.wanted if claim is not None else self._resolve(wanted)
            if self._fits(holding):
                self._drop_claim(key)
                self._take(holding)
                return holding
            if claim is None:
                self._claims[key] = _Claim(holding, wake)
                for resource, _ in holding:
                    resource.waiting[key] = None
            return None

    def release(self, holding: Holding) -> None:
        """A job that held ``holding`` has ended."""
        replenished = tuple(h for h in holding if h[0].resource_type == REPLENISHABLE)
        with self._lock:
            self._give_back(replenished)
            wakes = self._grant([resource for resource, _ in replenished])
        for wake in wakes:
            wake()

    def cancel(self, key: Hashable) -> None:
        """Forget ``key``'s claim; what was granted to it (and not acquired) goes back."""
        with self._lock:
            self._drop_claim(key)
            granted = self._granted.pop(key, None) or ()
            self._give_back(granted)
            wakes = self._grant([resource for resource, _ in granted])
        for wake in wakes:
            wake()

    def _resolve(self, wanted: list[tuple[str, int]]) -> Holding:
        totals: dict[Consumable, int] = {}
        for reference, quantity in wanted:
            resource = self._find(reference)
            if resource is not None and quantity > 0:
                totals[resource] = totals.get(resource, 0) + quantity
        return tuple(totals.items())

    @staticmethod
    def _fits(holding: Holding) -> bool:
        return all(resource.available() >= quantity for resource, quantity in holding)

    @staticmethod
    def _take(holding: Holding) -> None:
        for resource, quantity in holding:
            if resource.resource_type == REPLENISHABLE:
                resource.in_use += quantity
            else:
                resource.total -= quantity

    @staticmethod
    def _give_back(holding: Holding) -> None:
        for resource, quantity in holding:
            if resource.resource_type == REPLENISHABLE:
                resource.in_use -= quantity
            else:
                resource.total += quantity

    def _drop_claim(self, key: Hashable) -> None:
        claim = self._claims.pop(key, None)
        if claim is not None:
            for resource, _ in claim.wanted:
                resource.waiting.pop(key, None)

    def _grant(self, resources: list[Consumable]) -> list[Callable[[], None]]:
        """Grant the waiting claims that fit now, oldest first (lock held)."""
        wakes = []
        for resource in resources:
            for key in list(resource.waiting):
                if resource.available() == 0:
                    break
                claim = self._claims[key]
                if self._fits(claim.wanted):
                    self._drop_claim(key)
                    self._take(claim.wanted)
                    self._granted[key] = claim.wanted
                    wakes.append(claim.wake)
        return wakes


# Operation name -> Registry method (without its leading underscore).
OPERATIONS = {
    "CreateConsumableResource": "create",
    "DescribeConsumableResource": "describe",
    "ListConsumableResources": "list",
    "DeleteConsumableResource": "delete",
    "UpdateConsumableResource": "update",
}


def _matches(name: str, pattern: str) -> bool:
    if pattern.endswith("*"):
        return name.lower().startswith(pattern[:-1])
    return name.lower() == pattern


def registry_of(backend: Any) -> Registry:
    """The registry kept on a moto Batch backend (made on first use)."""
    with _registry_lock:
        registry: Registry | None = backend.__dict__.get(_REGISTRY_ATTRIBUTE)
        if registry is None:
            from moto.utilities.utils import get_partition  # noqa: PLC0415

            region, account = backend.region_name, backend.account_id
            registry = Registry(region, account, get_partition(region))
            setattr(backend, _REGISTRY_ATTRIBUTE, registry)
        return registry


def backend_for(environ: dict[str, Any]) -> Any:
    """The moto Batch backend that moto would pick for this request (account, region)."""
    from moto.batch.models import batch_backends  # noqa: PLC0415
    from moto.iam.models import get_account_id_from  # noqa: PLC0415

    match = _CREDENTIAL.search(str(environ.get("HTTP_AUTHORIZATION", "")))
    access_key, region = (match.group(1), match.group(2)) if match else ("", "us-east-1")
    account = (
        os.environ.get("MOTO_ACCOUNT_ID")
        or environ.get("HTTP_X_MOTO_ACCOUNT_ID")
        or get_account_id_from(access_key)
    )
    return batch_backends[str(account)][region]


def job_properties(request: dict[str, Any], definition: Any) -> dict[str, Any] | None:
    """A job's consumableResourceProperties: SubmitJob's override, else its definition's."""
    if "consumableResourcePropertiesOverride" in request:
        value = request["consumableResourcePropertiesOverride"]
    else:
        value = getattr(definition, DEFINITION_ATTRIBUTE, None)
    return copy.deepcopy(value) if isinstance(value, dict) else None


def requested(request: dict[str, Any], definition: Any) -> list[tuple[str, int]]:
    """(name or ARN, quantity) for each consumable resource a job asks for."""
    properties = job_properties(request, definition) or {}
    wanted = []
    for entry in properties.get("consumableResourceList") or []:
        if not isinstance(entry, dict):
            continue
        reference, quantity = entry.get("consumableResource"), entry.get("quantity", 1)
        if isinstance(reference, str) and isinstance(quantity, int):
            wanted.append((reference, quantity))
    return wanted
