"""The book of an earlier run's jobs: which one a job of this run takes over, and which of
its Snakemake job's others are stale (and why)."""

from __future__ import annotations

import pytest

from snakemake_executor_plugin_aws_batch.resume.candidates import Candidate
from snakemake_executor_plugin_aws_batch.resume.earlier import Claim, Earlier, Why

COMMAND = "snakemake --target-jobs 'work:i=1' --rerun-triggers code params mtime --attempt 1"
OTHER_COMMAND = "snakemake --target-jobs 'work:i=2' --rerun-triggers code params mtime --attempt 1"


def candidate(
    batch_id: str,
    status: str = "RUNNING",
    *,
    command: str = COMMAND,
    fingerprint: str = "fp-1",
    created_at: int = 1_000,
) -> Candidate:
    return Candidate(batch_id, f"name-{batch_id}", status, command, fingerprint, created_at)


def test_the_job_with_the_same_command_and_fingerprint_is_adopted():
    mine, other = candidate("a"), candidate("b", command=OTHER_COMMAND)
    book = Earlier([mine, other])
    assert book.claim(COMMAND, "fp-1") == Claim(adopted=mine)
    assert book.unclaimed() == [other]


def test_a_command_matches_up_to_the_order_of_an_options_values():
    mine = candidate("a")
    book = Earlier([mine])
    reordered = COMMAND.replace("code params mtime", "mtime code params")
    assert book.claim(reordered, "fp-1").adopted is mine


def test_the_same_command_with_another_fingerprint_is_stale_not_adopted():
    changed = candidate("a", fingerprint="fp-old")
    book = Earlier([changed])
    assert book.claim(COMMAND, "fp-1") == Claim(adopted=None, stale=((changed, Why.REQUEST),))
    assert len(book) == 0


def test_another_command_of_the_same_snakemake_job_is_stale_not_adopted():
    changed = candidate("a", command=COMMAND.replace("--rerun-triggers code", "--rerun-triggers"))
    book = Earlier([changed])
    assert book.claim(COMMAND, "fp-1") == Claim(adopted=None, stale=((changed, Why.COMMAND),))


def test_a_job_of_another_attempt_is_adopted():
    retried = candidate("a", command=COMMAND.replace("--attempt 1", "--attempt 2"))
    book = Earlier([retried])
    assert book.claim(COMMAND, "fp-1") == Claim(adopted=retried)


def test_nothing_is_found_for_a_command_no_candidate_runs():
    book = Earlier([candidate("a")])
    assert book.claim(OTHER_COMMAND, "fp-1") == Claim()
    assert len(book) == 1


@pytest.mark.parametrize(
    ("better", "worse"),
    [
        (("SUCCEEDED", 1), ("RUNNING", 2)),
        (("RUNNING", 1), ("STARTING", 2)),
        (("STARTING", 1), ("RUNNABLE", 2)),
        (("RUNNABLE", 1), ("PENDING", 2)),
        (("PENDING", 1), ("SUBMITTED", 2)),
        (("RUNNING", 2), ("RUNNING", 1)),  # the same state: the newest
    ],
)
def test_of_two_alike_the_one_furthest_on_then_the_newest_is_adopted(better, worse):
    best = candidate("best", better[0], created_at=better[1])
    duplicate = candidate("duplicate", worse[0], created_at=worse[1])
    for found in ([best, duplicate], [duplicate, best]):
        claim = Earlier(found).claim(COMMAND, "fp-1")
        assert claim == Claim(adopted=best, stale=((duplicate, Why.COPY),))


def test_each_stale_candidate_says_why():
    adopted = candidate("a")
    copy = candidate("b", "RUNNABLE")
    changed = candidate("c", fingerprint="fp-old")
    other = candidate("d", command=COMMAND.replace("code params mtime", "code"))
    claim = Earlier([adopted, copy, changed, other]).claim(COMMAND, "fp-1")
    assert claim.adopted is adopted
    assert sorted((c.batch_id, why) for c, why in claim.stale) == [
        ("b", Why.COPY),
        ("c", Why.REQUEST),
        ("d", Why.COMMAND),
    ]


def test_a_group_job_is_found_whatever_the_order_of_its_targets():
    group = "snakemake --target-jobs 'a:i=1' 'b:i=1' --attempt 1"
    mine = candidate("g", command=group)
    reordered = "snakemake --target-jobs 'b:i=1' 'a:i=1' --attempt 1"
    assert Earlier([mine]).claim(reordered, "fp-1").adopted is mine
    fewer = "snakemake --target-jobs 'a:i=1' --attempt 1"
    assert Earlier([mine]).claim(fewer, "fp-1") == Claim()


def test_a_command_is_claimed_once():
    book = Earlier([candidate("a"), candidate("b", fingerprint="fp-old")])
    assert book.claim(COMMAND, "fp-1").adopted is not None
    assert book.claim(COMMAND, "fp-1") == Claim()
    assert book.claim(COMMAND, "fp-old") == Claim()


def test_what_no_job_claimed_is_left_once():
    found = [candidate("a"), candidate("b", command=OTHER_COMMAND), candidate("c", "SUCCEEDED")]
    book = Earlier(found)
    assert len(book) == 3
    book.claim(OTHER_COMMAND, "fp-1")
    assert len(book) == 2
    assert sorted(c.batch_id for c in book.unclaimed()) == ["a", "c"]
    assert (len(book), book.unclaimed()) == (0, [])
