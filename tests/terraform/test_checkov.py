"""The Terraform passes checkov's checks, except the exceptions in checkov-skips.txt.

checkov leaves out resources whose count is 0, so the configuration is scanned twice:
with its defaults, and with every optional part switched on. It also runs the project's
own checks (terraform/checkov/*.yaml), which look at the AWS Batch resources checkov has
no check for, wherever they are: that shows the scan reaches into the local modules.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.terraform.config import REPO_ROOT, TERRAFORM_DIR, load

CHECKOV = REPO_ROOT / ".venv-iac" / "bin" / "checkov"
SKIPS_FILE = TERRAFORM_DIR / "checkov-skips.txt"
CHECKS_DIR = TERRAFORM_DIR / "checkov"
# The variables that add resources when set; the second scan sets them all.
EVERY_OPTION = {
    "enable_efs": True,
    "enable_fargate": True,
    "create_batch_service_linked_role": True,
}
SCANS = ("defaults", "every option on")


def read_skips() -> dict[tuple[str, str], str]:
    """(check id, resource) -> reason, from checkov-skips.txt."""
    skips: dict[tuple[str, str], str] = {}
    for number, line in enumerate(SKIPS_FILE.read_text().splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split(maxsplit=2)
        assert len(parts) == 3, f"checkov-skips.txt:{number}: expected CHECK_ID RESOURCE reason"
        check_id, resource, reason = parts
        assert check_id.startswith("CKV"), f"checkov-skips.txt:{number}: bad id {check_id}"
        assert len(reason.split()) >= 5, f"checkov-skips.txt:{number}: give a real reason"
        assert (check_id, resource) not in skips, f"checkov-skips.txt:{number}: duplicate"
        skips[(check_id, resource)] = reason
    return skips


def run_checkov(var_file: Path | None) -> dict[str, Any]:
    # Without --quiet the report lists the passed checks too: what was scanned.
    command = [
        str(CHECKOV),
        "-d",
        str(TERRAFORM_DIR),
        "--framework",
        "terraform",
        "-o",
        "json",
        "--skip-download",
        "--external-checks-dir",
        str(CHECKS_DIR),
    ]
    if var_file is not None:
        command += ["--var-file", str(var_file)]
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO_ROOT,
        check=False,
    )
    # Exit code 1 means failed checks, which the tests below judge; anything else is trouble.
    assert result.returncode in (0, 1), result.stderr[-2000:]
    parsed = json.loads(result.stdout)
    reports = parsed if isinstance(parsed, list) else [parsed]
    (terraform,) = [r for r in reports if r.get("check_type") == "terraform"]
    return dict(terraform)


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """checkov's report of each scan, by the name in SCANS."""
    if not CHECKOV.exists():
        pytest.fail(
            f"checkov is not installed at {CHECKOV.relative_to(REPO_ROOT)}; "
            "run `make .venv-iac/.installed` (part of `make test`)"
        )
    var_file = tmp_path_factory.mktemp("checkov") / "every-option.tfvars"
    var_file.write_text("".join(f"{k} = {str(v).lower()}\n" for k, v in EVERY_OPTION.items()))
    return {"defaults": run_checkov(None), "every option on": run_checkov(var_file)}


def failed_checks(report: dict[str, Any]) -> list[dict[str, Any]]:
    return list(report["results"].get("failed_checks", []))


def scanned_resources(report: dict[str, Any]) -> set[str]:
    results = report["results"]
    return {
        c["resource"] for kind in ("passed_checks", "failed_checks") for c in results.get(kind, [])
    }


def checked(report: dict[str, Any], check_id: str) -> set[str]:
    """The resources a check passed or failed."""
    results = report["results"]
    return {
        c["resource"]
        for kind in ("passed_checks", "failed_checks")
        for c in results.get(kind, [])
        if c["check_id"] == check_id
    }


def test_skips_file_gives_a_reason_for_each_exception() -> None:
    assert read_skips(), "checkov-skips.txt lists no exception"


def test_every_option_scan_switches_on_every_optional_part() -> None:
    variables = load().variables
    for name, value in EVERY_OPTION.items():
        assert variables[name]["default"] is not value, f"{name} is already on by default"
    optional = {
        n for n, body in variables.items() if n.startswith("enable_") and not body["default"]
    }
    assert optional <= set(EVERY_OPTION), f"scan these with checkov too: {optional}"


@pytest.mark.parametrize("scan", SCANS)
def test_checkov_scanned_the_configuration(reports: dict[str, dict[str, Any]], scan: str) -> None:
    summary = reports[scan]["summary"]
    assert summary["parsing_errors"] == 0
    assert summary["resource_count"] >= 30
    assert summary["passed"] > 100


def test_every_option_scan_checks_the_optional_resources(
    reports: dict[str, dict[str, Any]],
) -> None:
    scanned = scanned_resources(reports["every option on"])
    for resource in (
        "aws_efs_file_system.main[0]",
        "aws_efs_access_point.main[0]",
        "aws_security_group.efs[0]",
        "aws_vpc_security_group_ingress_rule.efs_nfs_from_jobs[0]",
        "aws_iam_role_policy.job_efs[0]",
    ):
        assert resource in scanned, f"checkov did not check {resource}"
    assert "aws_efs_file_system.main[0]" not in scanned_resources(reports["defaults"])


@pytest.mark.parametrize("scan", SCANS)
def test_no_failed_checks_beyond_the_listed_exceptions(
    reports: dict[str, dict[str, Any]], scan: str
) -> None:
    skips = read_skips()
    unexpected = [
        f"{c['check_id']} {c['resource']} ({c['file_path']}:{c['file_line_range'][0]}): "
        f"{c['check_name']}"
        for c in failed_checks(reports[scan])
        if (c["check_id"], c["resource"]) not in skips
    ]
    assert not unexpected, "checkov findings:\n" + "\n".join(unexpected)


def test_every_listed_exception_is_still_needed(reports: dict[str, dict[str, Any]]) -> None:
    failed = {
        (c["check_id"], c["resource"]) for report in reports.values() for c in failed_checks(report)
    }
    stale = sorted(set(read_skips()) - failed)
    assert not stale, f"checkov-skips.txt lists findings checkov no longer reports: {stale}"


def project_check_ids() -> set[str]:
    ids = set()
    for path in sorted(CHECKS_DIR.glob("*.yaml")):
        (check_id,) = re.findall(r'^  id: "(CKV2_SMK_\d+)"$', path.read_text(), re.M)
        ids.add(check_id)
    return ids


def test_the_project_checks_are_there() -> None:
    assert project_check_ids() == {"CKV2_SMK_1", "CKV2_SMK_2"}


@pytest.mark.parametrize("scan", SCANS)
def test_the_scan_reaches_the_batch_resources_in_the_modules(
    reports: dict[str, dict[str, Any]], scan: str
) -> None:
    report = reports[scan]
    environments = checked(report, "CKV2_SMK_1")
    queues = checked(report, "CKV2_SMK_2")
    # The root's EC2 queue is always there, the coordinator queue is on by default.
    assert {
        "aws_batch_compute_environment.ec2",
        "module.coordinator_queue[0].aws_batch_compute_environment.this",
    } <= environments
    assert {
        "aws_batch_job_queue.ec2",
        "module.coordinator_queue[0].aws_batch_job_queue.this",
    } <= queues
    # Unlike a resource, a module call whose count is 0 is still scanned, without index.
    index = "[0]" if scan == "every option on" else ""
    assert f"module.fargate_queue{index}.aws_batch_compute_environment.this" in environments
    assert f"module.fargate_queue{index}.aws_batch_job_queue.this" in queues
    # Found in modules/fargate_queue/main.tf, read once per call; not scanned on its own.
    in_module_file = {
        c["resource"]
        for kind in ("passed_checks", "failed_checks")
        for c in report["results"].get(kind, [])
        if c["file_path"] == "/modules/fargate_queue/main.tf"
    }
    assert in_module_file
    assert all(resource.startswith("module.") for resource in in_module_file)
