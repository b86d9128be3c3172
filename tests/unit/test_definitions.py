"""The job definition registry: looked up first, registered at most once per spec."""

from __future__ import annotations

import threading
import time

import pytest

from snakemake_executor_plugin_aws_batch.jobspec import payloads
from snakemake_executor_plugin_aws_batch.jobspec.platform import Platform
from snakemake_executor_plugin_aws_batch.jobspec.spec import DefinitionSpec
from snakemake_executor_plugin_aws_batch.submission.definitions import DefinitionRegistry


def spec(image: str = "img:1", **changes) -> DefinitionSpec:
    values = {
        "image": image,
        "platform": Platform.EC2,
        "job_role": None,
        "execution_role": None,
        "secrets": (),
        "assign_public_ip": False,
        "ephemeral_storage_gib": None,
    }
    values.update(changes)
    return DefinitionSpec(**values)


def arn_of(name: str, revision: int = 1) -> str:
    return f"arn:aws:batch:us-east-1:123456789012:job-definition/{name}:{revision}"


class FakeBatch:
    """Job definitions by name; records every call in order."""

    def __init__(self, existing: dict[str, str] | None = None, delay: float = 0.0) -> None:
        self.active = dict(existing or {})
        self.calls: list[tuple[str, str]] = []
        self.delay = delay
        self._lock = threading.Lock()

    def lookup(self, name: str) -> str | None:
        with self._lock:
            self.calls.append(("lookup", name))
        time.sleep(self.delay)
        return self.active.get(name)

    def register(self, request: dict) -> str:
        name = request["jobDefinitionName"]
        with self._lock:
            self.calls.append(("register", name))
        time.sleep(self.delay)
        arn = arn_of(name)
        self.active[name] = arn
        return arn

    def registry(self) -> DefinitionRegistry:
        return DefinitionRegistry(lookup=self.lookup, register=self.register)


def name_of(definition: DefinitionSpec) -> str:
    return payloads.job_definition(definition)["jobDefinitionName"]


def test_looks_up_by_content_name_before_registering():
    batch = FakeBatch()
    registry = batch.registry()
    arn = registry.arn(spec())
    name = name_of(spec())
    assert batch.calls == [("lookup", name), ("register", name)]
    assert arn == arn_of(name)
    assert registry.registered == [arn]


def test_register_receives_the_built_request():
    seen = []
    registry = DefinitionRegistry(
        lookup=lambda name: None,
        register=lambda request: seen.append(request) or "arn:new",
    )
    registry.arn(spec(execution_role="arn:aws:iam::1:role/e"))
    assert seen == [payloads.job_definition(spec(execution_role="arn:aws:iam::1:role/e"))]


def test_existing_active_definition_is_reused_without_registration():
    name = name_of(spec())
    batch = FakeBatch(existing={name: arn_of(name, 7)})
    registry = batch.registry()
    assert registry.arn(spec()) == arn_of(name, 7)
    assert registry.arn(spec()) == arn_of(name, 7)
    assert batch.calls == [("lookup", name)]
    assert registry.registered == []


def test_answer_is_cached_per_spec():
    batch = FakeBatch()
    registry = batch.registry()
    first = registry.arn(spec())
    for _ in range(5):
        assert registry.arn(spec()) == first
    assert len(batch.calls) == 2


def test_equal_specs_built_separately_share_one_definition():
    batch = FakeBatch()
    registry = batch.registry()
    a = spec(secrets=(("A", "/p/a"),))
    b = spec(secrets=(("A", "/p/a"),))
    assert a is not b
    assert registry.arn(a) == registry.arn(b)
    assert [kind for kind, _ in batch.calls] == ["lookup", "register"]


@pytest.mark.parametrize(
    "other",
    [
        spec(image="img:2"),
        spec(platform=Platform.FARGATE, execution_role="arn:aws:iam::1:role/e"),
        spec(job_role="arn:aws:iam::1:role/j"),
        spec(secrets=(("A", "/p/a"),)),
    ],
)
def test_different_specs_get_their_own_definition(other):
    batch = FakeBatch()
    registry = batch.registry()
    first = registry.arn(spec())
    second = registry.arn(other)
    assert first != second
    assert [kind for kind, _ in batch.calls] == ["lookup", "register"] * 2
    assert registry.registered == [first, second]


def race(registry: DefinitionRegistry, specs: list[DefinitionSpec]) -> list[str]:
    """Every spec asked for by its own thread, all released at the same moment."""
    start = threading.Barrier(len(specs))
    results: list[str | None] = [None] * len(specs)
    errors: list[BaseException] = []

    def worker(index: int) -> None:
        try:
            start.wait()
            results[index] = registry.arn(specs[index])
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(specs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    assert all(r is not None for r in results)
    return [str(r) for r in results]


def test_twenty_threads_register_once():
    batch = FakeBatch(delay=0.02)
    registry = batch.registry()
    results = race(registry, [spec() for _ in range(20)])
    name = name_of(spec())
    assert batch.calls == [("lookup", name), ("register", name)]
    assert set(results) == {arn_of(name)}
    assert registry.registered == [arn_of(name)]


def test_twenty_threads_find_existing_with_one_lookup():
    name = name_of(spec())
    batch = FakeBatch(existing={name: arn_of(name, 3)}, delay=0.02)
    registry = batch.registry()
    results = race(registry, [spec() for _ in range(20)])
    assert batch.calls == [("lookup", name)]
    assert set(results) == {arn_of(name, 3)}
    assert registry.registered == []


def test_racing_threads_with_two_specs_register_each_once():
    batch = FakeBatch(delay=0.02)
    registry = batch.registry()
    a, b = spec("a:1"), spec("b:1")
    results = race(registry, [a, b] * 10)
    registers = sorted(name for kind, name in batch.calls if kind == "register")
    assert registers == sorted([name_of(a), name_of(b)])
    assert set(results[0::2]) == {arn_of(name_of(a))}
    assert set(results[1::2]) == {arn_of(name_of(b))}
    assert sorted(registry.registered) == sorted([arn_of(name_of(a)), arn_of(name_of(b))])


def test_slow_spec_does_not_hold_up_another():
    release = threading.Event()
    slow_name = name_of(spec("slow:1"))

    def lookup(name):
        if name == slow_name:
            release.wait(10)

    registry = DefinitionRegistry(
        lookup=lookup,
        register=lambda r: "arn:" + r["containerProperties"]["image"],
    )
    slow = threading.Thread(target=registry.arn, args=(spec("slow:1"),))
    slow.start()
    try:
        started = time.monotonic()
        assert registry.arn(spec("fast:1")) == "arn:fast:1"
        assert time.monotonic() - started < 5
    finally:
        release.set()
        slow.join(10)


def test_failed_registration_is_not_cached():
    attempts = []

    def register(request):
        attempts.append(request["jobDefinitionName"])
        if len(attempts) == 1:
            raise RuntimeError("AWS said no")
        return "arn:second"

    registry = DefinitionRegistry(lookup=lambda name: None, register=register)
    with pytest.raises(RuntimeError, match="AWS said no"):
        registry.arn(spec())
    assert registry.arn(spec()) == "arn:second"
    assert len(attempts) == 2
    assert registry.registered == ["arn:second"]


def test_an_existing_definition_is_named_as_it_is_without_any_call():
    batch = FakeBatch()
    registry = batch.registry()
    assert registry.arn("my-definition:3") == "my-definition:3"
    assert batch.calls == []
    assert registry.registered == []
