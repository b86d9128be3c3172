"""One local AWS Batch for the endpoint's tests; knobs and counters reset before each test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from local_helpers import client
from snakemake_aws_batch_local import LocalBatch

# Tests run with a short status pace; every other knob at its default.
PACE_SECONDS = 0.05


@pytest.fixture(scope="session")
def local_batch() -> Iterator[LocalBatch]:
    with LocalBatch(engine="process", status_pace_seconds=PACE_SECONDS) as local:
        yield local


@pytest.fixture
def local(local_batch: LocalBatch) -> LocalBatch:
    local_batch.reset_knobs(status_pace_seconds=PACE_SECONDS)
    local_batch.reset_calls()
    return local_batch


@pytest.fixture
def batch(local: LocalBatch) -> Any:
    return client(local, "batch")
