"""No function in the product code runs over 60 lines of code (docstrings, comments and blank
lines aside): a reader sees a whole function at once. ruff's C901/PLR0912/PLR0915 (make lint)
bound branches and statements; this bounds length, which ruff does not measure.

component.py files are left out: their length is the KFP signature and its docstring.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("components", "serving", "kfp_tabular")
MAX_LINES = 60


def code_lines(lines: list[str], node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """Lines of ``node`` that hold code: no docstring, comment-only or blank lines."""
    skip: set[int] = set()
    first = node.body[0]
    if isinstance(first, ast.Expr) and isinstance(getattr(first.value, "value", None), str):
        skip = set(range(first.lineno, (first.end_lineno or first.lineno) + 1))
    count = 0
    for number in range(node.lineno, (node.end_lineno or node.lineno) + 1):
        text = lines[number - 1].strip()
        if number not in skip and text and not text.startswith("#"):
            count += 1
    return count


def long_functions() -> dict[str, int]:
    """``path:function`` -> code lines, for every function over the limit."""
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if path.name == "component.py":
                continue
            source = path.read_text()
            lines = source.splitlines()
            for node in ast.walk(ast.parse(source)):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    length = code_lines(lines, node)
                    if length > MAX_LINES:
                        found[f"{path.relative_to(ROOT)}:{node.name}"] = length
    return found


def test_no_function_over_sixty_lines_of_code() -> None:
    found = long_functions()
    assert not found, "split these functions along their seams:\n" + "\n".join(
        f"  {name}: {length} lines" for name, length in sorted(found.items())
    )
