"""Deploy's deployment record, as rollout reads it: the target, the strategy and the sides."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from components._shared import keys
from components._shared.errors import DataError, DataReadError, expected_got


def read_record(path: str | Path) -> dict[str, Any]:
    """Deploy's record (a JSON file at ``path``); DataReadError naming the path."""
    path = Path(path)
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataReadError(
            f"deployment record {str(path)!r}: cannot read it as JSON: {exc}"
        ) from None
    if not isinstance(record, dict):
        raise DataError(expected_got("deployment record", "a JSON object", type(record).__name__))
    return record


def side_of(record: dict[str, Any], role: str) -> dict[str, Any]:
    """The record's side with ``role``; DataError listing the roles present."""
    sides = record.get(keys.DEPLOY_SIDES) or []
    for side in sides:
        if side.get(keys.DEPLOY_SIDE_ROLE) == role:
            return dict(side)
    roles = [s.get(keys.DEPLOY_SIDE_ROLE) for s in sides]
    raise DataError(expected_got("deployment record sides", f"a side with role {role!r}", roles))


def canary_predictor(record: dict[str, Any]) -> str | None:
    """The canary's predictor name (Standard mode), or None when the record names none."""
    try:
        return side_of(record, keys.DEPLOY_ROLE_CANARY).get(keys.DEPLOY_SIDE_PREDICTOR_NAME)
    except DataError:
        return None
