"""Submission pacing (a token bucket on a fake clock) and the submitting thread pool."""

from __future__ import annotations

import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from snakemake_interface_common.exceptions import WorkflowError

from snakemake_executor_plugin_aws_batch.aws.boundary import BatchError
from snakemake_executor_plugin_aws_batch.submission.submitter import RateLimiter, Submitter
from snakemake_executor_plugin_aws_batch.tracking.jobs import ArrayJob, JobRecord

from ..factories import job_spec, record
from ..fakes import FakeTime

# --- RateLimiter --------------------------------------------------------------------


def acquisition_times(limiter: RateLimiter, fake: FakeTime, gaps: list[float]) -> list[float]:
    """Acquire once per gap, letting the clock run on by the gap first."""
    times = []
    for gap in gaps:
        fake.now += gap
        limiter.acquire(sleep=fake.sleep)
        times.append(fake.now)
    return times


def assert_never_faster(times: list[float], rate: float, burst: float) -> None:
    """In every window [times[i], times[j]] at most burst + rate * length acquisitions."""
    for i in range(len(times)):
        for j in range(i, len(times)):
            allowed = burst + rate * (times[j] - times[i])
            assert j - i + 1 <= allowed + 1e-6, (i, j, times[i], times[j])


def test_first_burst_is_free_then_paced(fake_time):
    limiter = RateLimiter(50, burst=10, clock=fake_time.clock)
    times = acquisition_times(limiter, fake_time, [0.0] * 10)
    assert times == [0.0] * 10
    assert fake_time.sleeps == []
    limiter.acquire(sleep=fake_time.sleep)
    assert fake_time.now == pytest.approx(0.02)


def test_default_burst_is_a_fifth_of_the_rate(fake_time):
    limiter = RateLimiter(50, clock=fake_time.clock)
    acquisition_times(limiter, fake_time, [0.0] * 10)
    assert fake_time.now == 0.0
    limiter.acquire(sleep=fake_time.sleep)
    assert fake_time.now > 0


def test_default_burst_is_at_least_one(fake_time):
    limiter = RateLimiter(0.5, clock=fake_time.clock)
    limiter.acquire(sleep=fake_time.sleep)
    assert fake_time.now == 0.0
    limiter.acquire(sleep=fake_time.sleep)
    assert fake_time.now == pytest.approx(2.0)


@pytest.mark.parametrize(("burst", "minimum"), [(None, 1.8), (1, 1.98)])
def test_hundred_submissions_at_fifty_per_second_take_about_two_seconds(fake_time, burst, minimum):
    limiter = RateLimiter(50, burst=burst, clock=fake_time.clock)
    acquisition_times(limiter, fake_time, [0.0] * 100)
    assert minimum - 1e-6 <= fake_time.now <= 2.0 + 1e-6
    assert all(s > 0 for s in fake_time.sleeps)


def test_ten_thousand_jobs_take_at_least_two_hundred_seconds(fake_time):
    limiter = RateLimiter(50, clock=fake_time.clock)
    acquisition_times(limiter, fake_time, [0.0] * 10_000)
    assert fake_time.now >= 200 - 10 / 50 - 1e-6


def test_idle_time_refills_up_to_the_burst_only(fake_time):
    limiter = RateLimiter(10, burst=3, clock=fake_time.clock)
    acquisition_times(limiter, fake_time, [0.0] * 3)
    fake_time.now += 3600  # an hour idle: still only 3 tokens
    times = acquisition_times(limiter, fake_time, [0.0] * 4)
    assert times[:3] == [3600.0] * 3
    assert times[3] == pytest.approx(3600.1)


@pytest.mark.parametrize("rate", [0, -1, -0.5])
def test_rate_must_be_positive(rate):
    with pytest.raises(ValueError, match="positive"):
        RateLimiter(rate)


@settings(max_examples=200)
@given(
    rate=st.floats(min_value=0.5, max_value=200),
    burst=st.none() | st.floats(min_value=1, max_value=20),
    gaps=st.lists(
        st.one_of(st.just(0.0), st.floats(min_value=0, max_value=0.5)), min_size=1, max_size=60
    ),
)
def test_never_exceeds_the_rate_over_any_window(rate, burst, gaps):
    fake = FakeTime(start=1000.0)
    limiter = RateLimiter(rate, burst=burst, clock=fake.clock)
    times = acquisition_times(limiter, fake, gaps)
    effective_burst = burst if burst is not None else max(1.0, rate / 5)
    assert_never_faster(times, rate, effective_burst)


@given(rate=st.floats(min_value=1, max_value=100), count=st.integers(1, 300))
def test_back_to_back_acquisitions_are_not_slowed_beyond_the_rate(rate, count):
    fake = FakeTime()
    limiter = RateLimiter(rate, burst=1, clock=fake.clock)
    acquisition_times(limiter, fake, [0.0] * count)
    assert fake.now <= (count - 1) / rate + 1e-6
    assert fake.now >= (count - 1) / rate - 1e-6


def test_threads_sharing_a_limiter_keep_to_the_rate():
    limiter = RateLimiter(200, burst=1)
    times: list[float] = []
    lock = threading.Lock()

    def worker():
        for _ in range(10):
            limiter.acquire()
            with lock:
                times.append(time.monotonic())

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    times.sort()
    assert len(times) == 80
    # 80 acquisitions with a burst of 1 need at least 79 / 200 s.
    assert times[-1] - times[0] >= 79 / 200 - 0.02


# --- RateLimiter under throttling -----------------------------------------------------


def test_a_throttle_lowers_the_rate_once_per_window(fake_time):
    limiter = RateLimiter(50, burst=1, clock=fake_time.clock)
    limiter.throttled()
    assert limiter.rate == pytest.approx(45)
    # More throttles from the same crowded second: one cut only.
    fake_time.now += 0.5
    limiter.throttled()
    limiter.throttled()
    assert limiter.rate == pytest.approx(45)
    fake_time.now += 0.5
    limiter.throttled()
    assert limiter.rate == pytest.approx(40.5)


def test_the_rate_climbs_back_to_the_ceiling_and_no_further(fake_time):
    limiter = RateLimiter(50, burst=1, clock=fake_time.clock)
    limiter.throttled()
    fake_time.now += 2.0
    limiter.acquire(sleep=fake_time.sleep)
    # 2% of 50/s per second: +2/s after 2 s.
    assert limiter.rate == pytest.approx(47)
    fake_time.now += 60
    limiter.acquire(sleep=fake_time.sleep)
    assert limiter.rate == 50


def test_the_rate_never_falls_below_the_floor(fake_time):
    limiter = RateLimiter(50, burst=1, clock=fake_time.clock)
    for _ in range(200):
        fake_time.now += RateLimiter.THROTTLE_WINDOW
        limiter.throttled()
    assert limiter.rate == pytest.approx(50 * RateLimiter.FLOOR)


def test_after_a_throttle_acquisitions_are_spaced_at_the_lower_rate(fake_time):
    limiter = RateLimiter(50, burst=1, clock=fake_time.clock)
    limiter.acquire(sleep=fake_time.sleep)
    limiter.throttled()
    limiter.acquire(sleep=fake_time.sleep)
    limiter.acquire(sleep=fake_time.sleep)
    # Spaced at 1/45 s (plus the little recovery meanwhile), not 1/50 s.
    assert fake_time.now == pytest.approx(2 / 45, rel=0.01)


def test_two_clients_sharing_a_limit_settle_below_it():
    """Two submitters on one account, each allowed 50/s, AWS allowing 50/s in all.

    Every second each client's throttles (if any) lower its rate; the sum must come
    down to the account's limit instead of both backing off forever.
    """
    fake = FakeTime(start=0.0)
    clients = [RateLimiter(50, burst=1, clock=fake.clock) for _ in range(2)]
    sums = []
    for _second in range(120):
        fake.now += 1.0
        total = sum(c.rate for c in clients)
        if total > 50:
            for c in clients:
                c.throttled()
        for c in clients:
            c.acquire(sleep=lambda _s: None)
        sums.append(sum(c.rate for c in clients))
    tail = sums[60:]
    assert max(tail) <= 52  # over the limit only just, before the next cut
    assert min(tail) >= 40  # and not starved


# --- Submitter ----------------------------------------------------------------------


def wait_until(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.005)


class Service:
    """The service for the Submitter: records requests, can block on a gate or fail."""

    def __init__(self, fail_with: BaseException | None = None, blocking: bool = False):
        self.sent: list[dict] = []
        self.fail_with = fail_with
        self.gate = threading.Event()
        if not blocking:
            self.gate.set()
        self.entered = threading.Event()
        self._lock = threading.Lock()

    def submit(self, request: dict, *, rule: str, pace: object = None) -> str:
        self.entered.set()
        assert self.gate.wait(10)
        with self._lock:
            self.sent.append(request)
        if self.fail_with is not None:
            raise self.fail_with
        return f"batch-{request['jobName']}"

    def names(self) -> list[str]:
        return [request["jobName"] for request in self.sent]


class Definitions:
    """Resolves a definition to an ARN, or refuses it."""

    def __init__(self, fail_with: BaseException | None = None) -> None:
        self.fail_with = fail_with

    def arn(self, definition: str) -> str:
        if self.fail_with is not None:
            raise self.fail_with
        return f"arn:{definition}"


def submitter(service: Service, definitions=None, **kwargs) -> Submitter:
    return Submitter(service=service, definitions=definitions or Definitions(), **kwargs)


def submit(target: Submitter, job: JobRecord, definition: str = "def") -> None:
    target.submit(
        job, job_spec(name=job.name, definition=definition), command="echo hi", environment={}
    )


def test_records_batch_id_and_resolved_definition():
    service = Service()
    target = submitter(service, rate=1000)
    job = record("snakejob-r-1")
    submit(target, job, "def-a")
    wait_until(lambda: job.batch_id or job.error)
    assert target.stop(timeout=10) is True
    assert job.batch_id == "batch-snakejob-r-1"
    assert job.error is None
    assert [(r["jobName"], r["jobDefinition"]) for r in service.sent] == [
        ("snakejob-r-1", "arn:def-a")
    ]
    assert service.sent[0]["containerOverrides"]["command"][-1] == "echo hi"


def test_many_jobs_all_recorded():
    service = Service()
    target = submitter(service, rate=10_000, workers=4)
    jobs = [record(f"j{i}") for i in range(50)]
    for job in jobs:
        submit(target, job)
    wait_until(lambda: all(j.batch_id for j in jobs))
    assert target.stop(timeout=10) is True
    assert {j.batch_id for j in jobs} == {f"batch-j{i}" for i in range(50)}
    assert sorted(service.names()) == sorted(f"j{i}" for i in range(50))


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (WorkflowError("cannot resolve"), "cannot resolve"),
        (BatchError("AWS Batch refused job n on queue q: ClientException: bad queue"), "bad queue"),
        (RuntimeError("boom"), "Submission failed unexpectedly: RuntimeError: boom"),
    ],
)
def test_errors_are_recorded_on_the_job(error, expected):
    target = submitter(Service(fail_with=error), rate=1000)
    job = record()
    submit(target, job)
    wait_until(lambda: job.error is not None)
    target.stop(timeout=10)
    assert expected in job.error
    assert job.batch_id is None


def test_resolve_failure_sends_nothing():
    service = Service()
    target = submitter(
        service, Definitions(fail_with=BatchError("definition def-x refused")), rate=1000
    )
    job = record()
    submit(target, job, "def-x")
    wait_until(lambda: job.error is not None)
    target.stop(timeout=10)
    assert job.error == "definition def-x refused"
    assert service.sent == []


def test_submit_after_stop_sends_nothing():
    service = Service()
    target = submitter(service, rate=1000)
    assert target.stop(timeout=1) is True
    job = record()
    submit(target, job)
    time.sleep(0.05)
    assert service.sent == []
    assert job.batch_id is None
    assert job.error is not None
    assert "cancelled" in job.error


def test_stop_waits_for_the_request_under_way_and_cancels_the_queued_ones():
    service = Service(blocking=True)
    target = submitter(service, rate=1000, workers=1)
    first, second, third = record("a"), record("b"), record("c")
    submit(target, first)
    assert service.entered.wait(10)
    submit(target, second)
    submit(target, third)
    result: list[bool] = []
    stopper = threading.Thread(target=lambda: result.append(target.stop(timeout=10)))
    stopper.start()
    time.sleep(0.05)
    assert result == []  # still waiting for the request under way
    service.gate.set()
    stopper.join(10)
    assert result == [True]
    assert first.batch_id == "batch-a"
    assert service.names() == ["a"]
    for job in (second, third):
        assert job.batch_id is None
        assert job.error is not None
        assert "cancelled" in job.error


def test_stop_returns_false_when_a_request_outlasts_the_timeout():
    service = Service(blocking=True)
    target = submitter(service, rate=1000, workers=1)
    job = record()
    submit(target, job)
    assert service.entered.wait(10)
    try:
        assert target.stop(timeout=0.05) is False
    finally:
        service.gate.set()
    wait_until(lambda: job.batch_id is not None)
    assert job.batch_id == "batch-n"


def test_jobs_still_queued_when_stop_times_out_are_marked_not_submitted():
    service = Service(blocking=True)
    target = submitter(service, rate=1000, workers=1)
    first, queued = record("a"), record("b")
    submit(target, first)
    assert service.entered.wait(10)
    submit(target, queued)
    try:
        assert target.stop(timeout=0.05) is False
    finally:
        service.gate.set()
    wait_until(lambda: first.batch_id is not None)
    time.sleep(0.05)
    assert service.names() == ["a"]
    assert queued.batch_id is None
    assert queued.error is not None


def array_of(size: int, name: str = "snakejob-map-1") -> ArrayJob:
    parent = record(name)
    array = ArrayJob(name, "map", "q", parent.resources, children=[])
    array.children.extend(
        record(name, array=array, index=index, resources=parent.resources) for index in range(size)
    )
    return array


def submit_array(target: Submitter, array: ArrayJob) -> None:
    target.submit(
        array,
        job_spec(name=array.name, rule="map"),
        command="case ...",
        environment={},
        array_size=array.size,
    )


def test_an_array_job_is_sent_with_its_size_and_each_child_gets_its_id() -> None:
    service = Service()
    target = submitter(service, rate=1000)
    array = array_of(3)
    submit_array(target, array)
    wait_until(lambda: array.batch_id is not None or array.error is not None)
    assert target.stop(timeout=10) is True
    [request] = service.sent
    assert request["arrayProperties"] == {"size": 3}
    assert request["containerOverrides"]["command"][-1] == "case ..."
    assert array.batch_id == "batch-snakejob-map-1"
    assert [child.batch_id for child in array.children] == [
        f"batch-snakejob-map-1:{index}" for index in range(3)
    ]
    assert {child.error for child in array.children} == {None}


def test_a_refused_array_job_fails_every_child_with_its_message() -> None:
    refusal = BatchError("AWS Batch refused job snakejob-map-1: ClientException: bad queue")
    target = submitter(Service(fail_with=refusal), rate=1000)
    array = array_of(2)
    submit_array(target, array)
    wait_until(lambda: array.error is not None)
    target.stop(timeout=10)
    assert [child.error for child in array.children] == [str(refusal)] * 2
    assert {child.batch_id for child in array.children} == {None}
    assert array.batch_id is None


def test_an_array_job_after_stop_is_not_sent_and_each_child_says_so() -> None:
    service = Service()
    target = submitter(service, rate=1000)
    assert target.stop(timeout=1) is True
    array = array_of(2)
    submit_array(target, array)
    assert service.sent == []
    for child in array.children:
        assert child.error is not None
        assert "cancelled" in child.error


def test_submissions_are_paced_by_the_rate():
    service = Service()
    target = submitter(service, rate=20, workers=8)
    jobs = [record(f"j{i}") for i in range(10)]
    started = time.monotonic()
    for job in jobs:
        submit(target, job)
    wait_until(lambda: all(j.batch_id for j in jobs))
    elapsed = time.monotonic() - started
    target.stop(timeout=10)
    # A burst of 4 (a fifth of 20/s), then 6 more at 20/s: at least 0.3 s.
    assert elapsed >= 0.3 - 0.02


@pytest.mark.parametrize("rate", [50, 49.5])
def test_acquire_returns_after_sleeping_what_it_asked_for_at_a_large_clock_value(rate):
    fake = FakeTime(start=1e6, max_sleeps=10_000)
    limiter = RateLimiter(rate, clock=fake.clock)
    for _ in range(100):
        limiter.acquire(sleep=fake.sleep)
    assert fake.now - 1e6 <= 100 / rate
