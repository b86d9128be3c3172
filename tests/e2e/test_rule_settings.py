"""Every per-rule setting of the user guide, from a Snakefile through ``snakemake``.

Jobs are held in RUNNABLE (the endpoint's ``hold_jobs``): these tests look at what
the plugin sent, read back from the endpoint where it keeps the field.
"""

from __future__ import annotations

import json
import signal
import time
from typing import Any

import pytest

from .conftest import batch_client, sent

pytestmark = pytest.mark.e2e

SNAKEFILE = """
import json

DATASETS = ["large", "small"]

rule all:
    input:
        "compute.txt", "special.txt", "secret.txt", "licensed.txt", "long.txt",
        "suffix.txt", "uuid.txt", "both.txt", "fair.txt", "alias.txt", "runtime.txt",
        "fargate.txt",
        expand("results/{{dataset}}.out", dataset=DATASETS)

rule compute_intensive:
    output: "compute.txt"
    resources: aws_batch_vcpu=4, aws_batch_mem_mb=8192, aws_batch_gpu=1
    shell: "touch {{output}}"

rule special_task:
    output: "special.txt"
    resources: aws_batch_job_queue="{fargate_queue}", aws_batch_vcpu=1, aws_batch_mem_mb=3000
    shell: "touch {{output}}"

rule my_rule:
    output: "secret.txt"
    resources:
        aws_batch_secrets='[{{"name":"API_KEY","valueFrom":"arn:aws:secretsmanager:us-east-1:123456789012:secret:api-key"}},{{"name":"DB_PASSWORD","valueFrom":"rule-db-pass"}}]'
    shell: "touch {{output}}"

rule licensed_analysis:
    output: "licensed.txt"
    resources: aws_batch_consumable_resources='[{{"consumableResource": "license-pool", "quantity": 2}}]'
    shell: "touch {{output}}"

rule long_running_task:
    output: "long.txt"
    resources: aws_batch_timeout=7200
    shell: "touch {{output}}"

rule my_analysis:
    output: "suffix.txt"
    resources: aws_batch_job_name_suffix="experiment-v2"
    shell: "touch {{output}}"

rule custom_id:
    output: "uuid.txt"
    resources: aws_batch_job_uuid="custom-id-12345"
    shell: "touch {{output}}"

rule both_names:
    output: "both.txt"
    resources: aws_batch_job_name_suffix="experiment-v2", aws_batch_job_uuid="run-001"
    shell: "touch {{output}}"

rule fair:
    output: "fair.txt"
    resources:
        aws_batch_scheduling_priority=9000,
        aws_batch_share_identifier="teamA",
        aws_batch_tags="stage=qc,team=rule-team"
    shell: "touch {{output}}"

rule legacy_names:
    output: "alias.txt"
    resources: batch_queue="{queue}", aws_batch_task_timeout=900
    shell: "touch {{output}}"

rule with_runtime:
    output: "runtime.txt"
    resources: runtime=30
    threads: 2
    shell: "touch {{output}}"

rule on_fargate:
    output: "fargate.txt"
    resources: aws_batch_job_queue="{fargate_queue}", aws_batch_vcpu="0.5", disk_mb=51200
    shell: "touch {{output}}"

def get_retry_strategy(wildcards, attempt):
    if wildcards.dataset == "large":
        return json.dumps({{
            "attempts": 5,
            "evaluateOnExit": [
                {{"action": "RETRY", "onExitCode": "137"}},
                {{"action": "RETRY", "onStatusReason": "*timeout*"}},
            ],
        }})
    return json.dumps({{"attempts": 2}})

rule process_data:
    output: "results/{{dataset}}.out"
    resources: aws_batch_retry_strategy=get_retry_strategy
    shell: "touch {{output}}"
"""


@pytest.fixture
def submitted(workflow: Any) -> dict[str, dict[str, Any]]:
    flow = workflow("")
    (flow.path / "Snakefile").write_text(
        SNAKEFILE.format(queue=flow.local.job_queue, fargate_queue=flow.local.fargate_job_queue)
    )
    # Jobs are held: only what the plugin sends is looked at, then the run is cancelled.
    flow.local.set_knobs(hold_jobs=True)
    process = flow.start(
        "--keep-going",
        "--jobs", "20",
        "--aws-batch-array-min-size", "0",
        "--aws-batch-execution-role", flow.local.execution_role_arn,
        "--aws-batch-job-role", flow.local.job_role_arn,
        "--aws-batch-secrets",
        '[{"name":"DB_PASSWORD","valueFrom":"arn:aws:ssm:us-east-1:123456789012:parameter/global-db"},'
        '{"name":"GLOBAL_ONLY","valueFrom":"global-only"}]',
        "--aws-batch-tags", "team=global-team,project=wgs",
        "--aws-batch-task-timeout", "600",
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 180
        while len(sent(flow.local, "SubmitJob")) < 14 and time.monotonic() < deadline:
            time.sleep(0.5)
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
        flow.local.set_knobs(hold_jobs=False)
    requests = sent(flow.local, "SubmitJob")
    assert len(requests) == 14, output[-4000:]
    by_rule = {}
    for request in requests:
        rule = request["jobName"].removeprefix("snakejob-").split("-")[0]
        if rule == "process_data":
            rule = f"process_data-{len([k for k in by_rule if k.startswith('process_data')])}"
        by_rule[rule] = request
    by_rule["_definitions"] = {
        d["jobDefinitionName"]: d for d in sent(flow.local, "RegisterJobDefinition")
    }
    by_rule["_names"] = {r["jobName"]: r for r in requests}
    return by_rule


def requirements(request: dict[str, Any]) -> dict[str, str]:
    return {r["type"]: r["value"] for r in request["containerOverrides"]["resourceRequirements"]}


def definition_of(submitted: dict[str, Any], request: dict[str, Any]) -> dict[str, Any]:
    name = request["jobDefinition"].rsplit("/", 1)[-1].split(":")[0]
    return submitted["_definitions"][name]


def test_every_rule_setting(submitted: dict[str, Any]) -> None:
    compute = submitted["compute_intensive"]
    assert requirements(compute) == {"VCPU": "4", "MEMORY": "8192", "GPU": "1"}
    assert compute["timeout"] == {"attemptDurationSeconds": 600}
    assert compute["tags"] == {"team": "global-team", "project": "wgs"}
    assert compute["propagateTags"] is True

    special = submitted["special_task"]
    assert special["jobQueue"].endswith("snakemake-local-fargate-queue")
    assert requirements(special) == {"VCPU": "1", "MEMORY": "3072"}  # raised to a Fargate size

    secrets = definition_of(submitted, submitted["my_rule"])["containerProperties"]["secrets"]
    assert sorted(secrets, key=lambda s: s["name"]) == [
        {
            "name": "API_KEY",
            "valueFrom": "arn:aws:secretsmanager:us-east-1:123456789012:secret:api-key",
        },
        {"name": "DB_PASSWORD", "valueFrom": "rule-db-pass"},
        {"name": "GLOBAL_ONLY", "valueFrom": "global-only"},
    ]

    assert submitted["licensed_analysis"]["consumableResourcePropertiesOverride"] == {
        "consumableResourceList": [{"consumableResource": "license-pool", "quantity": 2}]
    }
    assert submitted["long_running_task"]["timeout"] == {"attemptDurationSeconds": 7200}

    names = set(submitted["_names"])
    assert any(
        n.startswith("snakejob-my_analysis-experiment-v2-")
        and len(n) == len("snakejob-my_analysis-experiment-v2-") + 36
        for n in names
    )
    assert "snakejob-custom_id-custom-id-12345" in names
    assert "snakejob-both_names-experiment-v2-run-001" in names

    fair = submitted["fair"]
    assert fair["schedulingPriorityOverride"] == 9000
    assert fair["shareIdentifier"] == "teamA"
    assert fair["tags"] == {"team": "rule-team", "project": "wgs", "stage": "qc"}

    legacy = submitted["legacy_names"]
    assert legacy["jobQueue"] == "snakemake-local-queue"
    assert legacy["timeout"] == {"attemptDurationSeconds": 900}

    runtime = submitted["with_runtime"]
    assert runtime["timeout"] == {"attemptDurationSeconds": 1800}
    assert requirements(runtime)["VCPU"] == "2"

    fargate = submitted["on_fargate"]
    assert requirements(fargate) == {"VCPU": "0.5", "MEMORY": "1024"}
    container = definition_of(submitted, fargate)["containerProperties"]
    assert container["ephemeralStorage"] == {"sizeInGiB": 50}
    assert container["networkConfiguration"] == {"assignPublicIp": "DISABLED"}
    assert definition_of(submitted, fargate)["platformCapabilities"] == ["FARGATE"]

    strategies = sorted(
        (submitted[k]["retryStrategy"] for k in submitted if k.startswith("process_data")),
        key=lambda s: s["attempts"],
    )
    assert strategies == [
        {"attempts": 2},
        {
            "attempts": 5,
            "evaluateOnExit": [
                {"action": "RETRY", "onExitCode": "137"},
                {"action": "RETRY", "onStatusReason": "*timeout*"},
            ],
        },
    ]
    for request in submitted["_names"].values():
        assert json.dumps(request).count("AWS_SECRET_ACCESS_KEY") == 0


EXISTING_DEFINITION = """
rule on_existing_definition:
    output: "existing.txt"
    resources: aws_batch_job_definition="{existing}"
    shell: "echo ran > {{output}}"
"""


def existing_definition(local: Any) -> str:
    answer = batch_client(local).register_job_definition(
        jobDefinitionName="user-maintained",
        type="container",
        containerProperties={"image": "busybox", "command": ["true"], "vcpus": 1, "memory": 1024},
    )
    return str(answer["jobDefinitionArn"])


def test_rule_on_an_existing_job_definition_runs_on_it(local: Any, workflow: Any) -> None:
    arn = existing_definition(local)
    flow = workflow(EXISTING_DEFINITION.format(existing=arn))
    result = flow.run()
    assert result.returncode == 0, result.output[-4000:]
    [request] = sent(flow.local, "SubmitJob")
    assert request["jobDefinition"] == arn
    registered = [d["jobDefinitionName"] for d in sent(flow.local, "RegisterJobDefinition")]
    assert registered == ["user-maintained"]  # this test's own; the plugin registers none
    assert flow.read("existing.txt") == "ran\n"


def test_global_secrets_with_an_existing_job_definition_are_refused(
    local: Any, workflow: Any
) -> None:
    flow = workflow(EXISTING_DEFINITION.format(existing=existing_definition(local)))
    result = flow.run(
        "--aws-batch-execution-role", flow.local.execution_role_arn,
        "--aws-batch-secrets", '[{"name":"DB_PASSWORD","valueFrom":"global-db"}]',
    )  # fmt: skip
    assert result.returncode != 0
    assert "rule 'on_existing_definition', resource aws_batch_job_definition" in result.output
    assert "--aws-batch-secrets" in result.output
    assert "Traceback" not in result.output
    assert sent(flow.local, "SubmitJob") == []
