"""The package's layers: data flows one way, so a subpackage imports only from the
ones below it (docs/modules.md draws the same map)."""

from __future__ import annotations

import ast
from pathlib import Path

import snakemake_executor_plugin_aws_batch as package

ROOT = Path(package.__file__).parent
# Bottom to top; a module may import from its own part and the parts below it only.
LAYERS = (
    ("logs", "states"),
    ("settings",),
    ("jobspec",),
    ("aws",),
    ("tracking",),
    ("submission",),
    ("resume",),
    ("record",),
    ("executor",),
    ("__init__",),
    ("detached",),
)
LEVEL = {part: level for level, parts in enumerate(LAYERS) for part in parts}


def part_of(module: str) -> str:
    """The subpackage (or root module) a dotted module path within the package is in."""
    return module.split(".", maxsplit=1)[0] if module else "__init__"


def imports(path: Path) -> set[str]:
    """The parts of the package that the module at ``path`` imports from."""
    here = path.relative_to(ROOT).with_suffix("").parts
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = list(here[: len(here) - node.level])
            target = [*base, *node.module.split(".")] if node.module else base
            if target:
                found.add(part_of(".".join(target)))
            else:  # from the package itself: a part, or a name its __init__ holds
                found |= {a.name if a.name in LEVEL else "__init__" for a in node.names}
        elif isinstance(node, ast.ImportFrom | ast.Import):
            for name in (
                [node.module]
                if isinstance(node, ast.ImportFrom)
                else [alias.name for alias in node.names]
            ):
                if name and name.startswith(f"{package.__name__}."):
                    found.add(part_of(name.removeprefix(f"{package.__name__}.")))
    return found


def test_every_part_of_the_package_is_in_a_layer() -> None:
    parts = {path.relative_to(ROOT).parts[0].removesuffix(".py") for path in ROOT.rglob("*.py")}
    assert parts == set(LEVEL)


def test_the_imports_are_read_in_every_form() -> None:
    assert imports(ROOT / "executor.py") >= {"aws", "jobspec", "record", "tracking"}
    assert imports(ROOT / "__init__.py") == {"executor"}
    assert "__init__" in imports(ROOT / "detached" / "cli.py")  # from .. import ExecutorSettings
    assert "logs" in imports(ROOT / "aws" / "service.py")


def test_no_module_imports_from_a_layer_above_its_own() -> None:
    upward = []
    for path in sorted(ROOT.rglob("*.py")):
        own = part_of(".".join(path.relative_to(ROOT).with_suffix("").parts))
        for target in imports(path) - {own}:
            if LEVEL[target] > LEVEL[own] or (LEVEL[target] == LEVEL[own] and target != own):
                upward.append(f"{path.relative_to(ROOT)} imports {target}")
    assert upward == []
