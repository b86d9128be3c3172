"""The records of earlier runs: since when an earlier run of this workflow, killed before it
wrote its summary, may have left jobs behind."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from snakemake_executor_plugin_aws_batch.resume.earlier_runs import (
    RUN_FILE,
    SUMMARY_FILE,
    Window,
    window,
    write_run_file,
)

WORKFLOW = "workflow-1"


def run(base: Path, name: str, *, started: int, workflow: str = WORKFLOW, ended: bool) -> Path:
    """A run's record folder, with its summary when it ``ended``."""
    folder = base / name
    folder.mkdir(parents=True)
    write_run_file(folder, workflow=workflow, started_ms=started)
    if ended:
        (folder / SUMMARY_FILE).write_text("{}")
    return folder


def test_the_run_file_holds_the_workflow_and_the_start(tmp_path):
    write_run_file(tmp_path, workflow=WORKFLOW, started_ms=1234)
    assert json.loads((tmp_path / RUN_FILE).read_text()) == {
        "workflow": WORKFLOW,
        "started_ms": 1234,
    }


def test_no_record_says_nothing(tmp_path):
    assert window(tmp_path / "missing", WORKFLOW) == Window(None)
    assert window(tmp_path, WORKFLOW) == Window(None)
    (tmp_path / "2026-12-01T100000").write_text("a file, not a record")
    assert window(tmp_path, WORKFLOW) == Window(None)


def test_the_window_starts_at_the_oldest_of_the_latest_runs_that_ended_without_summary(tmp_path):
    run(tmp_path, "2026-12-01T100000", started=100, ended=False)  # before one that ended
    run(tmp_path, "2026-12-01T110000", started=200, ended=True)
    run(tmp_path, "2026-12-01T120000", started=300, ended=False)
    run(tmp_path, "2026-12-01T130000", started=400, ended=False)
    assert window(tmp_path, WORKFLOW) == Window(300)


def test_a_latest_run_that_ended_leaves_no_window(tmp_path):
    run(tmp_path, "2026-12-01T100000", started=100, ended=False)
    run(tmp_path, "2026-12-01T110000", started=200, ended=True)
    assert window(tmp_path, WORKFLOW) == Window(None)


def test_the_excluded_folder_is_not_looked_at(tmp_path):
    run(tmp_path, "2026-12-01T100000", started=100, ended=False)
    this_run = run(tmp_path, "2026-12-01T110000", started=200, ended=True)
    assert window(tmp_path, WORKFLOW, exclude=this_run) == Window(100)


def test_a_record_of_another_workflow_ends_the_search_with_a_note(tmp_path):
    run(tmp_path, "2026-12-01T100000", started=100, ended=False)
    other = run(tmp_path, "2026-12-01T110000", started=200, workflow="workflow-2", ended=False)
    run(tmp_path, "2026-12-01T120000", started=300, ended=False)
    found = window(tmp_path, WORKFLOW)
    assert found.since_ms == 300
    assert found.notes == (f"The run record {other} is of another workflow: not used to resume.",)


@pytest.mark.parametrize(
    ("content", "what"),
    [
        ('{"workflow": "workflow-1", "started', "cannot be read (run.json: JSONDecodeError)"),
        (b"\xff\xfe", "cannot be read (run.json: UnicodeDecodeError)"),
        ("[]", "holds no workflow and start in run.json"),
        ('{"workflow": "workflow-1"}', "holds no workflow and start in run.json"),
        (
            '{"workflow": "workflow-1", "started_ms": "100"}',
            "holds no workflow and start in run.json",
        ),
        (
            '{"workflow": "workflow-1", "started_ms": true}',
            "holds no workflow and start in run.json",
        ),
    ],
)
def test_a_record_that_cannot_be_read_ends_the_search_with_a_note(tmp_path, content, what):
    run(tmp_path, "2026-12-01T100000", started=100, ended=False)
    broken = tmp_path / "2026-12-01T110000"
    broken.mkdir()
    if isinstance(content, bytes):
        (broken / RUN_FILE).write_bytes(content)
    elif content is not None:
        (broken / RUN_FILE).write_text(content)
    assert window(tmp_path, WORKFLOW) == Window(
        None, (f"The run record {broken} {what}: not used to resume.",)
    )


def test_a_record_without_a_run_file_is_passed_over(tmp_path):
    run(tmp_path, "2026-12-01T100000", started=100, ended=False)
    (tmp_path / "2026-12-01T110000").mkdir()  # stopped before it wrote its run file
    assert window(tmp_path, WORKFLOW) == Window(100)


def test_the_tenth_run_of_a_second_comes_after_the_ninth(tmp_path):
    run(tmp_path, "2026-12-01T100000", started=1, ended=True)
    run(tmp_path, "2026-12-01T100000-9", started=9, ended=False)
    run(tmp_path, "2026-12-01T100000-10", started=10, ended=True)
    assert window(tmp_path, WORKFLOW) == Window(None)
