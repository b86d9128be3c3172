"""Job definitions named by their content: looked up first, registered at most once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from .spec import DefinitionSpec

Lookup = Callable[[str], "str | None"]  # definition name -> ARN of an ACTIVE revision
Register = Callable[[dict[str, Any]], str]  # request -> ARN


class DefinitionRegistry:
    """Maps a :class:`DefinitionSpec` to the ARN of a matching ACTIVE job definition.

    Thread-safe: jobs submitted concurrently with the same definition wait for
    one look-up (and at most one registration) instead of racing.
    """

    def __init__(
        self,
        *,
        build: Callable[[DefinitionSpec], dict[str, Any]],
        lookup: Lookup,
        register: Register,
    ) -> None:
        self._build = build
        self._lookup = lookup
        self._register = register
        self._arns: dict[DefinitionSpec, str] = {}
        self._locks: dict[DefinitionSpec, threading.Lock] = {}
        self._guard = threading.Lock()
        self.registered: list[str] = []

    def arn(self, spec: DefinitionSpec) -> str:
        known = self._arns.get(spec)
        if known is not None:
            return known
        with self._guard:
            lock = self._locks.setdefault(spec, threading.Lock())
        with lock:
            known = self._arns.get(spec)
            if known is None:
                known = self._resolve(spec)
                self._arns[spec] = known
            return known

    def _resolve(self, spec: DefinitionSpec) -> str:
        request = self._build(spec)
        existing = self._lookup(request["jobDefinitionName"])
        if existing is not None:
            return existing
        arn = self._register(request)
        self.registered.append(arn)
        return arn
