"""Array jobs through the real ``snakemake`` command line on the local AWS Batch endpoint."""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from typing import Any

from .conftest import batch_client, calls, cancel_held, jobs_named, sent

# Sample names as real workflows have them: short and long, with dots, dashes, underscores.
SAMPLES = [
    "NA12878",
    "HG00096",
    "s1",
    "sample.with.dots",
    "tumour-normal_pair-07",
    "x" * 10,
    "patient_0042_timepoint_3_replicate_b_lane_L001_R1",
    *(f"S{i:03d}-{'ab' * (i % 20)}" for i in range(23)),
]
assert len(set(SAMPLES)) == 30
STATES = ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED", "FAILED")

FAN_OUT = """
SAMPLES = {samples!r}

rule all:
    input: expand("out/{{sample}}.txt", sample=SAMPLES)

rule map:
    output: "out/{{sample}}.txt"
    shell: "echo 'sample={{wildcards.sample}}' > {{output}}"
"""


def arrays_sent(local: Any) -> list[dict[str, Any]]:
    return [r for r in sent(local, "SubmitJob") if "arrayProperties" in r]


def singles_sent(local: Any) -> list[dict[str, Any]]:
    return [r for r in sent(local, "SubmitJob") if "arrayProperties" not in r]


def jobs_submitted(local: Any) -> int:
    """The jobs sent so far: each array's children and each job sent alone."""
    return sum(r["arrayProperties"]["size"] for r in arrays_sent(local)) + len(singles_sent(local))


def children(local: Any, parent_id: str) -> list[dict[str, Any]]:
    """Every child of an array job, described."""
    batch = batch_client(local)
    ids = [
        summary["jobId"]
        for status in STATES
        for summary in batch.list_jobs(arrayJobId=parent_id, jobStatus=status)["jobSummaryList"]
    ]
    return [
        job
        for start in range(0, len(ids), 100)
        for job in batch.describe_jobs(jobs=ids[start : start + 100])["jobs"]
    ]


def test_a_fan_out_of_one_rule_runs_as_one_array_and_every_output_is_right(
    workflow: Any,
) -> None:
    flow = workflow(FAN_OUT.format(samples=SAMPLES))
    result = flow.run("--jobs", "40")
    assert result.returncode == 0, result.output[-5000:]
    for sample in SAMPLES:
        assert flow.read(f"out/{sample}.txt").strip() == f"sample={sample}"
    # One array, or a few when preparing the round took longer than the first release
    # (half a second: see arrays.Gathering); never a job alone.
    requests = arrays_sent(flow.local)
    assert sum(r["arrayProperties"]["size"] for r in requests) == 30
    assert len(requests) <= 3
    assert not singles_sent(flow.local)
    lines = []
    for request in requests:
        assert re.fullmatch(r"snakejob-map-[0-9a-f-]{36}", request["jobName"])
        # One log line per Snakemake job, naming the array job and the child's index.
        found = re.findall(
            rf"Submitting AWS Batch job {request['jobName']} \[index (\d+)\] \(sample=([^)]+)\)",
            result.output,
        )
        assert sorted(int(index) for index, _ in found) == list(
            range(request["arrayProperties"]["size"])
        )
        lines += found
    assert sorted(sample for _, sample in lines) == sorted(SAMPLES)
    # The status rounds describe the parents and list the finished children; the
    # children are described once, together, only for the run record at the end.
    asked = [r["jobs"] for r in sent(flow.local, "DescribeJobs")]  # before the test's own
    parents = {str(job["jobId"]): job for job in jobs_named(flow.local, "snakejob-")}
    with_children = [ids for ids in asked if any(":" in i for i in ids)]
    children = sorted(
        f"{parent}:{i}"
        for parent, job in parents.items()
        for i in range(job["arrayProperties"]["size"])
    )
    assert [sorted(ids) for ids in with_children] == [children]
    assert {i for ids in asked for i in ids if ":" not in i} == set(parents)


FAILING = """
rule all:
    input: expand("out/{i}.txt", i=range(12))

rule work:
    output: "out/{i}.txt"
    shell:
        "if [ {wildcards.i} = 7 ]; then echo 'boom in job 7'; exit 3; fi; "
        "echo {wildcards.i} > {output}"
"""


def test_a_failing_child_fails_only_its_own_job(workflow: Any) -> None:
    flow = workflow(FAILING)
    result = flow.run("--jobs", "20", "--keep-going")
    assert result.returncode != 0
    for i in set(range(12)) - {7}:
        assert flow.read(f"out/{i}.txt").strip() == str(i)
    # The 12 jobs in one array (or a few, when preparing the round took longer than the
    # first release: see arrays.Gathering); each child ends as its own job does.
    arrays = arrays_sent(flow.local)
    assert jobs_submitted(flow.local) == 12
    if len(arrays) == 1:
        assert arrays[0]["arrayProperties"] == {"size": 12}
    ended = [
        (job, child)
        for job in jobs_named(flow.local, "snakejob-work-")
        for child in (children(flow.local, job["jobId"]) if "arrayProperties" in job else [job])
    ]
    assert Counter(child["status"] for _, child in ended) == {"SUCCEEDED": 11, "FAILED": 1}
    [(parent, failed)] = [(job, child) for job, child in ended if child["status"] == "FAILED"]
    # The error names the failed job's own id (a child's, if it ran in an array), exit
    # code and log lines.
    assert f"AWS Batch job {failed['jobId']} ({parent['jobName']}) failed" in result.output
    if "arrayProperties" in parent:
        assert re.fullmatch(rf"{parent['jobId']}:\d+", failed["jobId"])
    # Snakemake in the job exits non-zero when its shell command exits 3.
    assert failed["container"]["exitCode"] != 0
    assert f"Exit code: {failed['container']['exitCode']}." in result.output
    assert "\n    boom in job 7\n" in result.output  # the failed job's own log lines
    assert "returned non-zero exit status 3" in result.output
    assert result.output.count("Exit code:") == 1, result.output[-5000:]


RETRIED = """
rule all:
    input: expand("out/{i}.txt", i=range(12))

rule flaky:
    output: "out/{i}.txt"
    resources: tries=lambda wildcards, attempt: attempt
    shell:
        "if [ {wildcards.i} = 4 ] && [ {resources.tries} = 1 ]; then exit 5; fi; "
        "echo {wildcards.i}:{resources.tries} > {output}"
"""


def test_a_failed_child_is_retried_alone_by_snakemake_retries(workflow: Any) -> None:
    flow = workflow(RETRIED)
    result = flow.run("--jobs", "20", "--retries", "1")
    assert result.returncode == 0, result.output[-5000:]
    for i in range(12):
        assert flow.read(f"out/{i}.txt").strip() == f"{i}:{2 if i == 4 else 1}"
    # The 12 jobs in an array (or a few, when preparing the round took longer than the
    # first release: see arrays.Gathering), then the failed child's job alone, once.
    arrays, singles = arrays_sent(flow.local), singles_sent(flow.local)
    assert 1 <= len(arrays) <= 3
    assert jobs_submitted(flow.local) == 12 + 1
    again = singles[-1]  # only the failed child's job comes back
    assert again["jobName"].startswith("snakejob-flaky-")
    if len(arrays) == 1:
        assert arrays[0]["arrayProperties"] == {"size": 12}
        assert len(singles) == 1


def test_cancel_terminates_every_array_and_leaves_no_child_running(workflow: Any) -> None:
    flow = workflow(
        """
        rule all:
            input: expand("a/{i}.txt", i=range(20)), expand("b/{i}.txt", i=range(15))
        rule a:
            output: "a/{i}.txt"
            shell: "touch {output}"
        rule b:
            output: "b/{i}.txt"
            shell: "touch {output}"
        """
    )
    flow.local.set_knobs(hold_jobs=True)
    process = flow.start("--jobs", "50")
    # An array per rule, or more when preparing the round took longer than the first
    # release (see arrays.Gathering: a group's last job may then go alone).
    output, exit_s = cancel_held(
        flow, process, lambda: jobs_submitted(flow.local) >= 35, settle_s=2
    )
    arrays, singles = len(arrays_sent(flow.local)), len(singles_sent(flow.local))
    assert 2 <= arrays <= 6
    assert singles <= 2
    assert exit_s < 30
    parents = [
        j
        for j in jobs_named(flow.local, "snakejob-")
        if (j.get("arrayProperties") or {}).get("size")
    ]
    assert len(parents) == arrays, output[-5000:]
    # One TerminateJob per array, not per child (and one per job alone).
    assert calls(flow.local).get("TerminateJob", 0) == arrays + singles
    for parent in parents:
        states = Counter(child["status"] for child in children(flow.local, parent["jobId"]))
        assert set(states) == {"FAILED"}, (parent["jobName"], states)
        assert sum(states.values()) == parent["arrayProperties"]["size"]


def test_small_groups_group_jobs_and_named_jobs_are_submitted_one_by_one(
    workflow: Any,
) -> None:
    flow = workflow(
        """
        rule all:
            input:
                expand("few/{i}.txt", i=range(5)),
                expand("grouped/{i}.txt", i=range(12)),
                expand("named/{i}.txt", i=range(12)),
        rule few:
            output: "few/{i}.txt"
            shell: "touch {output}"
        rule grouped:
            output: "grouped/{i}.txt"
            group: "g"
            shell: "touch {output}"
        rule named:
            output: "named/{i}.txt"
            resources: aws_batch_job_uuid=lambda wildcards: f"sample-{wildcards.i}"
            shell: "touch {output}"
        """
    )
    result = flow.run("--jobs", "40")
    assert result.returncode == 0, result.output[-5000:]
    assert not arrays_sent(flow.local), [r["jobName"] for r in arrays_sent(flow.local)]
    names = [r["jobName"] for r in singles_sent(flow.local)]
    assert len(names) == 5 + 12 + 12
    assert sorted(n for n in names if n.startswith("snakejob-named-")) == sorted(
        f"snakejob-named-sample-{i}" for i in range(12)
    )


def test_an_ambiguous_answer_does_not_create_an_array_twice(workflow: Any) -> None:
    flow = workflow(
        """
        rule all:
            input: [expand(f"{r}/{{i}}.txt", i=range(5)) for r in "abcd"]
        rule a:
            output: "a/{i}.txt"
            shell: "echo {wildcards.i} > {output}"
        rule b:
            output: "b/{i}.txt"
            shell: "echo {wildcards.i} > {output}"
        rule c:
            output: "c/{i}.txt"
            shell: "echo {wildcards.i} > {output}"
        rule d:
            output: "d/{i}.txt"
            shell: "echo {wildcards.i} > {output}"
        """
    )
    flow.local.set_knobs(ambiguous_rate=0.5)
    try:
        result = flow.run("--jobs", "20", "--aws-batch-array-min-size", "5", timeout=900)
    finally:
        flow.local.set_knobs(ambiguous_rate=0.0)
    assert result.returncode == 0, result.output[-5000:]
    parents = jobs_named(flow.local, "snakejob-")
    assert sorted(p["jobName"].split("-")[1] for p in parents) == ["a", "b", "c", "d"], [
        p["jobName"] for p in parents
    ]
    assert all(p["arrayProperties"]["size"] == 5 for p in parents)
    for rule in "abcd":
        for i in range(5):
            assert flow.read(f"{rule}/{i}.txt").strip() == str(i)


def test_a_group_too_large_for_one_request_is_split_into_arrays(workflow: Any) -> None:
    # 40 names of 249 characters (an output file's name, 253, stays under the 255 a file
    # system allows), more than 8 KiB together.
    samples = [
        f"sample_{i:03d}_" + (hashlib.sha256(bytes([i])).hexdigest() * 4)[:238] for i in range(40)
    ]
    flow = workflow(FAN_OUT.format(samples=samples))
    result = flow.run("--jobs", "40", timeout=900)
    assert result.returncode == 0, result.output[-5000:]
    requests = arrays_sent(flow.local)
    assert len(requests) >= 2
    sizes = [r["arrayProperties"]["size"] for r in requests] + [1] * len(singles_sent(flow.local))
    assert sum(sizes) == 40
    for request in requests:
        assert len(json.dumps(request["containerOverrides"], separators=(",", ":"))) <= 8192
    for sample in samples[::9]:
        assert flow.read(f"out/{sample}.txt").strip() == f"sample={sample}"
