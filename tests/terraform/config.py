"""Reads the Terraform configuration in terraform/ with python-hcl2, for static tests."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import hcl2

REPO_ROOT = Path(__file__).resolve().parents[2]
TERRAFORM_DIR = REPO_ROOT / "terraform"

_REFERENCE = re.compile(r"^\$\{([A-Za-z0-9_.\[\]*]+)\}$")


def tf_files() -> list[Path]:
    return sorted(TERRAFORM_DIR.glob("*.tf"))


def load_file(path: Path) -> dict[str, Any]:
    with path.open() as handle:
        return dict(hcl2.load(handle))


def reference(value: Any) -> str | None:
    """'aws_iam_role.job.arn' for the expression "${aws_iam_role.job.arn}", else None."""
    if not isinstance(value, str):
        return None
    match = _REFERENCE.match(value)
    return match.group(1) if match else None


@dataclass
class Config:
    """All blocks of every .tf file, merged by kind."""

    resources: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    data: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    variables: dict[str, dict[str, Any]] = field(default_factory=dict)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    locals: dict[str, Any] = field(default_factory=dict)
    terraform: list[dict[str, Any]] = field(default_factory=list)

    def resource(self, kind: str, name: str) -> dict[str, Any]:
        assert name in self.resources.get(kind, {}), f"resource {kind}.{name} is missing"
        return self.resources[kind][name]

    def data_source(self, kind: str, name: str) -> dict[str, Any]:
        assert name in self.data.get(kind, {}), f"data {kind}.{name} is missing"
        return self.data[kind][name]

    def policy_document(self, expression: Any) -> dict[str, Any]:
        """The aws_iam_policy_document a "${data.aws_iam_policy_document.X[0].json}" names."""
        ref = reference(expression)
        assert ref is not None, f"expected a reference to a policy document, got {expression!r}"
        match = re.fullmatch(r"data\.aws_iam_policy_document\.(\w+)(\[0\])?\.json", ref)
        assert match, f"{ref} is not an aws_iam_policy_document's json"
        return self.data_source("aws_iam_policy_document", match.group(1))

    def default(self, variable: str) -> Any:
        assert variable in self.variables, f"variable {variable} is missing"
        return self.variables[variable].get("default")


def _merge(target: dict[str, dict[str, Any]], blocks: list[dict[str, Any]]) -> None:
    for block in blocks:
        for kind, named in block.items():
            for name, body in named.items():
                assert name not in target.setdefault(kind, {}), f"{kind}.{name} defined twice"
                target[kind][name] = body


@cache
def load() -> Config:
    config = Config()
    for path in tf_files():
        parsed = load_file(path)
        _merge(config.resources, parsed.get("resource", []))
        _merge(config.data, parsed.get("data", []))
        for block in parsed.get("variable", []):
            config.variables.update(block)
        for block in parsed.get("output", []):
            config.outputs.update(block)
        for block in parsed.get("locals", []):
            config.locals.update(block)
        config.terraform.extend(parsed.get("terraform", []))
    return config


def statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    """Plain and dynamic statements of a policy document (dynamic ones by their content)."""
    found = list(document.get("statement", []))
    for dynamic in document.get("dynamic", []):
        if "statement" in dynamic:
            found.extend(dynamic["statement"].get("content", []))
    return found


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
