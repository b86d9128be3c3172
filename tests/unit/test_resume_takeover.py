"""Taking over an earlier run's jobs, on a fake AWS Batch: what is found, adopted and
terminated, what is said, and the counts for the run record."""

from __future__ import annotations

from typing import Any

from snakemake_executor_plugin_aws_batch.aws.boundary import BatchError
from snakemake_executor_plugin_aws_batch.jobspec.payloads import SHELL
from snakemake_executor_plugin_aws_batch.resume.earlier_runs import Window
from snakemake_executor_plugin_aws_batch.resume.takeover import (
    STALE_REASON,
    UNNEEDED_REASON,
    Takeover,
)

from .test_resume_candidates import WORKFLOW, described
from .test_resume_finder import FakeBatch


def command(n: int) -> str:
    return f"snakemake --target-jobs 'work:i={n}' --attempt 1"


def job(n: int, status: str = "RUNNING", fingerprint: str = "fp-1", **more: Any) -> dict[str, Any]:
    return described(
        f"job-{n}", status=status, fingerprint=fingerprint, command=[*SHELL, command(n)], **more
    )


def takeover(
    service: FakeBatch, logger: Any, *, cancel: bool = True, window: Window | None = None
) -> Takeover:
    found = Takeover(service, logger, cancel=cancel)
    found.find(workflow=WORKFLOW, queues=["q"], window=window or Window(0))
    return found


def test_what_is_found_is_said_with_its_states(logger):
    jobs = [job(1), job(2, "RUNNABLE"), job(3), job(4, "SUCCEEDED"), job(5, "FAILED")]
    service = FakeBatch([*jobs, job(6, "SUBMITTED")])
    note = "The run record x is of another workflow: not used to resume."
    found = takeover(service, logger, window=Window(0, (note,)))
    assert found.counts()["found"] == 5
    assert logger.at("warning") == [note]
    [said] = logger.at("info")
    assert said.startswith("Resuming: 5 AWS Batch jobs of an earlier run of this workflow ")
    assert "(1 RUNNABLE, 2 RUNNING, 1 SUBMITTED, 1 SUCCEEDED)" in said


def test_a_failure_to_look_means_every_job_is_submitted(logger):
    service = FakeBatch([job(1)], fail=BatchError("ListJobs failed: AccessDenied: no"))
    found = takeover(service, logger)
    assert logger.at("warning") == [
        "The jobs of an earlier run of this workflow could not be looked for "
        "(ListJobs failed: AccessDenied: no); every job is submitted."
    ]
    assert found.claim(command(1), "fp-1") is None
    found.finish()
    assert logger.at("info") == []  # nothing found, nothing to say at the end
    assert found.counts() == {"found": 0, "adopted": 0, "cancelled": 0, "left_running": 0}


def test_a_claimed_job_is_adopted_and_said(logger):
    found = takeover(FakeBatch([job(1, created=77)]), logger)
    adopted = found.claim(command(1), "fp-1")
    assert adopted is not None
    assert (adopted.batch_id, adopted.created_at) == ("job-1", 77)
    assert logger.at("info")[-1] == (
        "Adopting AWS Batch job job-1 (name-of-job-1, RUNNING) of an earlier run "
        "instead of submitting it again."
    )
    assert found.counts()["adopted"] == 1


def test_stale_jobs_are_terminated_and_counted_as_cancelled(logger):
    service = FakeBatch([job(1, "RUNNING", "fp-old"), job(2, "SUCCEEDED", "fp-old")])
    found = takeover(service, logger)
    assert found.claim(command(1), "fp-1") is None
    assert found.claim(command(2), "fp-1") is None
    assert service.terminated == [("job-1", STALE_REASON)]  # the succeeded one is done
    running, succeeded = logger.at("warning")
    assert running.startswith("Not adopted: AWS Batch job job-1 (name-of-job-1, RUNNING) ")
    assert running.endswith("; it is terminated.")
    assert succeeded.startswith("Not adopted: AWS Batch job job-2 (name-of-job-2, SUCCEEDED) ")
    assert "terminated" not in succeeded
    assert found.counts() == {"found": 2, "adopted": 0, "cancelled": 1, "left_running": 0}


def test_at_the_end_the_unclaimed_live_jobs_are_terminated(logger):
    service = FakeBatch([job(1), job(2, "RUNNABLE"), job(3, "PENDING"), job(4, "SUCCEEDED")])
    found = takeover(service, logger, cancel=True)
    found.claim(command(1), "fp-1")
    found.finish()
    assert sorted(service.terminated) == [("job-2", UNNEEDED_REASON), ("job-3", UNNEEDED_REASON)]
    assert found.counts() == {"found": 4, "adopted": 1, "cancelled": 2, "left_running": 0}
    assert logger.at("info")[-1] == (
        "Resumed an earlier run of this workflow: 1 AWS Batch jobs adopted, 2 cancelled."
    )


def test_kept_unmatched_the_unclaimed_live_jobs_are_left_running(logger):
    service = FakeBatch([job(1), job(2, "RUNNABLE"), job(3, "PENDING"), job(4, "SUCCEEDED")])
    found = takeover(service, logger, cancel=False)
    found.claim(command(1), "fp-1")
    found.finish()
    assert service.terminated == []
    assert found.counts() == {"found": 4, "adopted": 1, "cancelled": 0, "left_running": 2}
    assert logger.at("info")[-1] == (
        "Resumed an earlier run of this workflow: 1 AWS Batch jobs adopted, 0 cancelled, "
        "2 left running (--aws-batch-keep-unmatched)."
    )


def test_a_job_that_cannot_be_terminated_is_named_and_not_counted(logger):
    service = FakeBatch([job(1), job(2), job(3)], refuse=["job-2"])
    found = takeover(service, logger)
    found.finish()
    assert sorted(i for i, _ in service.terminated) == ["job-1", "job-3"]
    [warning] = logger.at("warning")
    assert "could not be terminated" in warning
    assert "job-2 (name-of-job-2): TerminateJob failed: refused job-2" in warning
    assert "job-1" not in warning
    assert found.counts()["cancelled"] == 2
