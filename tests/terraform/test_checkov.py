"""The Terraform passes checkov's checks, except the exceptions in checkov-skips.txt."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from tests.terraform.config import REPO_ROOT, TERRAFORM_DIR

CHECKOV = REPO_ROOT / ".venv-iac" / "bin" / "checkov"
SKIPS_FILE = TERRAFORM_DIR / "checkov-skips.txt"


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


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    if not CHECKOV.exists():
        pytest.fail(
            f"checkov is not installed at {CHECKOV.relative_to(REPO_ROOT)}; "
            "run `make .venv-iac/.installed` (part of `make test`)"
        )
    result = subprocess.run(
        [
            str(CHECKOV),
            "-d",
            str(TERRAFORM_DIR),
            "--framework",
            "terraform",
            "-o",
            "json",
            "--quiet",
            "--skip-download",
        ],
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


def test_skips_file_gives_a_reason_for_each_exception() -> None:
    assert read_skips(), "checkov-skips.txt lists no exception"


def test_checkov_scanned_the_configuration(report: dict[str, Any]) -> None:
    summary = report["summary"]
    assert summary["parsing_errors"] == 0
    assert summary["resource_count"] >= 30
    assert summary["passed"] > 100


def test_no_failed_checks_beyond_the_listed_exceptions(report: dict[str, Any]) -> None:
    skips = read_skips()
    unexpected = [
        f"{c['check_id']} {c['resource']} ({c['file_path']}:{c['file_line_range'][0]}): "
        f"{c['check_name']}"
        for c in report["results"]["failed_checks"]
        if (c["check_id"], c["resource"]) not in skips
    ]
    assert not unexpected, "checkov findings:\n" + "\n".join(unexpected)


def test_every_listed_exception_is_still_needed(report: dict[str, Any]) -> None:
    failed = {(c["check_id"], c["resource"]) for c in report["results"]["failed_checks"]}
    stale = sorted(set(read_skips()) - failed)
    assert not stale, f"checkov-skips.txt lists findings checkov no longer reports: {stale}"
