"""terraform/README.md: its export command and its Snakemake run work with the outputs."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys

from tests.terraform.config import TERRAFORM_DIR, load

README = (TERRAFORM_DIR / "README.md").read_text()


def export_program() -> str:
    """The Python program of the README's `eval "$(terraform output -json | python3 -c ...)"`."""
    match = re.search(r"eval \"\$\(terraform output -json \| python3 -c '([^']+)'\)\"", README)
    assert match, "README.md has no eval of terraform output -json"
    return match.group(1)


def sample_terraform_output() -> dict[str, dict[str, object]]:
    """`terraform output -json` for every output of the configuration, with made-up values."""
    values: dict[str, dict[str, object]] = {}
    for name in load().outputs:
        value: object = f"arn:aws:example:us-west-2:123456789012:{name.lower()}"
        if name == "job_subnet_ids":
            value = ["subnet-1", "subnet-2"]
        values[name] = {"sensitive": False, "type": "string", "value": value}
    values["SNAKEMAKE_STORAGE_PREFIX"]["value"] = "s3://snakemake-abc/workflows"
    return values


def run_export(outputs: dict[str, dict[str, object]]) -> str:
    result = subprocess.run(
        [sys.executable, "-c", export_program()],
        input=json.dumps(outputs),
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


def test_export_command_exports_every_upper_case_output_and_nothing_else() -> None:
    outputs = sample_terraform_output()
    lines = run_export(outputs).splitlines()
    exported = {}
    for line in lines:
        words = shlex.split(line)
        assert words[0] == "export"
        key, _, value = words[1].partition("=")
        exported[key] = value
    expected = {k for k in outputs if k.isupper()}
    assert set(exported) == expected
    assert "user_policy_arn" not in exported
    assert exported["SNAKEMAKE_STORAGE_PREFIX"] == "s3://snakemake-abc/workflows"
    assert (
        exported["SNAKEMAKE_AWS_BATCH_JOB_ROLE"] == outputs["SNAKEMAKE_AWS_BATCH_JOB_ROLE"]["value"]
    )


def test_export_command_skips_null_outputs_and_quotes_values() -> None:
    outputs = sample_terraform_output()
    outputs["SNAKEMAKE_AWS_BATCH_FARGATE_JOB_QUEUE"]["value"] = None
    outputs["SNAKEMAKE_AWS_BATCH_JOB_QUEUE"]["value"] = "queue with space; rm -rf x"
    text = run_export(outputs)
    assert "SNAKEMAKE_AWS_BATCH_FARGATE_JOB_QUEUE" not in text
    (line,) = [x for x in text.splitlines() if "SNAKEMAKE_AWS_BATCH_JOB_QUEUE=" in x]
    assert shlex.split(line) == [
        "export",
        "SNAKEMAKE_AWS_BATCH_JOB_QUEUE=queue with space; rm -rf x",
    ]


def test_readme_runs_snakemake_with_the_exported_storage_prefix() -> None:
    command = re.search(r"snakemake --executor aws-batch[^`]*", README)
    assert command, "README.md shows no snakemake run"
    words = shlex.split(command.group(0).replace("\\\n", " "), posix=True)
    assert words[words.index("--default-storage-provider") + 1] == "s3"
    assert words[words.index("--default-storage-prefix") + 1] == "$SNAKEMAKE_STORAGE_PREFIX"
    assert words[words.index("--container-image") + 1] == "snakemake/snakemake:v9.11.0"
    assert "--jobs" in words


def test_readme_documents_every_upper_case_output() -> None:
    for name in load().outputs:
        if name.isupper():
            assert f"`{name}`" in README, f"README.md does not document {name}"
