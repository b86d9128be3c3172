"""The shared fakes under their old name, until the unit tests import ``tests.fakes``."""

from ..fakes import VALID_NAME, FakeTime, RecordingLogger

__all__ = ["VALID_NAME", "FakeTime", "RecordingLogger"]
