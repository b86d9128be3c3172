"""Reading a rule's resources as Snakemake 8 and 9 hold them, before any job exists."""

from __future__ import annotations

from typing import Any

from . import spec

# Resource names whose values are checked when the workflow starts.
CHECKED = (*spec.PARSERS, *spec.ALIASES)


def static_resources(rule: Any) -> dict[str, object]:
    """The rule's plugin resources that are plain values, not functions of wildcards."""
    resources: Any = getattr(rule, "resources", None) or {}
    values: dict[str, object] = {}
    for name in CHECKED:
        try:
            value: Any = resources.get(name)
        except (KeyError, AttributeError):
            continue
        if hasattr(value, "is_evaluable"):  # Snakemake 9: a Resource object
            if value.is_evaluable():
                continue
            value = value.value
        if value is None or callable(value):
            continue
        values[name] = value
    return values
