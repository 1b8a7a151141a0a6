"""The subset of GJSON path syntax that KServe's InferenceGraph router evaluates, for the
conditions :mod:`components.deploy.graph` emits, so a test can route real requests exactly as the
router would.

KServe's router (``cmd/router/main.go``, ``pickupRouteByCondition``) takes the first step of a
Switch node for which ``gjson.GetBytes(request, step.condition).Exists()`` holds; an empty
condition never exists, and no match answers 404. Supported here (and nothing else: anything
else raises ``ValueError`` rather than guessing):

- ``key`` components separated by ``.`` (object members), ``N`` (array index);
- ``#(key<op>literal)``: the first element of an array of objects whose ``key`` compares true;
- ``#(<op>literal)``: the first element of an array of scalars that compares true;
- ``<op>``: ``==``, ``!=``, ``<``, ``<=``, ``>``, ``>=``; ``literal``: a JSON string in double
  quotes, a number, ``true``, ``false``.

As in GJSON, a comparison holds only between a string literal and a JSON string, a number
literal and a JSON number, ``true``/``false`` and a JSON boolean.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, Final

_MISSING: Final = object()
_QUERY = re.compile(r"^#\((?P<key>[A-Za-z0-9_\-]*)(?P<op>==|!=|<=|>=|<|>)(?P<lit>.+)\)$")
_OPS: Final[dict[str, Callable[[Any, Any], bool]]] = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def split_path(path: str) -> list[str]:
    """The components of ``path``: split on ``.`` outside ``#(...)`` and string literals."""
    parts, depth, quoted, current = [], 0, False, ""
    for i, char in enumerate(path):
        if quoted:
            quoted = not (char == '"' and path[i - 1] != "\\")
        elif char == '"':
            quoted = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "." and depth == 0:
            parts.append(current)
            current = ""
            continue
        current += char
    if quoted or depth:
        raise ValueError(f"gjson path {path!r}: unbalanced quotes or parentheses")
    return [*parts, current]


def literal(text: str) -> Any:
    """A query literal: a JSON string, number or boolean."""
    try:
        value = json.loads(text)
    except ValueError:
        raise ValueError(
            f"gjson literal {text!r}: expected a JSON string, number or bool"
        ) from None
    if value is None or isinstance(value, (list, dict)):
        raise ValueError(f"gjson literal {text!r}: expected a JSON string, number or bool")
    return value


def _same_kind(value: Any, lit: Any) -> bool:
    if isinstance(lit, bool) or isinstance(value, bool):
        return isinstance(lit, bool) and isinstance(value, bool)
    if isinstance(lit, str):
        return isinstance(value, str)
    return isinstance(value, (int, float))


def compares(value: Any, op: str, lit: Any) -> bool:
    """``value <op> lit`` with GJSON's typing: different kinds never compare true."""
    if not _same_kind(value, lit):
        return False
    if isinstance(lit, bool) and op not in ("==", "!="):
        return False
    return bool(_OPS[op](value, lit))


def _step(current: Any, part: str) -> Any:
    match = _QUERY.match(part)
    if match:
        if not isinstance(current, list):
            return _MISSING
        key, op, lit = match["key"], match["op"], literal(match["lit"])
        for element in current:
            value = element.get(key, _MISSING) if key and isinstance(element, dict) else element
            if key and not isinstance(element, dict):
                continue
            if value is not _MISSING and compares(value, op, lit):
                return element
        return _MISSING
    if part.startswith("#") or "*" in part or "?" in part or "@" in part or "|" in part:
        raise ValueError(f"gjson path component {part!r}: not in the supported subset")
    if isinstance(current, list):
        return current[int(part)] if part.isdigit() and int(part) < len(current) else _MISSING
    if isinstance(current, dict):
        return current.get(part, _MISSING)
    return _MISSING


def get(document: Any, path: str) -> Any:
    """The value at ``path``; KeyError when it does not exist (GJSON's ``!Exists()``)."""
    if not path:
        raise KeyError(path)  # GJSON: an empty path matches nothing
    current = document
    for part in split_path(path):
        current = _step(current, part)
        if current is _MISSING:
            raise KeyError(path)
    return current


def exists(document: Any, path: str) -> bool:
    """``gjson.Get(document, path).Exists()`` for the supported subset."""
    try:
        get(document, path)
    except KeyError:
        return False
    return True
