"""The real ``snakemake`` command line on the local AWS Batch endpoint."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import time
from typing import Any

import pytest

from .conftest import (
    PLANTED_HOST_SECRET,
    PLANTED_STORAGE_SECRET,
    aws_client,
    calls,
    cancel_held,
    jobs_named,
    sent,
)

pytestmark = pytest.mark.e2e

FAN_OUT = """
rule all:
    input: expand("out/{i}.txt", i=range(3)), "total.txt"

rule make:
    output: "out/{i}.txt"
    resources: aws_batch_vcpu=2, aws_batch_mem_mb=2048, aws_batch_job_name_suffix="fan"
    shell: "echo {wildcards.i} > {output}"

rule total:
    input: expand("out/{i}.txt", i=range(3))
    output: "total.txt"
    shell: "cat {input} > {output}"
"""


def test_fan_out_runs_and_counts_calls(workflow: Any) -> None:
    flow = workflow(FAN_OUT)
    first = flow.run()
    assert first.returncode == 0, first.output
    assert flow.read("out/2.txt").strip() == "2"
    counted = calls(flow.local)
    assert counted.get("SubmitJob") == 4  # 3 x make, 1 x total: one call per job
    assert counted.get("RegisterJobDefinition", 0) <= 1
    assert counted.get("TerminateJob", 0) == 0
    assert counted.get("DeregisterJobDefinition", 0) == 0
    submitted = sent(flow.local, "SubmitJob")
    make = [r for r in submitted if r["jobName"].startswith("snakejob-make-fan-")]
    assert len(make) == 3
    assert {"type": "VCPU", "value": "2"} in make[0]["containerOverrides"]["resourceRequirements"]
    assert {"type": "MEMORY", "value": "2048"} in make[0]["containerOverrides"][
        "resourceRequirements"
    ]

    again = flow.run("--forceall")
    assert again.returncode == 0, again.output
    recounted = calls(flow.local)
    assert recounted.get("RegisterJobDefinition", 0) == counted.get("RegisterJobDefinition", 0)
    assert recounted.get("SubmitJob") == 8


def test_failing_rule_reports_exit_code_and_log_lines(workflow: Any) -> None:
    flow = workflow(
        """
        rule broken:
            output: "never.txt"
            shell: "echo 'line-before-failure-42'; exit 3"
        """
    )
    result = flow.run()
    assert result.returncode != 0
    assert "Essential container in task exited" in result.output  # the status reason
    # The job's own Snakemake ends with 1 when its shell command fails with 3.
    assert "Exit code: 1." in result.output
    assert "line-before-failure-42" in result.output  # from the CloudWatch log tail
    assert "non-zero exit status 3" in result.output
    [job] = jobs_named(flow.local, "snakejob-broken-")
    assert f"AWS Batch job {job['jobId']}" in result.output


def test_secret_reaches_job_and_never_leaks(workflow: Any) -> None:
    secret_value = "PLANTED-SECRET-VALUE-5d1e"
    flow = workflow("")
    arn = aws_client(flow.local, "secretsmanager").create_secret(
        Name=f"e2e-secret-{time.time_ns()}", SecretString=secret_value
    )["ARN"]
    secrets = json.dumps([{"name": "API_TOKEN", "valueFrom": arn}])
    (flow.path / "Snakefile").write_text(
        f"""
rule uses_secret:
    output: "digest.txt"
    resources: aws_batch_secrets={secrets!r}
    shell: "printf %s \\"$API_TOKEN\\" | sha256sum | cut -c1-64 > {{output}}"
"""
    )
    result = flow.run("--aws-batch-execution-role", flow.local.execution_role_arn, "--verbose")
    assert result.returncode == 0, result.output
    assert flow.read("digest.txt").strip() == hashlib.sha256(secret_value.encode()).hexdigest()
    definitions = json.dumps(sent(flow.local, "RegisterJobDefinition"))
    submissions = json.dumps(sent(flow.local, "SubmitJob"))
    assert arn in definitions
    for planted in (secret_value, PLANTED_HOST_SECRET, PLANTED_STORAGE_SECRET):
        assert planted not in result.output
        assert planted not in definitions
        assert planted not in submissions


def test_secret_without_execution_role_is_refused_before_submission(workflow: Any) -> None:
    flow = workflow(
        """
        rule needs_role:
            output: "x.txt"
            resources: aws_batch_secrets='[{"name": "TOKEN", "valueFrom": "my-parameter"}]'
            shell: "touch {output}"
        """
    )
    flow.unset = ("SNAKEMAKE_AWS_BATCH_EXECUTION_ROLE",)
    result = flow.run()
    assert result.returncode != 0
    assert "rule 'needs_role', resource aws_batch_secrets" in result.output
    assert "--aws-batch-execution-role" in result.output
    assert "Traceback" not in result.output
    assert calls(flow.local).get("SubmitJob", 0) == 0


def test_invalid_static_value_in_last_rule_stops_before_anything_runs(workflow: Any) -> None:
    flow = workflow(
        """
        rule all:
            input: "b.txt"
        rule first:
            output: "a.txt"
            shell: "touch {output}"
        rule last:
            input: "a.txt"
            output: "b.txt"
            resources: aws_batch_timeout=30
            shell: "touch {output}"
        """
    )
    result = flow.run()
    assert result.returncode != 0
    assert "rule 'last', resource aws_batch_timeout: 30" in result.output
    assert "at least 60" in result.output
    assert "Traceback" not in result.output
    assert calls(flow.local).get("SubmitJob", 0) == 0


def test_retry_strategy_retries_inside_aws_batch(workflow: Any) -> None:
    flow = workflow(
        """
        import json
        rule flaky:
            output: "flaky.txt"
            resources:
                aws_batch_retry_strategy=json.dumps({"attempts": 2, "evaluateOnExit": [{"action": "retry", "onExitCode": "3"}]})
            shell: 'if [ "$AWS_BATCH_JOB_ATTEMPT" = 1 ]; then exit 3; fi; echo ok > {output}'
        """
    )
    result = flow.run()
    assert result.returncode == 0, result.output
    [request] = sent(flow.local, "SubmitJob")
    assert request["retryStrategy"] == {
        "attempts": 2,
        "evaluateOnExit": [{"action": "RETRY", "onExitCode": "3"}],
    }
    [job] = jobs_named(flow.local, "snakejob-flaky-")
    assert len(job["attempts"]) == 2
    assert job["status"] == "SUCCEEDED"


def test_timeout_stops_a_job(workflow: Any) -> None:
    flow = workflow(
        """
        rule slow:
            output: "slow.txt"
            resources: aws_batch_timeout=60
            shell: "sleep 300; touch {output}"
        """
    )
    # AWS's shortest limit is 60 s; the endpoint enforces a tenth of it (the job keeps 60).
    flow.local.set_knobs(timeout_scale=0.1)
    started = time.monotonic()
    result = flow.run(timeout=240)
    assert result.returncode != 0
    assert time.monotonic() - started < 120
    assert "time limit" in result.output or "timeout" in result.output.lower()
    [request] = sent(flow.local, "SubmitJob")
    assert request["timeout"] == {"attemptDurationSeconds": 60}


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_cancel_terminates_every_active_job(workflow: Any, sig: signal.Signals) -> None:
    flow = workflow(
        """
        rule all:
            input: expand("held/{i}.txt", i=range(100))
        rule held:
            output: "held/{i}.txt"
            shell: "touch {output}"
        """
    )
    flow.local.set_knobs(hold_jobs=True)
    process = flow.start("--jobs", "100", "--aws-batch-array-min-size", "0")  # one job each
    output, exit_s = cancel_held(
        flow, process, lambda: calls(flow.local).get("SubmitJob", 0) >= 100, sig
    )
    assert calls(flow.local).get("SubmitJob", 0) == 100
    assert exit_s < 30
    assert calls(flow.local).get("TerminateJob", 0) == 100, output
    jobs = jobs_named(flow.local, "snakejob-held-")
    assert len(jobs) == 100
    assert all(job["status"] not in {"RUNNABLE", "RUNNING", "STARTING"} for job in jobs), [
        (job["jobName"], job["status"]) for job in jobs
    ]


def test_envvars_reach_jobs_but_credentials_do_not(workflow: Any) -> None:
    flow = workflow(
        """
        rule env:
            output: "env.txt"
            shell: 'echo "color=$MY_COLOR" > {output}'
        """
    )
    os.environ["MY_COLOR"] = "teal"
    try:
        result = flow.run("--envvars", "MY_COLOR", "AWS_SECRET_ACCESS_KEY")
    finally:
        del os.environ["MY_COLOR"]
    assert result.returncode == 0, result.output
    assert flow.read("env.txt").strip() == "color=teal"
    [request] = sent(flow.local, "SubmitJob")
    environment = {e["name"]: e["value"] for e in request["containerOverrides"]["environment"]}
    assert environment["MY_COLOR"] == "teal"
    assert "AWS_SECRET_ACCESS_KEY" not in environment
    assert "SNAKEMAKE_STORAGE_S3_SECRET_KEY" not in environment
    assert PLANTED_HOST_SECRET not in json.dumps(request)
    assert "Not passed to AWS Batch jobs" in result.output


def test_forwarded_storage_credentials_warn_once(workflow: Any) -> None:
    flow = workflow(MANY_SMALL)
    result = flow.run("--aws-batch-forward-storage-credentials")
    assert result.returncode == 0, result.output
    assert result.output.count("travel to every AWS Batch job as plain environment variables") == 1
    for request in sent(flow.local, "SubmitJob"):
        names = {e["name"] for e in request["containerOverrides"]["environment"]}
        assert "SNAKEMAKE_STORAGE_S3_SECRET_KEY" in names


MANY_SMALL = """
rule all:
    input: expand("small/{i}.txt", i=range(2))

rule small:
    output: "small/{i}.txt"
    shell: "touch {output}"
"""
