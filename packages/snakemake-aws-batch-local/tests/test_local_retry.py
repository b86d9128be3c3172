"""retryStrategy as AWS applies it: attempts and evaluateOnExit."""

from __future__ import annotations

from typing import Any

from local_helpers import definition, log_lines, submit, wait_for
from snakemake_aws_batch_local import LocalBatch

FAIL_UNTIL_THIRD = 'echo attempt $AWS_BATCH_JOB_ATTEMPT; [ "$AWS_BATCH_JOB_ATTEMPT" -ge 3 ]'


def test_attempts_from_the_submit_request(batch: Any, local: LocalBatch) -> None:
    job_id = submit(
        batch, local, definition(batch, FAIL_UNTIL_THIRD), retryStrategy={"attempts": 3}
    )
    job = wait_for(batch, job_id)
    assert job["status"] == "SUCCEEDED"
    assert [a["container"]["exitCode"] for a in job["attempts"]] == [1, 1, 0]
    streams = [a["container"]["logStreamName"] for a in job["attempts"]]
    assert len(set(streams)) == 3
    assert job["container"]["logStreamName"] == streams[-1]
    assert [log_lines(local, s) for s in streams] == [["attempt 1"], ["attempt 2"], ["attempt 3"]]
    assert job["retryStrategy"] == {"attempts": 3}


def test_attempts_from_the_job_definition(batch: Any, local: LocalBatch) -> None:
    name = definition(batch, "exit 5", retryStrategy={"attempts": 2})
    job = wait_for(batch, submit(batch, local, name))
    assert job["status"] == "FAILED"
    assert [a["container"]["exitCode"] for a in job["attempts"]] == [5, 5]


def test_evaluate_on_exit_exit_stops_retrying(batch: Any, local: LocalBatch) -> None:
    strategy = {
        "attempts": 4,
        "evaluateOnExit": [
            {"onExitCode": "7*", "action": "exit"},
            {"onReason": "*", "action": "RETRY"},
        ],
    }
    job = wait_for(
        batch, submit(batch, local, definition(batch, "exit 75"), retryStrategy=strategy)
    )
    assert job["status"] == "FAILED"
    assert len(job["attempts"]) == 1


def test_evaluate_on_exit_retry_and_first_match_wins(batch: Any, local: LocalBatch) -> None:
    strategy = {
        "attempts": 3,
        "evaluateOnExit": [
            {"onStatusReason": "Essential container*", "onExitCode": "1", "action": "RETRY"},
            {"onExitCode": "1", "action": "EXIT"},
        ],
    }
    job = wait_for(
        batch, submit(batch, local, definition(batch, FAIL_UNTIL_THIRD), retryStrategy=strategy)
    )
    assert job["status"] == "SUCCEEDED"
    assert len(job["attempts"]) == 3


def test_no_matching_entry_retries(batch: Any, local: LocalBatch) -> None:
    strategy = {"attempts": 2, "evaluateOnExit": [{"onExitCode": "9", "action": "EXIT"}]}
    job = wait_for(batch, submit(batch, local, definition(batch, "exit 4"), retryStrategy=strategy))
    assert [a["container"]["exitCode"] for a in job["attempts"]] == [4, 4]
