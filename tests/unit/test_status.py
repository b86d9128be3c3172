"""What an AWS Batch job description means: outcome, log stream and failure messages."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from snakemake_executor_plugin_aws_batch.logs import LogLocation
from snakemake_executor_plugin_aws_batch.tracking import status

SPOT_REASON = "Host EC2 (instance i-0123456789abcdef0) terminated."


def failed_job(
    status_reason="Essential container in task exited",
    exit_code=1,
    reason=None,
    attempts=2,
    stream="snakejob/default/abc",
):
    container = {"exitCode": exit_code, "logStreamName": stream}
    if reason:
        container["reason"] = reason
    return {
        "jobId": "0f1e2d3c-job",
        "jobName": "snakejob-r-1",
        "status": "FAILED",
        "statusReason": status_reason,
        "container": container,
        "attempts": [{"container": {"exitCode": exit_code}} for _ in range(attempts)],
    }


# --- outcome and chunks -------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("SUCCEEDED", status.Outcome.SUCCEEDED),
        ("FAILED", status.Outcome.FAILED),
        ("SUBMITTED", status.Outcome.RUNNING),
        ("PENDING", status.Outcome.RUNNING),
        ("RUNNABLE", status.Outcome.RUNNING),
        ("STARTING", status.Outcome.RUNNING),
        ("RUNNING", status.Outcome.RUNNING),
        (None, status.Outcome.RUNNING),
    ],
)
def test_outcome(state, expected):
    assert status.outcome({"status": state}) is expected


def test_outcome_without_status_is_running():
    assert status.outcome({}) is status.Outcome.RUNNING


@pytest.mark.parametrize(
    ("count", "sizes"),
    [(0, []), (1, [1]), (99, [99]), (100, [100]), (101, [100, 1]), (250, [100, 100, 50])],
)
def test_chunks_of_at_most_100_job_ids(count, sizes):
    ids = [f"id-{i}" for i in range(count)]
    parts = list(status.chunks(ids))
    assert [len(p) for p in parts] == sizes
    assert [x for p in parts for x in p] == ids


@given(st.lists(st.integers(), max_size=500), st.integers(min_value=1, max_value=150))
def test_chunks_cover_everything_in_order(items, size):
    parts = list(status.chunks(items, size))
    assert [x for p in parts for x in p] == items
    assert all(1 <= len(p) <= size for p in parts)
    assert all(len(p) == size for p in parts[:-1])


# --- log location -------------------------------------------------------------------


def test_log_location_of_the_job_container_with_default_group():
    job = {
        "container": {"logStreamName": "s0"},
        "attempts": [{"container": {"logStreamName": "x"}}],
    }
    assert status.log_location(job) == LogLocation("/aws/batch/job", "s0")


def test_log_location_of_the_last_attempt_that_ran():
    job = {
        "container": {"logConfiguration": {"options": {"awslogs-group": "/custom"}}},
        "attempts": [
            {"container": {"logStreamName": "s1"}},
            {"container": {"logStreamName": "s2"}},
            {"container": {}},
        ],
    }
    assert status.log_location(job) == LogLocation("/custom", "s2")


@pytest.mark.parametrize(
    "job",
    [
        {},
        {"container": None, "attempts": None},
        {"container": {"logStreamName": ""}},
        {"attempts": [{"container": None}, {}]},
    ],
)
def test_no_log_location_before_running(job):
    assert status.log_location(job) is None


# --- failure messages ---------------------------------------------------------------


def test_failure_message_holds_id_reason_exit_code_attempts_and_log_lines():
    job = failed_job()
    message = status.failure_message(job, ["line one", "line two"], status.log_location(job))
    assert (
        "AWS Batch job 0f1e2d3c-job (snakejob-r-1) failed: Essential container in task exited"
        in (message)
    )
    assert "Exit code: 1." in message
    assert "Container reason: none." in message
    assert "Attempts: 2." in message
    assert "Last 2 log lines (/aws/batch/job, stream snakejob/default/abc):" in message
    assert "    line one\n    line two\n" in message
    assert message.endswith("\n")


def test_failure_message_without_log_stream():
    message = status.failure_message({"jobId": "j", "jobName": "n"}, [], None)
    assert "failed: no status reason given." in message
    assert "Exit code: none." in message
    assert "Attempts: 1." in message
    assert "never reached RUNNING" in message


def test_failure_message_with_empty_log():
    job = failed_job()
    message = status.failure_message(job, [], status.log_location(job))
    assert "/aws/batch/job snakejob/default/abc holds no lines" in message


def test_exit_code_and_reason_taken_from_the_last_attempt_when_missing_on_the_job():
    job = {
        "jobId": "j",
        "statusReason": "x",
        "container": {},
        "attempts": [
            {"container": {"exitCode": 3, "reason": "first"}},
            {"container": {"exitCode": 42, "reason": "second"}},
            {"container": {}},
        ],
    }
    message = status.failure_message(job, [], None)
    assert "Exit code: 42." in message
    assert "Container reason: second." in message
    assert "Attempts: 3." in message


def test_exit_code_zero_is_shown_as_zero():
    message = status.failure_message(failed_job(exit_code=0), [], None)
    assert "Exit code: 0." in message


@pytest.mark.parametrize(
    ("status_reason", "exit_code", "container_reason", "expected"),
    [
        ("Essential container in task exited", 137, None, "aws_batch_mem_mb"),
        (
            "Essential container in task exited",
            None,
            "OutOfMemoryError: Container killed due to memory usage",
            "aws_batch_mem_mb",
        ),
        (SPOT_REASON, None, None, "onStatusReason 'Host EC2*'"),
        ("Job attempt duration exceeded timeout", None, None, "aws_batch_timeout"),
        (
            "Task failed to start",
            None,
            "CannotPullContainerError: pull image manifest has been retried 5 time(s)",
            "--container-image",
        ),
        (
            "Task failed to start",
            None,
            "ResourceInitializationError: unable to pull secrets or registry auth",
            "execution role",
        ),
    ],
)
def test_hints_for_common_failures(status_reason, exit_code, container_reason, expected):
    advice = status.hint(status_reason, exit_code, container_reason)
    assert advice is not None
    assert expected in advice
    job = failed_job(status_reason, exit_code, container_reason)
    assert advice in status.failure_message(job, [], status.log_location(job))


def test_spot_hint_wins_over_exit_code_137():
    advice = status.hint(SPOT_REASON, 137, None)
    assert advice is not None
    assert "reclaimed" in advice


@pytest.mark.parametrize(
    ("status_reason", "container_reason", "expected"),
    [
        (SPOT_REASON, None, True),
        ("Essential container in task exited", SPOT_REASON, True),  # an attempt's reason
        ("Essential container in task exited", None, False),
        ("Host EC2 (instance i-0123456789abcdef0) stopped.", None, False),
        ("Job attempt duration exceeded timeout", None, False),
    ],
)
def test_host_reclaimed(status_reason, container_reason, expected):
    job = failed_job(status_reason, reason=container_reason)
    assert status.host_reclaimed(job) is expected
    assert (
        "--aws-batch-spot-retries" in (status.hint(status_reason, 1, container_reason) or "")
    ) is (expected)


@pytest.mark.parametrize(
    ("status_reason", "exit_code"),
    [("Essential container in task exited", 1), ("Essential container in task exited", 2)],
)
def test_no_hint_for_a_plain_failure(status_reason, exit_code):
    assert status.hint(status_reason, exit_code, None) is None
    job = failed_job(status_reason, exit_code)
    lines = status.failure_message(job, [], None).splitlines()
    assert len(lines) == 3  # what failed, exit code/attempts, no log stream


OPTIONAL_TEXT = st.none() | st.text(max_size=30)
CONTAINERS = st.none() | st.fixed_dictionaries(
    {},
    optional={
        "exitCode": st.none() | st.integers(-1, 255),
        "reason": OPTIONAL_TEXT,
        "logStreamName": OPTIONAL_TEXT,
    },
)
JOBS = st.fixed_dictionaries(
    {"jobId": st.text(min_size=1, max_size=40)},
    optional={
        "jobName": OPTIONAL_TEXT,
        "statusReason": OPTIONAL_TEXT,
        "container": CONTAINERS,
        "attempts": st.none()
        | st.lists(st.fixed_dictionaries({}, optional={"container": CONTAINERS}), max_size=4),
    },
)


@given(JOBS, st.lists(st.text(max_size=20), max_size=5))
def test_any_job_description_gives_a_message(job, log_lines):
    log = status.log_location(job)
    message = status.failure_message(job, log_lines, log)
    assert f"AWS Batch job {job['jobId']} " in message
    assert "Exit code: " in message
    assert f"Attempts: {len(job.get('attempts') or []) or 1}." in message
    if log is None:
        assert "never reached RUNNING" in message
    elif log_lines:
        assert all(f"    {line}" in message for line in log_lines)


# --- RUNNABLE warnings --------------------------------------------------------------


def test_runnable_warning_with_aws_reason_and_found_causes():
    job = {
        "jobId": "j-1",
        "jobName": "snakejob-big-1",
        "statusReason": "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT - The job resource requirement",
    }
    message = status.runnable_warning(
        job, 612.7, "64 vCPU, 500000 MiB", ["queue q: largest instance has 16 vCPU"]
    )
    assert "AWS Batch job j-1 (snakejob-big-1) has been RUNNABLE for 612 s" in message
    assert "requested 64 vCPU, 500000 MiB" in message
    assert "AWS says: MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT" in message
    assert "Found: queue q: largest instance has 16 vCPU." in message
    assert "Likely causes" not in message


def test_runnable_warning_without_findings_lists_likely_causes():
    message = status.runnable_warning({"jobId": "j", "jobName": "n"}, 300, "1 vCPU, 1024 MiB", [])
    assert "AWS says" not in message
    assert "Likely causes" in message
    assert "MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE" in message
    assert "consumable resources" in message


PULL_TIMEOUT = (
    "CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to do "
    "request: Head https://registry-1.docker.io/v2/library/ubuntu/manifests/latest: "
    "dial tcp 54.1.2.3:443: i/o timeout"
)
SECRET_TIMEOUT = (
    "ResourceInitializationError: unable to pull secrets or registry auth: execution resource "
    "retrieval failed: unable to retrieve secret from asm: service call has been retried 5 "
    "time(s): RequestError: send request failed caused by: Post https://secretsmanager."
    "us-west-2.amazonaws.com/: dial tcp 10.0.0.1:443: i/o timeout"
)


@pytest.mark.parametrize(
    ("container_reason", "expected"),
    [(PULL_TIMEOUT, "--container-image"), (SECRET_TIMEOUT, "execution role")],
)
def test_network_timeouts_while_starting_get_the_start_hint(container_reason, expected):
    advice = status.hint("Task failed to start", None, container_reason)
    assert advice is not None
    assert expected in advice
    assert "aws_batch_timeout" not in advice
