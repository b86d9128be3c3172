"""terraform/README.md: its export command and its Snakemake run work with the outputs."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys

from tests.terraform.config import TERRAFORM_DIR, load, reference, tf_files

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


def test_readme_documents_every_output() -> None:
    for name in load().outputs:
        assert f"`{name}`" in README, f"README.md does not document {name}"


def test_export_command_keeps_the_volumes_json_intact() -> None:
    volumes = [
        {
            "containerPath": "/mnt/efs",
            "efs": {
                "accessPointId": "fsap-0123456789abcdef0",
                "fileSystemId": "fs-0123456789abcdef0",
                "iam": True,
                "transitEncryption": True,
            },
            "name": "efs",
            "readOnly": False,
        }
    ]
    outputs = sample_terraform_output()
    outputs["SNAKEMAKE_AWS_BATCH_VOLUMES"]["value"] = json.dumps(volumes)
    (line,) = [x for x in run_export(outputs).splitlines() if "_VOLUMES=" in x]
    _, assignment = shlex.split(line)
    assert json.loads(assignment.partition("=")[2]) == volumes
    # Without EFS the output is null and nothing is exported.
    outputs["SNAKEMAKE_AWS_BATCH_VOLUMES"]["value"] = None
    assert "SNAKEMAKE_AWS_BATCH_VOLUMES" not in run_export(outputs)


def efs_section() -> str:
    match = re.search(r"^### A shared EFS file system$(.*?)^##? ", README, re.M | re.S)
    assert match, "README.md has no section '### A shared EFS file system'"
    return match.group(1)


def test_readme_says_how_to_enable_efs_and_what_it_needs() -> None:
    section = efs_section()
    assert "`enable_efs = true`" in section
    assert "off by default" in section
    for need in (
        "TCP 2049",  # NFS from the jobs' security group to the mount targets
        "`elasticfilesystem:ClientMount`",
        "`elasticfilesystem:ClientWrite`",
        "`ClientRootAccess`",
        "TLS",
        '`"transitEncryption": true`',
        '`"iam": true`',
        "`--aws-batch-volumes`",
        "`SNAKEMAKE_AWS_BATCH_VOLUMES`",
    ):
        assert need in section, f"the EFS section does not mention {need}"


def test_readme_names_every_efs_variable_with_its_default() -> None:
    config = load()
    section = efs_section()
    for name in config.variables:
        if name.startswith("efs_") and not name.endswith("_name"):
            assert f"`{name}`" in section, f"the EFS section does not mention {name}"
    for name in ("efs_root_directory", "efs_container_path", "efs_throughput_mode"):
        assert f"`{config.default(name)}`" in section, f"the default of {name}"


def test_readme_shows_the_volumes_json_the_output_produces() -> None:
    section = efs_section()
    (block,) = re.findall(r"```json\n(.*?)```", section, re.S)
    (volume,) = json.loads(block)
    assert volume["name"] == "efs"
    assert volume["containerPath"] == load().default("efs_container_path")
    assert volume["efs"]["transitEncryption"] is True
    assert volume["efs"]["iam"] is True
    assert volume["efs"]["accessPointId"].startswith("fsap-")
    assert "rootDirectory" not in volume["efs"]


def file_table() -> dict[str, str]:
    """The README's table of files: `name` -> what it creates."""
    rows = re.findall(r"^\| `([^`]+)` \| (.+) \|$", README.split("## Deploy")[0], re.M)
    assert rows, "README.md has no table of the files"
    return dict(rows)


def test_readme_lists_every_file_and_module() -> None:
    table = file_table()
    for path in tf_files():
        assert path.name in table, f"README.md's table of files leaves out {path.name}"
    modules = {path.parent.name for path in TERRAFORM_DIR.glob("modules/*/*.tf")}
    assert modules == {"fargate_queue"}
    for name in modules:
        assert f"modules/{name}" in table, f"README.md's table leaves out modules/{name}"
    assert "checkov/" in table
    # The two files that call the module say so.
    for name in ("compute.tf", "coordinator.tf"):
        assert "`modules/fargate_queue`" in table[name], name


def test_readme_says_the_moved_resources_keep_their_state() -> None:
    moved = {(reference(b["from"]), reference(b["to"])) for b in load().moved}
    assert (
        "aws_batch_job_queue.fargate[0]",
        "module.fargate_queue[0].aws_batch_job_queue.this",
    ) in moved
    assert "`moved` blocks" in README
    assert "`aws_batch_job_queue.fargate[0]`" in README
    assert "`module.fargate_queue[0].aws_batch_job_queue.this`" in README


def inbound_section() -> str:
    match = re.search(r"^### Inbound traffic$(.*?)^##? ", README, re.M | re.S)
    assert match, "README.md has no section '### Inbound traffic'"
    return match.group(1)


def test_readme_explains_the_one_inbound_rule() -> None:
    section = " ".join(inbound_section().split())
    address = "aws_vpc_security_group_ingress_rule.efs_nfs_from_jobs"
    assert f"`{address}`" in section
    kind, name = address.split(".")
    assert name in load().resources[kind], f"README.md names {address}, which is not declared"
    for fact in (
        "one inbound (ingress) security-group rule",
        "TCP port 2049 only",
        "into the EFS mount targets' security group, from the jobs' security group",
        "The jobs' security group has no inbound rule",
        "security groups are stateful",
        "default security group keeps no rule",
    ):
        assert fact in section, f"the inbound section does not say {fact!r}"


def test_readme_runs_checkov_as_the_tests_do() -> None:
    command = re.search(r"^\.venv-iac/bin/checkov .*$", README, re.M)
    assert command, "README.md does not show the checkov command"
    words = command.group(0).split()
    assert words[words.index("-d") + 1] == "terraform"
    assert words[words.index("--framework") + 1] == "terraform"
    checks = words[words.index("--external-checks-dir") + 1]
    assert (TERRAFORM_DIR.parent / checks) == TERRAFORM_DIR / "checkov"
    assert list((TERRAFORM_DIR / "checkov").glob("*.yaml"))
