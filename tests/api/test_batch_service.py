"""BatchService, DefinitionRegistry, Submitter and Watcher against moto's server over HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import threading
from fractions import Fraction
from typing import Any

import boto3
import pytest

from snakemake_executor_plugin_aws_batch.aws.boundary import BatchError
from snakemake_executor_plugin_aws_batch.aws.service import MARKER_VARIABLE, BatchService
from snakemake_executor_plugin_aws_batch.jobspec import payloads
from snakemake_executor_plugin_aws_batch.jobspec.platform import Platform, Resources
from snakemake_executor_plugin_aws_batch.jobspec.spec import DefinitionSpec, JobSpec
from snakemake_executor_plugin_aws_batch.submission.definitions import DefinitionRegistry
from snakemake_executor_plugin_aws_batch.submission.submitter import Submitter
from snakemake_executor_plugin_aws_batch.tracking.jobs import JobRecord
from snakemake_executor_plugin_aws_batch.tracking.round import Watcher
from snakemake_executor_plugin_aws_batch.tracking.status import Outcome

from ..conftest import REGION, Calls, make_queue
from ..fakes import RecordingLogger as Logger

SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-pass"


def definition(image: str = "img:1", **overrides: Any) -> DefinitionSpec:
    fields: dict[str, Any] = {
        "image": image,
        "platform": Platform.EC2,
        "job_role": "arn:aws:iam::123456789012:role/job",
        "execution_role": "arn:aws:iam::123456789012:role/exec",
        "secrets": (("DB_PASSWORD", SECRET_ARN),),
        "assign_public_ip": False,
        "ephemeral_storage_gib": None,
    }
    fields.update(overrides)
    return DefinitionSpec(**fields)


def job_spec(queue: str, name: str, **overrides: Any) -> JobSpec:
    fields: dict[str, Any] = {
        "rule": "r",
        "name": name,
        "queue": queue,
        "platform": Platform.EC2,
        "resources": Resources(Fraction(2), 2048, 0),
        "definition": definition(),
        "timeout": 600,
        "retry_strategy": {"attempts": 2},
        "tags": {"team": "x"},
        "scheduling_priority": None,
        "share_identifier": None,
        "consumable_resources": None,
    }
    fields.update(overrides)
    return JobSpec(**fields)


def registry_for(service: BatchService) -> DefinitionRegistry:
    return DefinitionRegistry(lookup=service.find_definition, register=service.register_definition)


def record(name: str, queue: str = "q", **fields: Any) -> JobRecord:
    return JobRecord(name, "r", queue, Resources(Fraction(1), 1024, 0), **fields)


def submit_one(
    service: BatchService, registry: DefinitionRegistry, queue: str, name: str
) -> JobRecord:
    spec = job_spec(queue, name)
    request = payloads.submit_job(
        spec,
        job_definition=registry.arn(spec.definition),
        command="echo hi",
        environment={"A": "1"},
    )
    submitted = record(name, queue)
    submitted.batch_id = service.submit(request, rule="r")
    return submitted


def run_round(watcher: Watcher, jobs: list[JobRecord]) -> list[tuple[JobRecord, Any]]:
    async def collect() -> list[tuple[JobRecord, Any]]:
        return [item async for item in watcher.round(jobs, contextlib.nullcontext)]  # type: ignore[arg-type]

    return asyncio.run(collect())


class TestPlatform:
    def test_ec2_queue(self, endpoint: str, clients: Any, calls: Calls, logger: Logger) -> None:
        queue = make_queue(endpoint)
        service = BatchService(clients, logger)
        assert service.platform(queue) is Platform.EC2
        assert service.platform(queue) is Platform.EC2
        assert calls["DescribeJobQueues"] == 1
        assert calls["DescribeComputeEnvironments"] == 1

    def test_fargate_queue(self, endpoint: str, clients: Any, logger: Logger) -> None:
        queue = make_queue(endpoint, fargate=True, name="fq")
        assert BatchService(clients, logger).platform(queue) is Platform.FARGATE

    def test_unknown_queue_is_a_clear_error(
        self, endpoint: str, clients: Any, logger: Logger
    ) -> None:
        with pytest.raises(BatchError, match="'nope' does not exist"):
            BatchService(clients, logger).platform("nope")


class TestDefinitions:
    def test_registered_once_per_distinct_content_and_read_back(
        self, endpoint: str, clients: Any, calls: Calls, logger: Logger
    ) -> None:
        registry = registry_for(BatchService(clients, logger))
        specs = [definition("img:1"), definition("img:2")] * 10
        with contextlib.ExitStack():
            threads = [threading.Thread(target=registry.arn, args=(spec,)) for spec in specs]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        assert calls["RegisterJobDefinition"] == 2
        assert len(registry.registered) == 2
        stored = boto3.client("batch", region_name=REGION).describe_job_definitions(
            jobDefinitions=registry.registered
        )["jobDefinitions"]
        container = {d["containerProperties"]["image"]: d["containerProperties"] for d in stored}
        assert set(container) == {"img:1", "img:2"}
        assert container["img:1"]["secrets"] == [{"name": "DB_PASSWORD", "valueFrom": SECRET_ARN}]
        assert container["img:1"]["jobRoleArn"].endswith("role/job")
        assert container["img:1"]["executionRoleArn"].endswith("role/exec")
        assert all(d["jobDefinitionName"].startswith("snakemake-") for d in stored)

    @pytest.mark.parametrize("form", ["name", "name:revision", "arn"])
    def test_an_existing_definition_is_found_in_each_form(
        self, endpoint: str, clients: Any, calls: Calls, logger: Logger, form: str
    ) -> None:
        service = BatchService(clients, logger)
        arn = service.register_definition(payloads.job_definition(definition()))
        for _ in range(2):  # a second revision: name:1 is not the newest
            second = service.register_definition(payloads.job_definition(definition()))
        name, revision = second.rsplit("/", 1)[1].split(":")
        given = {"name": name, "name:revision": f"{name}:1", "arn": arn}[form]
        service.check_definition(given)
        assert calls["DescribeJobDefinitions"] == 1
        assert int(revision) > 1

    @pytest.mark.parametrize("given", ["nope", "nope:3", "{name}:99", "{arn}-gone"])
    def test_a_missing_definition_is_refused_naming_it_and_the_region(
        self, endpoint: str, clients: Any, logger: Logger, given: str
    ) -> None:
        service = BatchService(clients, logger)
        arn = service.register_definition(payloads.job_definition(definition()))
        name = arn.rsplit("/", 1)[1].split(":")[0]
        wanted = given.format(name=name, arn=arn)
        with pytest.raises(BatchError) as info:
            service.check_definition(wanted)
        assert f"no ACTIVE job definition {wanted!r}" in str(info.value)
        assert f"region {REGION}" in str(info.value)

    def test_a_deregistered_revision_is_refused(
        self, endpoint: str, clients: Any, logger: Logger
    ) -> None:
        service = BatchService(clients, logger)
        arn = service.register_definition(payloads.job_definition(definition()))
        boto3.client("batch", region_name=REGION, endpoint_url=endpoint).deregister_job_definition(
            jobDefinition=arn
        )
        with pytest.raises(BatchError, match="no ACTIVE job definition"):
            service.check_definition(arn)

    def test_rerun_registers_nothing(
        self, endpoint: str, clients: Any, calls: Calls, logger: Logger
    ) -> None:
        first = registry_for(BatchService(clients, logger)).arn(definition())
        assert calls["RegisterJobDefinition"] == 1
        again = registry_for(BatchService(clients, logger))
        assert again.arn(definition()) == first
        assert calls["RegisterJobDefinition"] == 1
        assert again.registered == []


class TestSubmitAndWatch:
    def test_submit_sends_one_request_with_marker(
        self, endpoint: str, clients: Any, calls: Calls, logger: Logger
    ) -> None:
        queue = make_queue(endpoint)
        service = BatchService(clients, logger)
        submitted = submit_one(service, registry_for(service), queue, "snakejob-r-1")
        assert calls["SubmitJob"] == 1
        [job] = boto3.client("batch", region_name=REGION).describe_jobs(
            jobs=[str(submitted.batch_id)]
        )["jobs"]
        assert job["jobName"] == "snakejob-r-1"
        environment = {e["name"]: e["value"] for e in job["container"]["environment"]}
        assert environment["A"] == "1"
        assert re.fullmatch(r"[0-9a-f]{32}", environment[MARKER_VARIABLE])
        assert job["container"]["command"] == ["/bin/sh", "-c", "echo hi"]

    def test_every_submission_gets_its_own_marker(
        self, endpoint: str, clients: Any, logger: Logger
    ) -> None:
        queue = make_queue(endpoint)
        service = BatchService(clients, logger)
        registry = registry_for(service)
        ids = [str(submit_one(service, registry, queue, "snakejob-r-same").batch_id) for _ in "ab"]
        described = boto3.client("batch", region_name=REGION).describe_jobs(jobs=ids)["jobs"]
        markers = {
            e["value"]
            for job in described
            for e in job["container"]["environment"]
            if e["name"] == MARKER_VARIABLE
        }
        assert len(markers) == 2

    def test_a_request_too_large_once_marked_is_refused_unsent(
        self, endpoint: str, clients: Any, calls: Calls, logger: Logger
    ) -> None:
        queue = make_queue(endpoint)
        service = BatchService(clients, logger)
        request = payloads.submit_job(
            job_spec(queue, "snakejob-r-big"),
            job_definition=registry_for(service).arn(definition()),
            command="true",
            environment={"PAD": ""},
        )
        size = len(json.dumps(request["containerOverrides"], separators=(",", ":")))
        padding = payloads.MAX_CONTAINER_OVERRIDES - size
        request["containerOverrides"]["environment"][0]["value"] = "x" * padding
        payloads.check_size("r", request)  # fits without the marker
        calls.clear()
        with pytest.raises(BatchError, match=r"Rule 'r'.*containerOverrides"):
            service.submit(request, rule="r")
        assert calls["SubmitJob"] == 0

    def test_round_uses_one_describe_per_hundred_jobs(
        self, endpoint: str, clients: Any, calls: Calls, logger: Logger
    ) -> None:
        queue = make_queue(endpoint)
        service = BatchService(clients, logger)
        registry = registry_for(service)
        jobs = [submit_one(service, registry, queue, f"snakejob-r-{i}") for i in range(250)]
        watcher = Watcher(service, logger, runnable_warning_after=900, missing_grace=120)
        calls.clear()
        verdicts = run_round(watcher, jobs)
        assert calls["DescribeJobs"] == 3
        assert len(verdicts) == 250
        assert {v.outcome for _, v in verdicts} == {Outcome.SUCCEEDED}

    def test_failed_job_message_names_job(
        self, endpoint: str, clients: Any, logger: Logger, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("MOTO_SIMPLE_BATCH_FAIL_AFTER", "0")
        queue = make_queue(endpoint)
        service = BatchService(clients, logger)
        failed = submit_one(service, registry_for(service), queue, "snakejob-r-fail")
        watcher = Watcher(service, logger, runnable_warning_after=900, missing_grace=120)
        [(_, verdict)] = run_round(watcher, [failed])
        assert verdict.outcome is Outcome.FAILED
        assert str(failed.batch_id) in verdict.message
        assert "snakejob-r-fail" in verdict.message

    def test_vanished_job_fails_after_grace(
        self, endpoint: str, clients: Any, logger: Logger
    ) -> None:
        now = [1000.0]
        service = BatchService(clients, logger)
        watcher = Watcher(
            service, logger, runnable_warning_after=900, missing_grace=60, clock=lambda: now[0]
        )
        ghost = record("snakejob-r-ghost", batch_id="0000-unknown")
        [(_, first)] = run_round(watcher, [ghost])
        assert first.outcome is Outcome.RUNNING
        now[0] += 59
        [(_, second)] = run_round(watcher, [ghost])
        assert second.outcome is Outcome.RUNNING
        now[0] += 2
        [(_, third)] = run_round(watcher, [ghost])
        assert third.outcome is Outcome.FAILED
        assert "no longer knows job 0000-unknown" in third.message

    def test_jobs_still_submitting_are_kept(
        self, endpoint: str, clients: Any, calls: Calls, logger: Logger
    ) -> None:
        watcher = Watcher(
            BatchService(clients, logger), logger, runnable_warning_after=900, missing_grace=60
        )
        waiting = record("snakejob-r-w")
        broken = record("snakejob-r-b", error="refused")
        verdicts = {t.name: v for t, v in run_round(watcher, [waiting, broken])}
        assert verdicts["snakejob-r-w"].outcome is Outcome.RUNNING
        assert verdicts["snakejob-r-b"].outcome is Outcome.FAILED
        assert calls["DescribeJobs"] == 0

    def test_submitter_records_results(self, endpoint: str, clients: Any, logger: Logger) -> None:
        queue = make_queue(endpoint)
        service = BatchService(clients, logger)
        registry = registry_for(service)
        submitter = Submitter(service=service, definitions=registry, rate=200)
        good = record("snakejob-r-good", queue)
        bad = record("snakejob-r-bad", "missing-queue")
        for submitted in (good, bad):
            spec = job_spec(submitted.queue, submitted.name)
            submitter.submit(submitted, spec, command="true", environment={})
        assert submitter.stop(timeout=30)
        assert good.batch_id is not None
        assert good.error is None
        assert bad.batch_id is None
        assert bad.error is not None
        assert "missing-queue" in bad.error


class TestQueueFacts:
    def test_facts_name_a_request_larger_than_the_queue(
        self, endpoint: str, clients: Any, logger: Logger
    ) -> None:
        queue = make_queue(endpoint, fargate=True, name="small")
        facts = BatchService(clients, logger).queue(queue)
        assert facts.usable
        assert facts.max_vcpus == 16
        assert facts.likely_causes(4) == []
        [cause] = facts.likely_causes(32)
        assert "asks for 32 vCPU" in cause
        assert "at most 16" in cause

    def test_disabled_queue_is_named(self, endpoint: str, clients: Any, logger: Logger) -> None:
        queue = make_queue(endpoint, name="off")
        boto3.client("batch", region_name=REGION).update_job_queue(jobQueue=queue, state="DISABLED")
        facts = BatchService(clients, logger).queue(queue)
        assert not facts.usable
        assert any("disabled" in cause for cause in facts.likely_causes(1))
        assert any("is DISABLED" in message for message in logger.at("warning"))
