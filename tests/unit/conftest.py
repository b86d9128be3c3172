"""Fixtures of the unit tests."""

from __future__ import annotations

import pytest

from .fakes import FakeTime, RecordingLogger


@pytest.fixture
def logger() -> RecordingLogger:
    return RecordingLogger()


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()
