"""A job attempt's output, written to CloudWatch Logs line by line as it is produced."""

from __future__ import annotations

import threading
import time
from typing import Any

LOG_GROUP = "/aws/batch/job"

# moto's logs backend is not thread-safe; every job thread writes through this lock.
_LOCK = threading.Lock()


class AttemptLog:
    """Lines of one attempt, in the stream ``<definition>/default/<id>``."""

    def __init__(self, backend: Any, stream: str) -> None:
        self._backend = backend
        self.stream = stream
        with _LOCK:
            backend.ensure_log_group(LOG_GROUP)
            backend.ensure_log_stream(LOG_GROUP, stream)

    def write(self, line: str) -> None:
        event = {"timestamp": int(time.time() * 1000), "message": line}
        with _LOCK:
            self._backend.put_log_events(LOG_GROUP, self.stream, [event])
