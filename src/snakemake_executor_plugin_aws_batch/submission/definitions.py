"""Job definitions: content-hashed ones looked up first and registered at most once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from ..jobspec import payloads
from ..jobspec.spec import DefinitionSpec

Lookup = Callable[[str], "str | None"]  # definition name -> ARN of an ACTIVE revision
Register = Callable[[dict[str, Any]], str]  # request -> ARN


class DefinitionRegistry:
    """Maps a job's definition to what its SubmitJob request names.

    A :class:`DefinitionSpec` becomes the ARN of a matching ACTIVE job definition;
    a string (an existing definition the user named) is used as it is.
    Thread-safe: jobs submitted concurrently with the same definition wait for
    one look-up (and at most one registration) instead of racing.
    """

    def __init__(self, *, lookup: Lookup, register: Register) -> None:
        self._lookup = lookup
        self._register = register
        self._arns: dict[DefinitionSpec, str] = {}
        self._locks: dict[DefinitionSpec, threading.Lock] = {}
        self._guard = threading.Lock()
        self.registered: list[str] = []

    def arn(self, definition: DefinitionSpec | str) -> str:
        if isinstance(definition, str):
            return definition
        known = self._arns.get(definition)
        if known is not None:
            return known
        with self._guard:
            lock = self._locks.setdefault(definition, threading.Lock())
        with lock:
            known = self._arns.get(definition)
            if known is None:
                known = self._resolve(definition)
                self._arns[definition] = known
            return known

    def _resolve(self, spec: DefinitionSpec) -> str:
        request = payloads.job_definition(spec)
        existing = self._lookup(request["jobDefinitionName"])
        if existing is not None:
            return existing
        arn = self._register(request)
        self.registered.append(arn)
        return arn
