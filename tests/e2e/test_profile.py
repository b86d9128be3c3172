"""The example profile of ``docs/further.md`` (``examples/profile``) runs as written.

Only the account's names are replaced by the local endpoint's; the plugin's settings
come from the profile alone (none from the environment).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ..conftest import client
from .conftest import sent

pytestmark = pytest.mark.e2e

PROFILE = Path(__file__).parents[2] / "examples" / "profile" / "config.yaml"

SNAKEFILE = """
rule all:
    input: "aligned.txt"

rule align:
    output: "aligned.txt"
    shell: 'test -n "$API_TOKEN" && echo "token of ${{#API_TOKEN}} characters" > {output}'
"""


def test_the_example_profile_runs(workflow: Any, local: Any, tmp_path: Path) -> None:
    secret = client(local, "secretsmanager").create_secret(
        Name="api-token", SecretString="profile-token-1234"
    )["ARN"]
    text = PROFILE.read_text()
    for placeholder, value in {
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:api-token": secret,
        "arn:aws:iam::123456789012:role/snakemake-job": local.job_role_arn,
        "arn:aws:iam::123456789012:role/snakemake-execution": local.execution_role_arn,
        "us-east-1": local.region,
        "my-queue": local.job_queue,
    }.items():
        assert placeholder in text
        text = text.replace(placeholder, value)
    profile = tmp_path / "profile"
    profile.mkdir()
    (profile / "config.yaml").write_text(text)

    flow = workflow(SNAKEFILE)
    flow.unset = tuple(name for name in local.env() if name.startswith("SNAKEMAKE_AWS_BATCH_"))
    result = flow.run("--profile", str(profile))

    assert result.returncode == 0, result.output[-4000:]
    assert flow.read("aligned.txt") == "token of 18 characters\n"
    [request] = sent(local, "SubmitJob")
    assert request["jobQueue"] == local.job_queue
    assert request["tags"] == {"project": "genomes", "team": "bio"}
    assert request["timeout"] == {"attemptDurationSeconds": 3600}
    requirements = {
        r["type"]: r["value"] for r in request["containerOverrides"]["resourceRequirements"]
    }
    assert requirements == {"VCPU": "2", "MEMORY": "4096"}
    assert request["retryStrategy"]["attempts"] == 3
    assert json.dumps(request).count("onExitCode") == 1
    assert "profile-token-1234" not in result.output
