"""Reads the Terraform configuration in terraform/ with python-hcl2, for static tests.

load() reads the root module (terraform/*.tf); Config.child() the local module a module
block calls (terraform/modules/*), and configurations() walks the root and every module
call below it, for checks of the whole configuration.
"""

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


def tf_files(directory: Path = TERRAFORM_DIR) -> list[Path]:
    """The .tf files of one module (Terraform reads no subdirectory)."""
    return sorted(directory.glob("*.tf"))


def module_directories() -> list[Path]:
    """The root module and every local module under terraform/modules."""
    return [TERRAFORM_DIR, *sorted({p.parent for p in TERRAFORM_DIR.glob("modules/*/*.tf")})]


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
    """All blocks of every .tf file of one module, merged by kind."""

    directory: Path = TERRAFORM_DIR
    resources: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    data: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    variables: dict[str, dict[str, Any]] = field(default_factory=dict)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    locals: dict[str, Any] = field(default_factory=dict)
    terraform: list[dict[str, Any]] = field(default_factory=list)
    # Module calls by name, and the moved blocks in the order the files give them.
    modules: dict[str, dict[str, Any]] = field(default_factory=dict)
    moved: list[dict[str, Any]] = field(default_factory=list)

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

    def module(self, name: str) -> dict[str, Any]:
        assert name in self.modules, f"module {name} is missing"
        return self.modules[name]

    def child(self, name: str) -> Config:
        """The configuration of the local module the module block `name` calls."""
        source = self.module(name)["source"]
        assert source.startswith("./"), f"module {name} is not a local module: {source}"
        directory = (self.directory / source).resolve()
        assert directory.is_relative_to(TERRAFORM_DIR), f"module {name} is outside terraform/"
        assert tf_files(directory), f"module {name}: no .tf file in {source}"
        return load(directory)


def _merge(target: dict[str, dict[str, Any]], blocks: list[dict[str, Any]]) -> None:
    for block in blocks:
        for kind, named in block.items():
            for name, body in named.items():
                assert name not in target.setdefault(kind, {}), f"{kind}.{name} defined twice"
                target[kind][name] = body


@cache
def load(directory: Path = TERRAFORM_DIR) -> Config:
    """One module's configuration: the root module unless another directory is given."""
    config = Config(directory=directory.resolve())
    for path in tf_files(directory):
        parsed = load_file(path)
        _merge(config.resources, parsed.get("resource", []))
        _merge(config.data, parsed.get("data", []))
        for block in parsed.get("module", []):
            for name, body in block.items():
                assert name not in config.modules, f"module.{name} defined twice"
                config.modules[name] = body
        for block in parsed.get("variable", []):
            config.variables.update(block)
        for block in parsed.get("output", []):
            config.outputs.update(block)
        for block in parsed.get("locals", []):
            config.locals.update(block)
        config.terraform.extend(parsed.get("terraform", []))
        config.moved.extend(parsed.get("moved", []))
    return config


@dataclass(frozen=True)
class Instance:
    """The root module, or a module call's instance: its address prefix ("" for the root,
    "module.fargate_queue[0]." for a call with count), its configuration, and the
    arguments its call gives (empty for the root)."""

    prefix: str
    config: Config
    inputs: dict[str, Any]

    def resolve(self, value: Any) -> Any:
        """value with each plain "${var.X}" replaced by what the call gives X, so a module's
        expression reads as the calling module's (lists element by element)."""
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        ref = reference(value)
        if ref is not None and ref.startswith("var.") and ref[4:] in self.inputs:
            return self.inputs[ref[4:]]
        return value


def configurations(instance: Instance | None = None) -> list[Instance]:
    """The root module and every module call below it (one instance of each: a call with
    count is read as its instance [0])."""
    instance = Instance("", load(), {}) if instance is None else instance
    found = [instance]
    for name, call in instance.config.modules.items():
        assert "for_each" not in call, f"module {name}: for_each is not handled here"
        index = "[0]" if "count" in call else ""
        child = Instance(
            f"{instance.prefix}module.{name}{index}.",
            instance.config.child(name),
            {k: instance.resolve(v) for k, v in call.items()},
        )
        found += configurations(child)
    return found


def all_resources() -> list[tuple[str, str, dict[str, Any]]]:
    """(address, kind, body) of every resource block of the whole configuration, modules
    included. The address is the block's: a call with count as its instance [0], the
    resource itself without an index."""
    return [
        (f"{instance.prefix}{kind}.{name}", kind, body)
        for instance in configurations()
        for kind, named in instance.config.resources.items()
        for name, body in named.items()
    ]


def statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    """Plain and dynamic statements of a policy document (dynamic ones by their content)."""
    found = list(document.get("statement", []))
    for dynamic in document.get("dynamic", []):
        if "statement" in dynamic:
            found.extend(dynamic["statement"].get("content", []))
    return found


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
