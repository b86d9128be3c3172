"""The AWS call policy: what is retried, for how long, and what the user is told."""

from __future__ import annotations

import threading
import types

import boto3
import botocore.exceptions
import pytest
from hypothesis import given
from hypothesis import strategies as st
from snakemake_interface_common.exceptions import WorkflowError

from snakemake_executor_plugin_aws_batch.aws import boundary

from ..fakes import FakeTime, RecordingLogger


def client_error(code: str, http_status: int, message: str | None = None, operation="SubmitJob"):
    return botocore.exceptions.ClientError(
        {
            "Error": {"Code": code, "Message": f"{code} message" if message is None else message},
            "ResponseMetadata": {"HTTPStatusCode": http_status},
        },
        operation,
    )


THROTTLED = client_error("TooManyRequestsException", 429)
SERVER = client_error("InternalServerError", 500)
CLIENT = client_error("ClientException", 400, "Job queue does not exist")
READ_TIMEOUT = botocore.exceptions.ReadTimeoutError(endpoint_url="https://batch")
CLOSED = botocore.exceptions.ConnectionClosedError(endpoint_url="https://batch")
NO_ENDPOINT = botocore.exceptions.EndpointConnectionError(endpoint_url="https://batch")
CONNECT_TIMEOUT = botocore.exceptions.ConnectTimeoutError(endpoint_url="https://batch")


# --- classify -----------------------------------------------------------------------


@pytest.mark.parametrize("code", sorted(boundary.THROTTLING_CODES))
@pytest.mark.parametrize("http_status", [400, 429, 503])
def test_throttling_codes_are_throttled(code, http_status):
    failure = boundary.classify(client_error(code, http_status))
    assert failure.kind == "throttled"
    assert failure.code == code
    assert failure.transient is True


@pytest.mark.parametrize("code", ["Anything", "ClientException", "SlowDownPlease"])
def test_http_429_is_throttled_whatever_the_code(code):
    assert boundary.classify(client_error(code, 429)).kind == "throttled"


@pytest.mark.parametrize("http_status", [500, 502, 503, 504, 599])
def test_5xx_is_server(http_status):
    failure = boundary.classify(client_error("ServerException", http_status, "it broke"))
    assert failure == boundary.Failure("server", "ServerException", "it broke")
    assert failure.transient is True


def test_server_failure_without_message_names_the_status():
    failure = boundary.classify(client_error("ServiceUnavailable", 503, ""))
    assert failure.message == "HTTP 503"


@pytest.mark.parametrize(
    ("code", "http_status"),
    [("ClientException", 400), ("AccessDeniedException", 403), ("UnrecognizedClientException", 0)],
)
def test_4xx_is_client(code, http_status):
    failure = boundary.classify(client_error(code, http_status, "no"))
    assert failure == boundary.Failure("client", code, "no")
    assert failure.transient is False


def test_client_error_without_metadata_is_client():
    error = botocore.exceptions.ClientError({"Error": {"Code": "Odd"}}, "DescribeJobs")
    assert boundary.classify(error) == boundary.Failure("client", "Odd", "")


def test_client_error_without_error_block_is_client():
    error = botocore.exceptions.ClientError({}, "DescribeJobs")
    failure = boundary.classify(error)
    assert failure.kind == "client"
    assert failure.code == "Unknown"


@pytest.mark.parametrize("exc", [READ_TIMEOUT, CLOSED], ids=["read-timeout", "closed"])
def test_lost_answers_are_ambiguous(exc):
    failure = boundary.classify(exc)
    assert failure.kind == "ambiguous"
    assert failure.code == type(exc).__name__
    assert failure.transient is True


@pytest.mark.parametrize(
    "exc", [NO_ENDPOINT, CONNECT_TIMEOUT], ids=["endpoint-connection", "connect-timeout"]
)
def test_unsent_requests_are_connection_failures(exc):
    failure = boundary.classify(exc)
    assert failure.kind == "connection"
    assert failure.code == type(exc).__name__
    assert "https://batch" in failure.message
    assert failure.transient is True


@pytest.mark.parametrize(
    "exc",
    [botocore.exceptions.NoCredentialsError(), ValueError("x"), KeyError("k")],
    ids=["no-credentials", "value-error", "key-error"],
)
def test_anything_else_is_a_client_failure(exc):
    failure = boundary.classify(exc)
    assert failure.kind == "client"
    assert failure.code == type(exc).__name__
    assert failure.transient is False


@given(
    code=st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", max_size=20),
    http_status=st.integers(min_value=200, max_value=599),
)
def test_classification_of_any_client_error(code, http_status):
    failure = boundary.classify(client_error(code or "X", http_status))
    if (code or "X") in boundary.THROTTLING_CODES or http_status == 429:
        assert failure.kind == "throttled"
    elif http_status >= 500:
        assert failure.kind == "server"
    else:
        assert failure.kind == "client"


# --- Backoff ------------------------------------------------------------------------


@given(
    base=st.floats(min_value=0, max_value=5),
    cap=st.floats(min_value=0, max_value=60),
    attempt=st.integers(min_value=0, max_value=60),
)
def test_backoff_delay_is_within_the_capped_exponential(base, cap, attempt):
    delay = boundary.Backoff(base=base, cap=cap).delay(attempt)
    assert 0 <= delay <= min(cap, base * 2**attempt) + 1e-9


def test_backoff_is_jittered():
    backoff = boundary.Backoff(base=1, cap=100)
    delays = {backoff.delay(5) for _ in range(50)}
    assert len(delays) > 1
    assert max(delays) <= 32


# --- call ---------------------------------------------------------------------------


class ExactBackoff:
    """The upper bound of the back-off, without jitter."""

    def __init__(self, base: float = 1.0, cap: float = 8.0) -> None:
        self.base, self.cap = base, cap

    def delay(self, attempt: int) -> float:
        return min(self.cap, self.base * 2**attempt)


class Script:
    """A function that raises the given errors in turn, then returns ``result``."""

    def __init__(self, *errors: BaseException, result: object = "done") -> None:
        self.errors = list(errors)
        self.calls = 0
        self.result = result

    def __call__(self):
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return self.result


class Forever:
    """A function that always raises the same error."""

    def __init__(self, error: BaseException) -> None:
        self.error = error
        self.calls = 0

    def __call__(self):
        self.calls += 1
        raise self.error


@pytest.fixture
def clock(monkeypatch):
    """boundary.call reads time.monotonic for its deadline: let the fake clock answer."""
    fake = FakeTime(start=1000.0)
    monkeypatch.setattr(
        boundary, "time", types.SimpleNamespace(monotonic=fake.clock, sleep=fake.sleep)
    )
    return fake


def run(function, clock, logger, *, deadline=60.0, retry_ambiguous=True, backoff=None):
    return boundary.call(
        "SubmitJob",
        function,
        health=boundary.Health(logger, clock=clock.clock),
        deadline=clock.now + deadline,
        backoff=backoff or ExactBackoff(),
        retry_ambiguous=retry_ambiguous,
        sleep=clock.sleep,
    )


def test_success_at_once_is_silent(clock, logger):
    function = Script(result={"jobId": "1"})
    assert run(function, clock, logger) == {"jobId": "1"}
    assert function.calls == 1
    assert clock.sleeps == []
    assert logger.records == []


def test_throttling_is_retried_with_growing_backoff(clock, logger):
    function = Script(THROTTLED, THROTTLED, THROTTLED)
    assert run(function, clock, logger) == "done"
    assert function.calls == 4
    assert clock.sleeps == [1, 2, 4]
    assert len(logger.at("warning")) == 1
    assert "TooManyRequestsException" in logger.at("warning")[0]
    assert len(logger.at("debug")) == 2
    assert logger.at("info") == ["AWS Batch API answers normally again."]


def test_before_retry_runs_after_each_backoff_with_the_failure(clock, logger):
    function = Script(THROTTLED, SERVER)
    seen = []
    result = boundary.call(
        "SubmitJob",
        function,
        health=boundary.Health(logger, clock=clock.clock),
        deadline=clock.now + 60,
        backoff=ExactBackoff(),
        before_retry=lambda failure: seen.append((failure.kind, len(clock.sleeps))),
        sleep=clock.sleep,
    )
    assert result == "done"
    # Never before the first call; after each back-off, before the call goes again.
    assert seen == [("throttled", 1), ("server", 2)]


@pytest.mark.parametrize(
    "error", [THROTTLED, SERVER, READ_TIMEOUT, CLOSED, NO_ENDPOINT, CONNECT_TIMEOUT]
)
def test_transient_failures_retried_by_default(error, clock, logger):
    function = Script(error)
    assert run(function, clock, logger) == "done"
    assert function.calls == 2
    assert clock.sleeps == [1]


@pytest.mark.parametrize("error", [THROTTLED, NO_ENDPOINT, CONNECT_TIMEOUT])
def test_unambiguous_failures_retried_even_without_retry_ambiguous(error, clock, logger):
    function = Script(error, error)
    assert run(function, clock, logger, retry_ambiguous=False) == "done"
    assert function.calls == 3


@pytest.mark.parametrize("error", [SERVER, READ_TIMEOUT, CLOSED], ids=["5xx", "read", "closed"])
def test_possibly_carried_out_requests_raise_ambiguous(error, clock, logger):
    function = Script(error)
    with pytest.raises(boundary.AmbiguousError) as info:
        run(function, clock, logger, retry_ambiguous=False)
    assert function.calls == 1
    assert clock.sleeps == []
    assert info.value.transient is True
    assert info.value.operation == "SubmitJob"
    assert info.value.code == boundary.classify(error).code
    assert info.value.__cause__ is error
    assert len(logger.at("warning")) == 1


def test_client_error_raises_at_once(clock, logger):
    function = Script(CLIENT)
    with pytest.raises(boundary.AwsError) as info:
        run(function, clock, logger)
    error = info.value
    assert not isinstance(error, boundary.AmbiguousError)
    assert error.transient is False
    assert error.code == "ClientException"
    assert error.message == "Job queue does not exist"
    assert str(error) == "SubmitJob failed: ClientException: Job queue does not exist"
    assert error.__cause__ is CLIENT
    assert function.calls == 1
    assert clock.sleeps == []
    assert logger.records == []


def test_other_exceptions_pass_through_untouched(clock, logger):
    function = Script(KeyError("jobs"))
    with pytest.raises(KeyError, match="jobs"):
        run(function, clock, logger)
    assert function.calls == 1


@pytest.mark.parametrize("error", [THROTTLED, SERVER, NO_ENDPOINT, READ_TIMEOUT])
def test_retries_stop_at_the_deadline(error, clock, logger):
    function = Forever(error)
    start = clock.now
    with pytest.raises(boundary.AwsError) as info:
        run(function, clock, logger, deadline=30)
    assert not isinstance(info.value, boundary.AmbiguousError)
    assert info.value.transient is True
    assert info.value.__cause__ is error
    # Slept 1, 2, 4, 8, 8 (23 s in all); another 8 s would end past the 30 s deadline.
    assert clock.sleeps == [1, 2, 4, 8, 8]
    assert clock.now - start <= 30
    assert function.calls == 6
    assert len(logger.at("warning")) == 1


def test_deadline_already_past_means_one_try(clock, logger):
    function = Forever(THROTTLED)
    with pytest.raises(boundary.AwsError) as info:
        run(function, clock, logger, deadline=-1)
    assert info.value.transient is True
    assert function.calls == 1
    assert clock.sleeps == []


@given(
    deadline=st.floats(min_value=0, max_value=300),
    base=st.floats(min_value=0.01, max_value=2),
)
def test_never_sleeps_past_the_deadline(deadline, base):
    fake = FakeTime(start=50.0)
    function = Forever(THROTTLED)
    original = boundary.time
    boundary.time = types.SimpleNamespace(monotonic=fake.clock, sleep=fake.sleep)
    try:
        with pytest.raises(boundary.AwsError):
            boundary.call(
                "DescribeJobs",
                function,
                health=boundary.Health(RecordingLogger(), clock=fake.clock),
                deadline=50.0 + deadline,
                backoff=ExactBackoff(base=base, cap=10),
                sleep=fake.sleep,
            )
    finally:
        boundary.time = original
    assert fake.now <= 50.0 + deadline + 1e-9
    assert function.calls == len(fake.sleeps) + 1


# --- Health -------------------------------------------------------------------------

FAILURE = boundary.Failure("throttled", "TooManyRequestsException", "slow down")


def test_health_warns_once_then_debug_then_info_on_recovery(logger, fake_time):
    health = boundary.Health(logger, clock=fake_time.clock)
    health.trouble("SubmitJob", FAILURE)
    for _ in range(5):
        fake_time.now += 1
        health.trouble("DescribeJobs", FAILURE)
    [warning] = logger.at("warning")
    assert "SubmitJob" in warning
    assert "TooManyRequestsException" in warning
    assert "throttled" in warning
    assert "no job is lost" in warning
    assert len(logger.at("debug")) == 5
    assert all("DescribeJobs" in m for m in logger.at("debug"))
    health.ok()
    assert logger.at("info") == ["AWS Batch API answers normally again."]
    health.ok()
    assert len(logger.at("info")) == 1


def test_health_short_episodes_within_the_quiet_period_are_debug(logger, fake_time):
    health = boundary.Health(logger, quiet_seconds=600, clock=fake_time.clock)
    failure = boundary.Failure("server", "InternalServerError", "")
    health.trouble("DescribeJobs", failure)
    health.ok()
    for _ in range(3):
        fake_time.now += 10
        health.trouble("DescribeJobs", failure)
        health.ok()
    assert len(logger.at("warning")) == 1
    assert len(logger.at("info")) == 1  # only the episode that was told is told as over
    fake_time.now += 600
    health.trouble("DescribeJobs", failure)
    assert len(logger.at("warning")) == 2
    health.ok()
    assert len(logger.at("info")) == 2


def test_health_ok_without_trouble_is_silent(logger, fake_time):
    boundary.Health(logger, clock=fake_time.clock).ok()
    assert logger.records == []


def test_health_warns_once_under_concurrent_trouble(logger):
    health = boundary.Health(logger)
    start = threading.Barrier(16)

    def worker():
        start.wait()
        for _ in range(20):
            health.trouble("SubmitJob", FAILURE)

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(logger.at("warning")) == 1
    assert len(logger.at("debug")) == 16 * 20 - 1


# --- clients ------------------------------------------------------------------------


def test_client_config_leaves_retries_to_call():
    config = boundary.client_config(max_pool_connections=48)
    assert config.retries == {"total_max_attempts": 1, "mode": "standard"}
    assert config.max_pool_connections == 48
    assert "snakemake-executor-plugin-aws-batch" in config.user_agent_extra


@pytest.fixture
def no_aws_region(monkeypatch, tmp_path):
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))


def test_make_clients_without_region_is_workflow_error(no_aws_region):
    with pytest.raises(WorkflowError, match="--aws-batch-region"):
        boundary.make_clients(region=None, session=boto3.session.Session())


def test_make_clients_in_region(no_aws_region):
    clients = boundary.make_clients(
        region="us-west-2", session=boto3.session.Session(), max_pool_connections=7
    )
    assert clients.batch.meta.service_model.service_name == "batch"
    assert clients.logs.meta.service_model.service_name == "logs"
    assert clients.batch.meta.region_name == "us-west-2"
    assert clients.batch.meta.config.max_pool_connections == 7
    assert clients.logs.meta.config.retries["total_max_attempts"] == 1


@pytest.mark.parametrize("attempt", [1024, 5000])
def test_backoff_delay_stays_capped_for_any_attempt(attempt):
    delay = boundary.Backoff(base=0.2, cap=20.0).delay(attempt)
    assert 0 <= delay <= 20.0
