"""The Executor's own logic (submission hand-over, status reports), on fakes.

The Snakemake side is faked by the few methods the executor calls; the AWS side
by fakes of the submitter, the watcher and the service.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import os
import shlex
import shutil
import signal
import subprocess
import tempfile
import types
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from snakemake_executor_plugin_aws_batch.aws.service import MARKER_VARIABLE
from snakemake_executor_plugin_aws_batch.executor import Executor
from snakemake_executor_plugin_aws_batch.jobspec import payloads, spec
from snakemake_executor_plugin_aws_batch.jobspec.platform import Platform
from snakemake_executor_plugin_aws_batch.record.run_record import RunRecord
from snakemake_executor_plugin_aws_batch.resume import identity
from snakemake_executor_plugin_aws_batch.resume.takeover import Takeover
from snakemake_executor_plugin_aws_batch.settings import configuration
from snakemake_executor_plugin_aws_batch.submission import arrays
from snakemake_executor_plugin_aws_batch.tracking.jobs import ArrayJob, JobBook, JobRecord
from snakemake_executor_plugin_aws_batch.tracking.round import Verdict
from snakemake_executor_plugin_aws_batch.tracking.status import Outcome

from ..fakes import RecordingLogger


class Submission(NamedTuple):
    target: Any  # a JobRecord, or an ArrayJob
    spec: spec.JobSpec
    command: str
    environment: dict[str, str]
    array_size: int | None


class Submitter:
    def __init__(self) -> None:
        self.submitted: list[Submission] = []

    def submit(
        self,
        target: JobRecord | ArrayJob,
        job: spec.JobSpec,
        *,
        command: str,
        environment: Mapping[str, str],
        array_size: int | None = None,
    ) -> None:
        self.submitted.append(Submission(target, job, command, dict(environment), array_size))


class Watcher:
    """Yields the verdicts it is given, by job name; can fail half-way."""

    def __init__(self, verdicts: dict[str, Verdict], fail_after: int | None = None) -> None:
        self.verdicts = verdicts
        self.fail_after = fail_after

    async def round(self, records, limiter):
        for count, record in enumerate(records):
            if self.fail_after is not None and count == self.fail_after:
                raise KeyError("a bug")
            yield record, self.verdicts[record.name]


class Recorder:
    """Stands in for the Snakemake methods the executor calls."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Any, Any]] = []
        self.printed: list[Any] = []  # the jobs run_job_pre was called for


def executor(platform: Platform = Platform.EC2) -> tuple[Executor, Recorder]:
    instance = Executor.__new__(Executor)
    recorder = Recorder()
    instance.config = configuration.GlobalConfig(default_queue="q", image="img:1")
    instance.service = types.SimpleNamespace(
        platform=lambda queue: platform, architectures=lambda queue: None
    )
    instance.submitter = Submitter()
    instance.jobs = JobBook()
    instance.record = RunRecord(Path(tempfile.mkdtemp(prefix="run-record-")))
    instance._cancelled = False
    instance.resubmitted = 0
    instance._sources_digest = None
    instance.environment = {"SNAKEMAKE_X": "1"}
    instance.logger = RecordingLogger()
    instance.warned = set()
    instance._sigterm_taken = True
    instance.status_rate_limiter = None
    instance.format_job_exec = lambda job: f"snakemake --target {job.name}"
    instance.report_job_submission = lambda info: recorder.events.append(
        ("submitted", info.job, info.aux)
    )
    instance.report_job_error = lambda info, msg=None: recorder.events.append(
        ("error", info.job, msg)
    )
    instance.report_job_success = lambda info: recorder.events.append(("success", info.job, None))
    instance.run_job_pre = recorder.printed.append
    instance.clock = lambda: 0.0  # a round prepared in no time: released whole at its end
    instance.workflow_id = "workflow-1"
    instance.takeover = Takeover(instance.service, instance.logger, cancel=True)  # finds nothing
    return instance, recorder


JOB_IDS = itertools.count(1)


def job(
    rule: str = "align",
    threads: int = 2,
    *,
    attempt: int = 1,
    group: bool = False,
    wildcards: dict[str, str] | None = None,
    **resources: Any,
) -> Any:
    return types.SimpleNamespace(
        name=rule,
        threads=threads,
        resources=resources,
        attempt=attempt,
        is_group=lambda: group,
        wildcards_dict=wildcards or {},
        jobid=next(JOB_IDS),
    )


def test_a_job_is_recorded_reported_and_handed_to_the_submitter():
    instance, recorder = executor()
    snakemake_job = job(aws_batch_mem_mb=4096)
    instance.run_job(snakemake_job)
    [(record, job_spec, command, environment, array_size)] = instance.submitter.submitted
    assert array_size is None
    assert recorder.events == [("submitted", snakemake_job, {"record": record})]
    assert instance.jobs.unfinished() == [record]
    assert (record.name, record.rule, record.queue) == (job_spec.name, "align", "q")
    assert record.resources.describe() == "2 vCPU, 4096 MiB"
    assert command == "snakemake --target align"
    # The run's environment, and what a later run of the workflow recognises the job by.
    marks = {k: environment.pop(k) for k in (identity.WORKFLOW_VARIABLE, identity.REQUEST_VARIABLE)}
    assert environment == {"SNAKEMAKE_X": "1"}
    assert marks[identity.WORKFLOW_VARIABLE] == "workflow-1"
    assert len(marks[identity.REQUEST_VARIABLE]) == 32
    assert instance.logger.at("info") == [
        f"Submitting AWS Batch job {record.name} to q (2 vCPU, 4096 MiB)."
    ]


def test_a_bad_resource_is_reported_as_the_jobs_error_and_nothing_is_submitted():
    instance, recorder = executor()
    snakemake_job = job(aws_batch_vcpu="many")
    instance.run_job(snakemake_job)
    [(kind, reported, message)] = recorder.events
    assert (kind, reported) == ("error", snakemake_job)
    assert "aws_batch_vcpu" in message
    assert "'align'" in message
    assert "many" in message
    assert instance.submitter.submitted == []
    assert len(instance.jobs) == 0


def test_a_platform_adjustment_is_warned_about_once_per_message():
    instance, _ = executor(Platform.FARGATE)
    instance.config = configuration.GlobalConfig(
        default_queue="q", image="img:1", execution_role="arn:r"
    )
    for _ in range(3):
        instance.run_job(job(threads=3))
    warnings = instance.logger.at("warning")
    assert len(warnings) == 2  # vCPU rounded up, and memory to a Fargate size: each once
    assert "3 threads is not a Fargate vCPU size" in warnings[0]
    assert "Fargate has no 1024 MiB size" in warnings[1]
    assert len(instance.submitter.submitted) == 3


def submitted_infos(instance: Executor, names: list[str]) -> list[Any]:
    for name in names:
        instance.run_job(job(name))
    return [
        types.SimpleNamespace(job=record.rule, aux={"record": record}, external_jobid=None)
        for record, *_ in instance.submitter.submitted
    ]


def still_running(instance: Executor, infos: list[Any]) -> list[Any]:
    async def collect() -> list[Any]:
        return [info async for info in instance.check_active_jobs(infos)]

    return asyncio.run(collect())


def test_status_round_reports_finished_jobs_and_keeps_the_running_ones():
    instance, recorder = executor()
    infos = submitted_infos(instance, ["a", "b", "c"])
    for info, batch_id in zip(infos, ("id-a", "id-b", "id-c"), strict=True):
        info.aux["record"].batch_id = batch_id
    recorder.events.clear()
    instance.watcher = Watcher(
        {
            infos[0].aux["record"].name: Verdict(Outcome.SUCCEEDED),
            infos[1].aux["record"].name: Verdict(Outcome.FAILED, "it broke\n"),
            infos[2].aux["record"].name: Verdict(Outcome.RUNNING),
        }
    )
    assert still_running(instance, infos) == [infos[2]]
    assert recorder.events == [("success", "a", None), ("error", "b", "it broke\n")]
    assert [info.external_jobid for info in infos] == ["id-a", "id-b", "id-c"]
    assert instance.jobs.unfinished() == [infos[2].aux["record"]]


def test_a_fault_in_the_round_fails_the_jobs_not_yet_reported_instead_of_escaping():
    instance, recorder = executor()
    infos = submitted_infos(instance, ["a", "b", "c"])
    recorder.events.clear()
    instance.watcher = Watcher(
        {info.aux["record"].name: Verdict(Outcome.RUNNING) for info in infos}, fail_after=1
    )
    assert still_running(instance, infos) == [infos[0]]
    assert [(kind, name) for kind, name, _ in recorder.events] == [("error", "b"), ("error", "c")]
    assert all("Internal error of the aws-batch executor" in m for _, _, m in recorder.events)
    assert len(instance.logger.at("error")) == 1
    assert instance.jobs.unfinished() == [infos[0].aux["record"]]


def test_no_active_jobs_means_no_round():
    instance, _ = executor()
    instance.watcher = None  # a round would fail
    assert still_running(instance, []) == []


@pytest.mark.parametrize("names", [["a"], ["a", "a"]])
def test_records_of_identical_jobs_stay_apart(names):
    instance, _ = executor()
    submitted_infos(instance, names)
    records = instance.jobs.unfinished()
    assert len(records) == len(names)
    instance.jobs.finish(records[0])
    assert len(instance.jobs) == len(names) - 1


def test_an_error_at_hand_over_ends_with_a_newline():
    instance, recorder = executor()
    instance.run_job(job(aws_batch_mem_mb=0))
    [(_, _, message)] = recorder.events
    assert message.endswith(".\n")


# Array jobs: one scheduling round through run_jobs ---------------------------------------


def printing(args: list[str]) -> str:
    return "printf '%s\\n' " + " ".join(shlex.quote(arg) for arg in args)


def arguments(snakemake_job: Any) -> list[str]:
    """What a job's command prints: its rule, wildcards and attempt, like Snakemake's."""
    targets = ",".join(f"{k}={v}" for k, v in snakemake_job.wildcards_dict.items())
    return [
        "snakemake",
        "--target-jobs",
        f"{snakemake_job.name}:{targets}",
        "--attempt",
        str(snakemake_job.attempt),
    ]


def array_executor(min_size: int = 10) -> tuple[Executor, Recorder]:
    instance, recorder = executor()
    instance.config = dataclasses.replace(instance.config, array_min_size=min_size)
    instance.format_job_exec = lambda snakemake_job: printing(arguments(snakemake_job))
    return instance, recorder


def samples(count: int, rule: str = "map", first: int = 0, **options: Any) -> list[Any]:
    return [
        job(rule, wildcards={"sample": f"s{n}"}, **options) for n in range(first, first + count)
    ]


def run_child(script: str, index: int) -> str:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), arrays.INDEX_VARIABLE: str(index)}
    done = subprocess.run(
        ["/bin/sh", "-c", script], env=env, capture_output=True, text=True, check=True
    )
    return done.stdout


def printed(args: list[str]) -> str:
    return "".join(f"{arg}\n" for arg in args)


def submissions(instance: Executor) -> list[Submission]:
    submitter = instance.submitter
    assert isinstance(submitter, Submitter)  # the fake
    return submitter.submitted


def submitted_arrays(instance: Executor) -> list[Submission]:
    return [s for s in submissions(instance) if isinstance(s.target, ArrayJob)]


def submitted_singles(instance: Executor) -> list[Submission]:
    return [s for s in submissions(instance) if isinstance(s.target, JobRecord)]


def reported_records(recorder: Recorder) -> dict[int, JobRecord]:
    """The record each job was reported submitted with, by the job's identity."""
    records = {id(j): aux["record"] for kind, j, aux in recorder.events if kind == "submitted"}
    assert len(records) == len([e for e in recorder.events if e[0] == "submitted"])
    return records


def test_a_rules_jobs_go_as_one_array_and_the_other_rules_jobs_alone() -> None:
    instance, recorder = array_executor(min_size=10)
    mapped = samples(12)
    aligned = samples(3, rule="align")
    jobs = [*mapped[:5], *aligned, *mapped[5:]]
    instance.run_jobs(jobs)
    assert recorder.printed == jobs
    [array_submission] = submitted_arrays(instance)
    singles = submitted_singles(instance)
    array = array_submission.target
    assert array_submission.array_size == array.size == 12
    assert array_submission.spec.rule == "map"
    assert array_submission.environment == {
        "SNAKEMAKE_X": "1",
        **identity.variables("workflow-1", array_submission.environment[identity.REQUEST_VARIABLE]),
    }
    # Its children share one fingerprint; the jobs of another rule have another.
    assert {s.environment[identity.REQUEST_VARIABLE] for s in submitted_singles(instance)} != {
        array_submission.environment[identity.REQUEST_VARIABLE]
    }
    records = reported_records(recorder)
    assert len(records) == len(jobs)
    assert len(instance.jobs) == len(jobs)
    assert [records[id(j)] for j in mapped] == array.children
    for index, snakemake_job in enumerate(mapped):
        record = records[id(snakemake_job)]
        assert (record.array, record.index, record.name) == (array, index, array.name)
        # Child ``index`` runs exactly this job's command.
        assert run_child(array_submission.command, index) == printed(arguments(snakemake_job))
    assert [s.target for s in singles] == [records[id(j)] for j in aligned]
    for single in singles:
        assert (single.target.array, single.target.index, single.array_size) == (None, None, None)
        assert single.spec.rule == "align"
    assert [s.command for s in singles] == [printing(arguments(j)) for j in aligned]


def test_a_long_round_sends_its_first_array_before_the_rest_is_prepared() -> None:
    instance, recorder = array_executor(min_size=10)
    ticks = itertools.count()
    instance.clock = lambda: next(ticks) / 64  # each job takes 1/64 s to prepare
    prepared_at_submission: list[int] = []
    submitter = instance.submitter
    assert isinstance(submitter, Submitter)
    submit = submitter.submit

    def noting(*args: Any, **kwargs: Any) -> None:
        prepared_at_submission.append(len(recorder.printed))
        submit(*args, **kwargs)

    submitter.submit = noting  # type: ignore[method-assign]
    jobs = samples(300)
    instance.run_jobs(jobs)
    # The first array went out after half a second of preparing: 32 jobs, not 300.
    assert prepared_at_submission[0] == 32
    assert len(prepared_at_submission) < 10  # each wait twice the last: few arrays
    arrays_sent = submitted_arrays(instance)
    assert submitted_singles(instance) == []
    records = reported_records(recorder)
    assert [records[id(j)] for j in jobs] == [c for s in arrays_sent for c in s.target.children]
    for submission in arrays_sent:
        for index, child in enumerate(submission.target.children):
            [snakemake_job] = [j for j in jobs if records[id(j)] is child]
            assert run_child(submission.command, index) == printed(arguments(snakemake_job))


@pytest.mark.parametrize(
    "jobs",
    [samples(9), [*samples(9), *samples(9, rule="align")]],
    ids=["too few in all", "too few of each rule"],
)
def test_below_the_threshold_every_job_goes_alone(jobs: list[Any]) -> None:
    instance, recorder = array_executor(min_size=10)
    instance.run_jobs(jobs)
    assert submitted_arrays(instance) == []
    assert len(submitted_singles(instance)) == len(jobs)
    assert recorder.printed == jobs
    assert all(r.array is None for r in reported_records(recorder).values())


def test_array_min_size_zero_submits_every_job_alone_as_it_is_ready() -> None:
    instance, _ = array_executor(min_size=0)
    jobs = samples(12)
    handed: list[int] = []
    instance.run_job_pre = lambda j: handed.append(len(submissions(instance)))
    instance.run_jobs(jobs)
    assert submitted_arrays(instance) == []
    assert len(submitted_singles(instance)) == 12
    # Each job is handed over before the next is even printed: the per-job path.
    assert handed == list(range(12))


@pytest.mark.parametrize(
    "options",
    [{"group": True}, {"aws_batch_job_uuid": "run-1"}, {"aws_batch_job_name_suffix": "v2"}],
)
def test_group_jobs_and_jobs_named_by_their_rule_go_alone(options: dict[str, Any]) -> None:
    instance, recorder = array_executor(min_size=2)
    jobs = samples(12, **options)
    instance.run_jobs(jobs)
    assert submitted_arrays(instance) == []
    assert len(submitted_singles(instance)) == 12
    assert len(reported_records(recorder)) == 12


def test_jobs_asking_for_other_resources_form_other_arrays() -> None:
    instance, recorder = array_executor(min_size=10)
    small = samples(10, mem_mb=2048)
    large = samples(10, first=10, mem_mb=4096)
    instance.run_jobs([j for pair in zip(small, large, strict=True) for j in pair])
    by_memory = {s.target.resources.memory_mib: s for s in submitted_arrays(instance)}
    assert sorted(by_memory) == [2048, 4096]
    records = reported_records(recorder)
    assert by_memory[2048].target.children == [records[id(j)] for j in small]
    assert by_memory[4096].target.children == [records[id(j)] for j in large]
    assert by_memory[4096].spec.resources.memory_mib == 4096
    assert submitted_singles(instance) == []


def test_jobs_of_another_attempt_form_another_array() -> None:
    instance, recorder = array_executor(min_size=10)
    first = samples(10)
    retried = samples(10, first=10, attempt=2)
    instance.run_jobs([*retried[:5], *first, *retried[5:]])
    records = reported_records(recorder)
    retried_array, first_array = submitted_arrays(instance)  # in order of first appearance
    assert retried_array.target.children == [records[id(j)] for j in retried]
    assert first_array.target.children == [records[id(j)] for j in first]
    assert run_child(retried_array.command, 3) == printed(arguments(retried[3]))


def test_each_child_is_logged_with_its_index_and_wildcards() -> None:
    instance, _ = array_executor(min_size=2)
    jobs = [
        job("map", wildcards={"sample": f"s{n}", "lane": f"L{n % 2}"}, aws_batch_mem_mb=2048)
        for n in range(3)
    ]
    instance.run_jobs(jobs)
    [submission] = submitted_arrays(instance)
    name = submission.target.name
    assert instance.logger.at("info") == [
        f"Submitting AWS Batch job {name} [index {n}] (sample=s{n}, lane=L{n % 2}) to q "
        "(2 vCPU, 2048 MiB)."
        for n in range(3)
    ]


def test_a_child_without_wildcards_is_logged_without_them() -> None:
    instance, _ = array_executor(min_size=2)
    instance.format_job_exec = lambda snakemake_job: "snakemake --target-jobs all"
    instance.run_jobs([job("all", aws_batch_mem_mb=2048), job("all", aws_batch_mem_mb=2048)])
    [submission] = submitted_arrays(instance)
    assert instance.logger.at("info")[1] == (
        f"Submitting AWS Batch job {submission.target.name} [index 1] to q (2 vCPU, 2048 MiB)."
    )


def sent_request(instance: Executor, submission: Submission) -> dict[str, Any]:
    """The request the submitter and the service would send for ``submission``."""
    request = payloads.submit_job(
        submission.spec,
        job_definition="arn:aws:batch:us-east-1:123456789012:job-definition/snakejob-d:1",
        command=submission.command,
        environment=submission.environment,
        array_size=submission.array_size,
    )
    return payloads.with_environment(request, {MARKER_VARIABLE: uuid.uuid4().hex})


def test_a_group_too_large_for_one_request_goes_as_several_arrays_that_each_fit() -> None:
    instance, recorder = array_executor(min_size=10)
    # 1,500 characters each, no two alike at any position: nothing shared to factor out.
    values = ["".join(chr(97 + (7 * n + i) % 26) for i in range(1500)) for n in range(12)]
    jobs = [job("map", wildcards={"sample": value}) for value in values]
    instance.run_jobs(jobs)
    submissions = submitted_arrays(instance)
    assert len(submissions) > 1
    records = reported_records(recorder)
    assert [c for s in submissions for c in s.target.children] == [records[id(j)] for j in jobs]
    start = 0
    for submission in submissions:
        assert submission.array_size == submission.target.size >= 2
        payloads.check_size("map", sent_request(instance, submission))
        for index in (0, submission.target.size - 1):
            expected = printed(arguments(jobs[start + index]))
            assert run_child(submission.command, index) == expected
        start += submission.target.size
    assert [records[id(j)].index for j in jobs] == [
        i for s in submissions for i in range(s.target.size)
    ]


def test_a_job_that_leaves_no_room_beside_it_goes_alone_with_its_own_command() -> None:
    instance, recorder = array_executor(min_size=10)
    jobs = samples(12)
    # Alone, it takes nearly all of containerOverrides: no other job fits beside it.
    jobs[5] = job("map", wildcards={"sample": "y" * (payloads.MAX_CONTAINER_OVERRIDES - 600)})
    instance.run_jobs(jobs)
    records = reported_records(recorder)
    [single] = submitted_singles(instance)
    assert single.target is records[id(jobs[5])]
    assert single.command == printing(arguments(jobs[5]))
    assert (single.target.array, single.array_size) == (None, None)
    payloads.check_size("map", sent_request(instance, single))
    assert [s.target.children for s in submitted_arrays(instance)] == [
        [records[id(j)] for j in jobs[:5]],
        [records[id(j)] for j in jobs[6:]],
    ]


def test_a_job_refused_at_hand_over_is_reported_and_the_others_still_share_an_array() -> None:
    instance, recorder = array_executor(min_size=10)
    jobs = samples(11)
    jobs[4] = job("map", wildcards={"sample": "bad"}, aws_batch_vcpu="many")
    instance.run_jobs(jobs)
    [error] = [e for e in recorder.events if e[0] == "error"]
    assert error[1] is jobs[4]
    assert "aws_batch_vcpu" in error[2]
    [submission] = submitted_arrays(instance)
    records = reported_records(recorder)
    assert submission.target.children == [records[id(j)] for j in jobs if j is not jobs[4]]
    assert recorder.printed == jobs


def test_children_are_reported_with_their_own_ids_in_the_status_round() -> None:
    instance, recorder = array_executor(min_size=2)
    instance.run_jobs(samples(3))
    [submission] = submitted_arrays(instance)
    submission.target.submitted("arr-1")
    infos = [
        types.SimpleNamespace(job=j, aux=aux, external_jobid=None)
        for kind, j, aux in recorder.events
        if kind == "submitted"
    ]
    instance.watcher = Watcher({submission.target.name: Verdict(Outcome.RUNNING)})  # type: ignore[assignment]
    assert still_running(instance, infos) == infos
    assert [info.external_jobid for info in infos] == ["arr-1:0", "arr-1:1", "arr-1:2"]


def test_the_end_of_the_run_writes_the_record_once_and_says_where():
    instance, _ = executor()
    instance._recorded = False
    asked: list[list[str]] = []
    instance.service.describe = lambda ids: asked.append(list(ids)) or []
    instance.run_job(job("align"))
    instance._write_record()
    instance._write_record()  # a second shutdown writes nothing more
    assert asked == []  # the job has not ended: nothing to complete
    folder = instance.record.folder
    assert {p.name for p in folder.iterdir()} == {"jobs.tsv", "summary.json", "timeline.html"}
    said = [m for m in instance.logger.at("info") if m.startswith("AWS Batch run record:")]
    assert said == [f"AWS Batch run record: {folder} (jobs.tsv, summary.json, timeline.html)"]


def test_a_record_that_cannot_be_written_at_the_end_is_a_warning_not_a_failure():
    instance, _ = executor()
    instance._recorded = False
    instance._cancelled = True  # no final DescribeJobs
    instance.run_job(job("align"))
    shutil.rmtree(instance.record.folder)
    instance._write_record()
    [warning] = [m for m in instance.logger.at("warning") if "run record" in m]
    assert f"The run record in {instance.record.folder} cannot be written" in warning


def test_sigterm_cancels_once_and_a_second_one_leaves_the_cancel_alone() -> None:
    instance, _ = executor()
    instance._sigterm_taken = False
    before = signal.getsignal(signal.SIGTERM)
    try:
        instance._cancel_on_sigterm()
        handler = signal.getsignal(signal.SIGTERM)
        assert callable(handler)
        with pytest.raises(KeyboardInterrupt):
            handler(signal.SIGTERM, None)
        assert handler(signal.SIGTERM, None) is None  # the same signal again: no second stop
        assert instance.logger.at("info") == [
            "SIGTERM: terminating this workflow's AWS Batch jobs."
        ]
    finally:
        signal.signal(signal.SIGTERM, before)


@pytest.mark.parametrize(
    ("restart_times", "attempt", "left"),
    [(0, 1, False), (1, 1, True), (1, 2, False), (3, 3, True), (3, 4, False)],
)
def test_snakemake_retries_left_follows_its_scheduler(
    restart_times: int, attempt: int, left: bool
) -> None:
    from snakemake_executor_plugin_aws_batch.executor import snakemake_retries_left

    job = types.SimpleNamespace(restart_times=restart_times, attempt=attempt)
    assert snakemake_retries_left(job) is left  # type: ignore[arg-type]


RECLAIMED = {
    "jobId": "id-a",
    "jobName": "snakejob-align",
    "status": "FAILED",
    "statusReason": "Host EC2 (instance i-0123456789abcdef0) terminated.",
    "attempts": [],
}


@pytest.mark.parametrize(("spot_retries", "restart_times"), [(1, 0), (0, 0), (1, 1)])
def test_a_reclaimed_job_is_submitted_again_only_when_no_retry_would_run_it(
    spot_retries: int, restart_times: int
) -> None:
    instance, recorder = executor()
    instance.config = dataclasses.replace(instance.config, spot_retries=spot_retries)
    snakemake_job = job(aws_batch_mem_mb=4096)
    snakemake_job.restart_times = restart_times  # Snakemake's --retries
    instance.run_job(snakemake_job)
    [(first, *_)] = instance.submitter.submitted
    first.batch_id = "id-a"
    info = types.SimpleNamespace(job=snakemake_job, aux={"record": first}, external_jobid=None)
    recorder.events.clear()
    instance.watcher = Watcher({first.name: Verdict(Outcome.FAILED, "lost\n", RECLAIMED)})
    kept = still_running(instance, [info])
    if spot_retries and not restart_times:
        assert kept == [info]
        assert recorder.events == []
        [_, (again, *_)] = instance.submitter.submitted
        assert info.aux["record"] is again
        assert again.reclaims == 1
        assert instance.jobs.unfinished() == [again]
        assert instance.resubmitted == 1
        [warning] = instance.logger.at("warning")
        assert "AWS Batch job id-a (" in warning
        assert "(1 of 1, --aws-batch-spot-retries)" in warning
    else:  # no retry left here, or Snakemake's own comes first
        assert kept == []
        assert recorder.events == [("error", snakemake_job, "lost\n")]
        assert len(instance.submitter.submitted) == 1
        assert instance.resubmitted == 0
