"""``snakemake --help`` shows every setting of the plugin with its default."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys

import pytest

from snakemake_executor_plugin_aws_batch import ExecutorSettings

pytestmark = pytest.mark.e2e


def option_help() -> dict[str, str]:
    """Each ``--aws-batch-*`` option's help text, on one line."""
    text = subprocess.run(
        [sys.executable, "-m", "snakemake", "--help"],
        capture_output=True,
        text=True,
        check=True,
        env={"COLUMNS": "100", "PATH": ""},
    ).stdout
    blocks = re.findall(r"^  (--aws-batch-[a-z-]+)[^\n]*\n((?:\s{10,}[^\n]*\n)+)", text, re.M)
    return {name: " ".join(body.split()) for name, body in blocks}


def test_every_setting_shows_its_default_and_the_required_one_says_so() -> None:
    shown = option_help()
    names = [
        f"--aws-batch-{f.name.replace('_', '-')}" for f in dataclasses.fields(ExecutorSettings)
    ]
    assert sorted(shown) == sorted(names)
    assert "Required." in shown["--aws-batch-job-queue"]
    assert "Default: 50.0." in shown["--aws-batch-submit-rate"]
    assert "Default: 300." in shown["--aws-batch-task-timeout"]
    assert "Default: off." in shown["--aws-batch-assign-public-ip"]
    assert "Default: unset." in shown["--aws-batch-job-role"]
    for name in names:
        assert ("Default: " in shown[name]) != (name == "--aws-batch-job-queue"), shown[name]
        assert "[env var: SNAKEMAKE_AWS_BATCH_" in shown[name]
