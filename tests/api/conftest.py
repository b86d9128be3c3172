"""The names the API tests import from here; the fixtures are in the root conftest."""

from __future__ import annotations

from ..conftest import REGION, Calls, make_queue
from ..fakes import RecordingLogger as Logger

__all__ = ["REGION", "Calls", "Logger", "make_queue"]
