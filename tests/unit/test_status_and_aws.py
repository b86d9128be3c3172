"""Failure messages of jobs, and the retry policy of AWS calls."""

from __future__ import annotations

import time

import botocore.exceptions
import pytest

from snakemake_executor_plugin_aws_batch import aws, status


def failed_job(status_reason="Essential container in task exited", exit_code=1, reason=None):
    container = {"exitCode": exit_code, "logStreamName": "r/default/abc"}
    if reason:
        container["reason"] = reason
    return {
        "jobId": "job-123",
        "jobName": "snakejob-r-1",
        "status": "FAILED",
        "statusReason": status_reason,
        "container": container,
        "attempts": [{"container": {"exitCode": 1}}, {"container": {"exitCode": exit_code}}],
    }


def test_failure_message_contains_everything():
    job = failed_job()
    log = status.log_location(job)
    message = status.failure_message(job, ["line one", "line two"], log)
    assert "job-123" in message
    assert "snakejob-r-1" in message
    assert "Essential container in task exited" in message
    assert "Exit code: 1." in message
    assert "Attempts: 2." in message
    assert "    line one\n" in message
    assert "    line two\n" in message
    assert "/aws/batch/job" in message
    assert "r/default/abc" in message


def test_failure_message_without_log_stream():
    job = {"jobId": "j", "jobName": "n", "statusReason": "x"}
    message = status.failure_message(job, [], None)
    assert "never reached RUNNING" in message
    assert "Exit code: none." in message
    assert "Attempts: 1." in message


def test_failure_message_empty_log():
    job = failed_job()
    message = status.failure_message(job, [], status.log_location(job))
    assert "holds no lines" in message


@pytest.mark.parametrize(
    ("status_reason", "exit_code", "expected"),
    [
        ("Essential container in task exited", 137, "aws_batch_mem_mb"),
        ("Host EC2 (instance i-0abc) terminated.", None, "Host EC2*"),
        ("Job attempt duration exceeded timeout", None, "aws_batch_timeout"),
    ],
)
def test_hints(status_reason, exit_code, expected):
    job = failed_job(status_reason, exit_code)
    message = status.failure_message(job, [], status.log_location(job))
    assert expected in message
    assert status.hint(status_reason, exit_code, None) is not None
    assert expected in status.hint(status_reason, exit_code, None)


def test_no_hint_for_plain_failure():
    assert status.hint("Essential container in task exited", 1, None) is None


def test_log_location_from_attempt_and_group_option():
    job = {
        "container": {"logConfiguration": {"options": {"awslogs-group": "/custom"}}},
        "attempts": [
            {"container": {"logStreamName": "s1"}},
            {"container": {"logStreamName": "s2"}},
        ],
    }
    assert status.log_location(job) == status.LogLocation("/custom", "s2")
    assert status.log_location({}) is None


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("SUCCEEDED", status.Outcome.SUCCEEDED),
        ("FAILED", status.Outcome.FAILED),
        ("RUNNABLE", status.Outcome.RUNNING),
        ("SUBMITTED", status.Outcome.RUNNING),
    ],
)
def test_outcome(state, expected):
    assert status.outcome({"status": state}) is expected


def test_chunks():
    parts = list(status.chunks(range(250)))
    assert [len(p) for p in parts] == [100, 100, 50]
    assert [x for p in parts for x in p] == list(range(250))
    assert list(status.chunks([])) == []


def client_error(code, http_status, operation="SubmitJob"):
    return botocore.exceptions.ClientError(
        {
            "Error": {"Code": code, "Message": f"{code} message"},
            "ResponseMetadata": {"HTTPStatusCode": http_status},
        },
        operation,
    )


@pytest.mark.parametrize(
    ("code", "http_status", "kind"),
    [
        ("TooManyRequestsException", 429, "throttled"),
        ("ThrottlingException", 400, "throttled"),
        ("Anything", 429, "throttled"),
        ("InternalServerError", 500, "server"),
        ("ServiceUnavailable", 503, "server"),
        ("ClientException", 400, "client"),
    ],
)
def test_classify_client_errors(code, http_status, kind):
    failure = aws.classify(client_error(code, http_status))
    assert failure.kind == kind
    assert failure.code == code
    assert failure.transient is (kind != "client")


def test_classify_connection_errors():
    ambiguous = aws.classify(botocore.exceptions.ReadTimeoutError(endpoint_url="http://x"))
    assert ambiguous.kind == "ambiguous"
    connection = aws.classify(botocore.exceptions.EndpointConnectionError(endpoint_url="http://x"))
    assert connection.kind == "connection"
    assert aws.classify(ValueError("x")).kind == "client"


class ListLogger:
    def __init__(self):
        self.records = []

    def warning(self, msg):
        self.records.append(("warning", msg))

    def info(self, msg):
        self.records.append(("info", msg))

    def debug(self, msg):
        self.records.append(("debug", msg))

    def levels(self, level):
        return [m for lvl, m in self.records if lvl == level]


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def failing(errors, result="done"):
    calls = []

    def function():
        calls.append(1)
        if len(calls) <= len(errors):
            raise errors[len(calls) - 1]
        return result

    return function, calls


def test_call_retries_throttling_then_returns():
    logger = ListLogger()
    health = aws.Health(logger, clock=FakeClock())
    sleeps = []
    throttled = client_error("TooManyRequestsException", 429)
    function, calls = failing([throttled, throttled])
    result = aws.call(
        "SubmitJob",
        function,
        health=health,
        deadline=time.monotonic() + 60,
        backoff=aws.Backoff(base=0.001, cap=0.01),
        sleep=sleeps.append,
    )
    assert result == "done"
    assert len(calls) == 3
    assert len(sleeps) == 2
    assert all(0 <= s <= 0.01 for s in sleeps)
    assert len(logger.levels("warning")) == 1
    assert len(logger.levels("info")) == 1


def test_call_server_error_not_retried_when_ambiguous_not_allowed():
    health = aws.Health(ListLogger(), clock=FakeClock())
    sleeps = []
    function, calls = failing([client_error("InternalServerError", 500)])
    with pytest.raises(aws.AmbiguousError) as info:
        aws.call(
            "SubmitJob",
            function,
            health=health,
            deadline=time.monotonic() + 60,
            retry_ambiguous=False,
            sleep=sleeps.append,
        )
    assert info.value.transient is True
    assert info.value.code == "InternalServerError"
    assert len(calls) == 1
    assert sleeps == []


def test_call_server_error_retried_by_default():
    health = aws.Health(ListLogger(), clock=FakeClock())
    function, calls = failing([client_error("InternalServerError", 500)])
    result = aws.call(
        "DescribeJobs",
        function,
        health=health,
        deadline=time.monotonic() + 60,
        backoff=aws.Backoff(base=0.0),
        sleep=lambda s: None,
    )
    assert result == "done"
    assert len(calls) == 2


def test_call_past_deadline_raises_transient():
    health = aws.Health(ListLogger(), clock=FakeClock())
    sleeps = []
    function, calls = failing([client_error("TooManyRequestsException", 429)])
    with pytest.raises(aws.AwsError) as info:
        aws.call(
            "SubmitJob",
            function,
            health=health,
            deadline=time.monotonic() - 1,
            sleep=sleeps.append,
        )
    assert info.value.transient is True
    assert not isinstance(info.value, aws.AmbiguousError)
    assert len(calls) == 1
    assert sleeps == []


def test_call_client_error_raises_at_once():
    health = aws.Health(ListLogger(), clock=FakeClock())
    function, calls = failing([client_error("ClientException", 400)])
    with pytest.raises(aws.AwsError) as info:
        aws.call(
            "SubmitJob",
            function,
            health=health,
            deadline=time.monotonic() + 60,
            sleep=lambda s: None,
        )
    assert info.value.transient is False
    assert info.value.code == "ClientException"
    assert len(calls) == 1


def test_health_warns_once_then_info_once():
    logger = ListLogger()
    clock = FakeClock()
    health = aws.Health(logger, clock=clock)
    failure = aws.Failure("throttled", "TooManyRequestsException", "slow down")
    health.trouble("SubmitJob", failure)
    clock.now += 1
    health.trouble("SubmitJob", failure)
    assert len(logger.levels("warning")) == 1
    assert "TooManyRequestsException" in logger.levels("warning")[0]
    assert len(logger.levels("debug")) == 1
    health.ok()
    assert len(logger.levels("info")) == 1
    health.ok()
    assert len(logger.levels("info")) == 1


def test_health_quiet_period_between_episodes():
    logger = ListLogger()
    clock = FakeClock()
    health = aws.Health(logger, quiet_seconds=600, clock=clock)
    failure = aws.Failure("server", "InternalServerError", "")
    health.trouble("DescribeJobs", failure)
    health.ok()
    clock.now += 10
    health.trouble("DescribeJobs", failure)
    assert len(logger.levels("warning")) == 1
    health.ok()
    assert len(logger.levels("info")) == 1
    clock.now += 600
    health.trouble("DescribeJobs", failure)
    assert len(logger.levels("warning")) == 2


def test_ok_without_trouble_is_silent():
    logger = ListLogger()
    aws.Health(logger, clock=FakeClock()).ok()
    assert logger.records == []
