"""The run record through the real ``snakemake`` command line on the local endpoint."""

from __future__ import annotations

import csv
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from snakemake_executor_plugin_aws_batch.record.rows import COLUMNS

from ..browser import chromium as browser
from ..browser.chromium import Dom
from .conftest import PLANTED_HOST_SECRET, PLANTED_STORAGE_SECRET, batch_client, cancel_held, sent

pytestmark = pytest.mark.e2e

FAN_OUT = """
rule all:
    input: expand("out/{i}.txt", i=range(4)), "big.txt"

rule small:
    output: "out/{i}.txt"
    shell: "sleep 1; echo {wildcards.i} > {output}"

rule big:
    output: "big.txt"
    resources: aws_batch_vcpu=2, aws_batch_mem_mb=4096
    shell: "sleep 2; echo big > {output}"
"""


def the_record(path: Path) -> Path:
    [folder] = (path / ".snakemake" / "aws-batch").iterdir()
    return folder


def ids_of(found: list[dict[str, str]]) -> list[str]:
    return [row["batch_job_id"] for row in found]


def rows(folder: Path) -> list[dict[str, str]]:
    with (folder / "jobs.tsv").open() as stream:
        reader = csv.DictReader(stream, delimiter="\t")
        assert tuple(reader.fieldnames or ()) == COLUMNS
        return list(reader)


def descriptions(flow: Any, found: list[dict[str, str]]) -> dict[str, dict[str, Any]]:
    """AWS Batch's description of each row's job, by its id."""
    ids = [row["batch_job_id"] for row in found]
    return {job["jobId"]: job for job in batch_client(flow.local).describe_jobs(jobs=ids)["jobs"]}


def ms(text: str) -> int:
    return round(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def test_a_fan_out_leaves_a_record_that_matches_aws_batch(workflow: Any) -> None:
    flow = workflow(FAN_OUT)
    result = flow.run()
    assert result.returncode == 0, result.output[-5000:]
    folder = the_record(flow.path)
    assert f"AWS Batch run record: {folder.resolve()} (" in result.output
    found = rows(folder)
    assert sorted(r["rule"] for r in found) == ["big", "small", "small", "small", "small"]
    described = descriptions(flow, found)
    for row in found:
        job = described[row["batch_job_id"]]
        assert row["job_name"] == job["jobName"]
        assert row["status"] == "SUCCEEDED"
        assert row["exit_code"] == "0"
        assert row["attempts"] == "1"
        assert row["queue"] == flow.local.job_queue
        assert ms(row["submitted_at"]) == job["createdAt"]
        assert ms(row["started_at"]) == job["startedAt"]
        assert ms(row["stopped_at"]) == job["stoppedAt"]
        assert float(row["queued_s"]) == pytest.approx((job["startedAt"] - job["createdAt"]) / 1000)
        assert float(row["run_s"]) == pytest.approx((job["stoppedAt"] - job["startedAt"]) / 1000)
        assert row["log_stream"] == job["container"]["logStreamName"]
    [big] = [r for r in found if r["rule"] == "big"]
    assert (big["vcpu"], big["memory_mib"], big["gpu"]) == ("2", "4096", "0")
    assert {r["wildcards"] for r in found if r["rule"] == "small"} == {f"i={i}" for i in range(4)}
    # Sorted by submission.
    assert [r["submitted_at"] for r in found] == sorted(r["submitted_at"] for r in found)

    summary = json.loads((folder / "summary.json").read_text())
    run_s = {r["batch_job_id"]: float(r["run_s"]) for r in found}
    assert summary["total"]["jobs"] == 5
    assert summary["total"]["failed"] == 0
    assert summary["rules"]["big"]["vcpu_hours"] == pytest.approx(
        2 * run_s[big["batch_job_id"]] / 3600, abs=1e-4
    )
    assert summary["total"]["memory_gib_hours"] == pytest.approx(
        sum(float(r["memory_mib"]) / 1024 * run_s[r["batch_job_id"]] for r in found) / 3600,
        abs=1e-3,
    )
    assert "AWS Batch usage:" in result.output
    assert (folder / "timeline.html").stat().st_size > 0
    # Nothing secret, no environment, no command.
    for name in ("jobs.tsv", "summary.json", "timeline.html"):
        text = (folder / name).read_text()
        for secret in (PLANTED_HOST_SECRET, PLANTED_STORAGE_SECRET, "snakemake --", "AWS_"):
            assert secret not in text, (name, secret)


def test_a_failed_job_and_a_refused_one_have_their_rows(workflow: Any) -> None:
    flow = workflow(
        """
        rule all:
            input: "ok.txt", "bad.txt", "refused.txt"
        rule ok:
            output: "ok.txt"
            shell: "echo ok > {output}"
        rule bad:
            output: "bad.txt"
            shell: "exit 3"
        rule refused:
            output: "refused.txt"
            resources: aws_batch_mem_mb=lambda wildcards: 100
            shell: "echo no > {output}"
        """
    )
    result = flow.run("--keep-going")
    assert result.returncode != 0
    by_rule = {r["rule"]: r for r in rows(the_record(flow.path))}
    assert by_rule["ok"]["status"] == "SUCCEEDED"
    bad = by_rule["bad"]
    assert bad["status"] == "FAILED"
    assert bad["exit_code"] not in ("", "0")
    assert bad["status_reason"]
    assert bad["log_stream"]
    refused = by_rule["refused"]
    assert refused["status"] == "NOT_SUBMITTED"
    assert "aws_batch_mem_mb" in refused["status_reason"]
    assert refused["batch_job_id"] == ""
    assert len(sent(flow.local, "SubmitJob")) == 2
    # The run's own timeline, drawn by Chromium: a bar per job, the failed one marked.
    page = the_record(flow.path) / "timeline.html"
    dom = Dom(browser.run(browser.find(), flow.path / "profile", "--dump-dom", page.as_uri()))
    drawn = {bar.attrs["data-jobid"]: bar for bar in dom.find(cls="bar")}
    assert set(drawn) == {row["jobid"] for row in by_rule.values()}
    assert "failed" in drawn[bad["jobid"]].classes
    assert "nodata" in drawn[refused["jobid"]].classes


def test_a_cancelled_run_records_its_cancelled_jobs(workflow: Any) -> None:
    flow = workflow(
        """
        rule all:
            input: expand("held/{i}.txt", i=range(3))
        rule held:
            output: "held/{i}.txt"
            shell: "touch {output}"
        """
    )
    flow.local.set_knobs(hold_jobs=True)
    process = flow.start()
    output, _ = cancel_held(
        flow, process, lambda: len(sent(flow.local, "SubmitJob")) >= 3, settle_s=2
    )
    found = rows(the_record(flow.path))
    assert [r["status"] for r in found] == ["CANCELLED"] * 3, output[-3000:]
    assert all(r["batch_job_id"] for r in found)
    assert "AWS Batch run record:" in output


def test_array_children_have_rows_completed_by_one_final_describe(workflow: Any) -> None:
    flow = workflow(
        """
        rule all:
            input: expand("out/{i}.txt", i=range(12))
        rule work:
            output: "out/{i}.txt"
            shell: "echo {wildcards.i} > {output}"
        """
    )
    target = flow.path / "records"
    result = flow.run("--jobs", "20", "--aws-batch-run-record", str(target))
    assert result.returncode == 0, result.output[-5000:]
    [folder] = target.iterdir()
    found = rows(folder)
    assert len(found) == 12
    assert all(r["attempts"] == "1" and r["log_stream"] and r["run_s"] for r in found)
    # The 12 jobs in one array (or a few, when preparing the round took longer than the
    # first release: see arrays.Gathering): a row per child, named as its array.
    arrays = [r for r in sent(flow.local, "SubmitJob") if "arrayProperties" in r]
    assert arrays
    by_parent: dict[str, list[dict[str, str]]] = {}
    for row in found:
        if ":" in row["batch_job_id"]:
            by_parent.setdefault(row["batch_job_id"].split(":")[0], []).append(row)
    assert sorted(len(c) for c in by_parent.values()) == sorted(
        a["arrayProperties"]["size"] for a in arrays
    )
    for parent, its_rows in by_parent.items():
        assert sorted(ids_of(its_rows)) == sorted(f"{parent}:{i}" for i in range(len(its_rows)))
        assert len({r["job_name"] for r in its_rows}) == 1
    assert {r["job_name"] for r in found if ":" in r["batch_job_id"]} == {
        a["jobName"] for a in arrays
    }
    if len(arrays) == 1:
        assert arrays[0]["arrayProperties"] == {"size": 12}
    # Each child described once, at the end.
    children = [i for r in sent(flow.local, "DescribeJobs") for i in r["jobs"] if ":" in i]
    assert sorted(children) == sorted(i for c in by_parent.values() for i in ids_of(c))


def test_jobs_that_fail_before_a_status_round_sees_them_run_have_failed_rows_with_exit_codes(
    workflow: Any,
) -> None:
    # The containers run Snakemake, which ends with the run block's own exit code: 7.
    # Status rounds 10 s apart: the jobs end before a round sees them RUNNING.
    flow = workflow(
        """
        rule all:
            input: expand("many/{i}.txt", i=range(10)), "one.txt"
        rule many:
            output: "many/{i}.txt"
            run:
                import os
                os._exit(7)
        rule one:
            output: "one.txt"
            run:
                import os
                os._exit(7)
        """
    )
    result = flow.run("--keep-going", "--jobs", "20", "--seconds-between-status-checks", "10")
    assert result.returncode != 0
    found = rows(the_record(flow.path))
    assert sorted(r["rule"] for r in found) == ["many"] * 10 + ["one"]
    assert len([r for r in sent(flow.local, "SubmitJob") if "arrayProperties" in r]) == 1
    described = descriptions(flow, found)
    for row in found:
        job = described[row["batch_job_id"]]
        assert job["status"] == "FAILED"
        assert (row["status"], row["exit_code"]) == ("FAILED", "7"), row
        assert job["attempts"][-1]["container"]["exitCode"] == 7
        assert row["attempts"] == "1"
        assert row["started_at"], row
        assert row["stopped_at"], row
        assert row["log_stream"], row
