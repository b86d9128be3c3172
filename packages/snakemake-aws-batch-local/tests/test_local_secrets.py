"""Secrets from the emulated Secrets Manager and SSM Parameter Store reach the job."""

from __future__ import annotations

import json
from typing import Any

from local_helpers import client, definition, log_lines, submit, unique, wait_for
from snakemake_aws_batch_local import LocalBatch


def test_secrets_are_injected_as_environment(batch: Any, local: LocalBatch) -> None:
    secrets = client(local, "secretsmanager")
    ssm = client(local, "ssm")
    plain = secrets.create_secret(Name=unique("plain"), SecretString="from-secrets-manager")
    keyed = secrets.create_secret(
        Name=unique("keyed"), SecretString=json.dumps({"token": "from-a-json-key"})
    )
    parameter = f"/snakemake/{unique('param')}"
    ssm.put_parameter(Name=parameter, Value="from-ssm", Type="SecureString")
    arn = f"arn:aws:ssm:{local.region}:123456789012:parameter{parameter}"
    name = definition(
        batch,
        "echo A=$BY_ARN; echo B=$BY_NAME; echo C=$BY_KEY; echo D=$BY_PARAMETER; echo E=$BY_PARAMETER_ARN",
        executionRoleArn=local.execution_role_arn,
        secrets=[
            {"name": "BY_ARN", "valueFrom": plain["ARN"]},
            {"name": "BY_NAME", "valueFrom": plain["Name"]},
            {"name": "BY_KEY", "valueFrom": f"{keyed['ARN']}:token::"},
            {"name": "BY_PARAMETER", "valueFrom": parameter},
            {"name": "BY_PARAMETER_ARN", "valueFrom": arn},
        ],
    )
    job = wait_for(batch, submit(batch, local, name))
    lines = log_lines(local, job["container"]["logStreamName"])
    assert job["status"] == "SUCCEEDED", job
    assert lines == [
        "A=from-secrets-manager",
        "B=from-secrets-manager",
        "C=from-a-json-key",
        "D=from-ssm",
        "E=from-ssm",
    ]


def test_secrets_without_execution_role_fail(batch: Any, local: LocalBatch) -> None:
    parameter = unique("param")
    client(local, "ssm").put_parameter(Name=parameter, Value="v", Type="String")
    name = definition(batch, "echo ran", secrets=[{"name": "X", "valueFrom": parameter}])
    job = wait_for(batch, submit(batch, local, name))
    assert job["status"] == "FAILED"
    assert "executionRoleArn" in job["statusReason"]
    assert "execution role" in job["statusReason"]
    [attempt] = job["attempts"]
    assert "logStreamName" not in attempt["container"]


def test_unknown_secret_fails_with_a_clear_reason(batch: Any, local: LocalBatch) -> None:
    missing = f"arn:aws:secretsmanager:{local.region}:123456789012:secret:no-such-secret-AbCdEf"
    name = definition(
        batch,
        "echo ran",
        executionRoleArn=local.execution_role_arn,
        secrets=[{"name": "X", "valueFrom": missing}],
    )
    job = wait_for(batch, submit(batch, local, name))
    assert job["status"] == "FAILED"
    assert job["statusReason"].startswith("ResourceInitializationError:")
    assert missing in job["statusReason"]
    assert job["container"]["reason"] == job["statusReason"]
