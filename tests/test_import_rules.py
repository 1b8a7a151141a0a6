"""The import rules of docs/DESIGN.md, enforced on the source (ast), not by convention.

- executors and _shared never import kfp;
- a component.py imports only kfp, the standard library and the image constant at module level,
  and its function body makes one lazy import: its own executor;
- a component's modules import, of this project, only their own folder, ``components._shared``
  and the serving modules named for them (the gate's self-check: ``serving.selfcheck``);
- pipelines import only kfp, the standard library and components;
- serving never imports kfp or an executor.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
STDLIB = set(sys.stdlib_module_names) | {"__future__"}


def imports(tree: ast.AST) -> Iterator[tuple[str, ast.AST]]:
    """Every imported module name (absolute) with its node."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module, node


def top(name: str) -> str:
    return name.split(".")[0]


def python_files(folder: str) -> list[Path]:
    return sorted(p for p in (ROOT / folder).rglob("*.py") if "compiled" not in p.parts)


def component_files() -> list[Path]:
    return sorted((ROOT / "components").glob("*/component.py"))


@pytest.mark.parametrize(
    "path",
    [p for p in python_files("components") if p.name != "component.py" and p.name != "catalog.py"],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_executors_and_shared_never_import_kfp(path: Path) -> None:
    tree = ast.parse(path.read_text())
    bad = [name for name, _ in imports(tree) if top(name) == "kfp"]
    assert not bad, f"{path.relative_to(ROOT)} imports {bad}; only component.py may import kfp"


@pytest.mark.parametrize("path", component_files(), ids=lambda p: p.parent.name)
def test_component_imports_kfp_stdlib_and_its_executor_only(path: Path) -> None:
    tree = ast.parse(path.read_text())
    module_level = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
    for node in module_level:
        for name, _ in imports(node):
            assert top(name) in STDLIB | {"kfp"} or name == "components._image", (
                f"{path.relative_to(ROOT)} imports {name} at module level"
            )
    functions = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
    assert len(functions) == 1, "one component function per component.py"
    body_imports = [name for name, _ in imports(functions[0])]
    expected = f"components.{path.parent.name}.executor"
    assert body_imports == [expected], (
        f"{path.relative_to(ROOT)}: the body must import only {expected}, found {body_imports}"
    )
    calls = [
        n
        for n in functions[0].body
        if isinstance(n, ast.Expr | ast.Return) and isinstance(n.value, ast.Call)
    ]
    assert len(calls) == 1, "the component body makes one call to its executor"


# The serving modules a component may use, by component (docs/DESIGN.md: the gate's infra check).
SERVING_FOR = {"gate": {"serving.selfcheck"}, "batch_predict": {"serving.scoring", "serving.codec"}}
PROJECT = {"components", "serving", "pipelines", "kfp_tabular"}


@pytest.mark.parametrize(
    "path",
    [
        p
        for p in python_files("components")
        if p.parent.parent == ROOT / "components" and p.parent.name != "_shared"
    ],
    ids=lambda p: str(p.relative_to(ROOT / "components")),
)
def test_component_imports_only_its_folder_shared_and_named_serving(path: Path) -> None:
    own = path.parent.name
    allowed_serving = SERVING_FOR.get(own, set())
    for name, _ in imports(ast.parse(path.read_text())):
        if top(name) not in PROJECT or name == "components._image":
            continue
        ok = (
            name in ("components", f"components.{own}")  # "components": the version
            or name.startswith((f"components.{own}.", "components._shared"))
            or name in allowed_serving
        )
        assert ok, (
            f"{path.relative_to(ROOT)} imports {name}; a component imports only "
            f"components.{own}, components._shared and {sorted(allowed_serving) or 'no serving'}"
        )


@pytest.mark.parametrize("path", python_files("pipelines"), ids=lambda p: p.name)
def test_pipelines_import_only_kfp_and_components(path: Path) -> None:
    tree = ast.parse(path.read_text())
    for name, _ in imports(tree):
        assert top(name) in STDLIB | {"kfp", "components", "pipelines"}, (
            f"{path.relative_to(ROOT)} imports {name}"
        )


@pytest.mark.parametrize("path", python_files("serving"), ids=lambda p: p.name)
def test_serving_never_imports_kfp_or_executors(path: Path) -> None:
    tree = ast.parse(path.read_text())
    for name, _ in imports(tree):
        assert top(name) != "kfp", f"{path.relative_to(ROOT)} imports kfp"
        assert not (name.startswith("components.") and not name.startswith("components._shared")), (
            f"{path.relative_to(ROOT)} imports {name}; serving may use components._shared only"
        )
