"""Interaction and rolling-aggregate specs: checked against the schema before anything is fitted.

An interaction is ``{"name", "op", "left", "right"}`` with ``op`` one of :data:`INTERACTION_OPS`
on numeric or integer feature columns. A rolling aggregate is ``{"name", "entity", "time",
"value", "window", "agg"}`` (see :mod:`.windows`). Errors name the spec by its index and field.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from components._shared.errors import ConfigError, expected_got
from components._shared.featurizer.windows import AGGREGATES, window_ns
from components._shared.schema import ColumnSchema, Schema

INTERACTION_OPS: Final = ("product", "ratio", "difference")
INTERACTION_KEYS: Final = ("name", "op", "left", "right")
ROLLING_KEYS: Final = ("name", "entity", "time", "value", "window", "agg")


def check_interactions(specs: list[dict], schema: Schema) -> list[dict[str, Any]]:
    """The interaction specs, validated against ``schema``; a ConfigError names the bad field."""
    checked = []
    for i, spec in enumerate(_spec_list(specs, "interactions")):
        spec = _spec_keys(spec, INTERACTION_KEYS, f"interactions[{i}]")
        if spec["op"] not in INTERACTION_OPS:
            raise ConfigError(expected_got(f"interactions[{i}].op", INTERACTION_OPS, spec["op"]))
        for side in ("left", "right"):
            column = _spec_column(schema, spec[side], f"interactions[{i}].{side}")
            if column.kind not in ("numeric", "integer") or column.role != "feature":
                raise ConfigError(
                    expected_got(
                        f"interactions[{i}].{side}",
                        "a numeric or integer column with role 'feature'",
                        f"{column.name!r} ({column.kind}, role {column.role})",
                    )
                )
        checked.append(spec)
    _check_names(checked, schema, "interactions")
    return checked


def check_rolling(specs: list[dict], schema: Schema) -> list[dict[str, Any]]:
    """The rolling specs, validated, each with ``window_ns`` added."""
    checked = []
    for i, spec in enumerate(_spec_list(specs, "rolling")):
        where = f"rolling[{i}]"
        spec = _spec_keys(spec, ROLLING_KEYS, where)
        if spec["agg"] not in AGGREGATES:
            raise ConfigError(expected_got(f"{where}.agg", AGGREGATES, spec["agg"]))
        spec["window_ns"] = window_ns(spec["window"])
        _spec_column(schema, spec["entity"], f"{where}.entity")
        time = _spec_column(schema, spec["time"], f"{where}.time")
        if time.kind != "datetime":
            raise ConfigError(
                expected_got(f"{where}.time", "a datetime column", f"{time.name!r} ({time.kind})")
            )
        value = _spec_column(schema, spec["value"], f"{where}.value")
        if value.kind not in ("numeric", "integer"):
            raise ConfigError(
                expected_got(
                    f"{where}.value",
                    "a numeric or integer column",
                    f"{value.name!r} ({value.kind})",
                )
            )
        checked.append(spec)
    _check_names(checked, schema, "rolling")
    return checked


def _spec_list(specs: Any, what: str) -> list[Any]:
    if not isinstance(specs, list | tuple):
        raise ConfigError(expected_got(what, "a list of objects", type(specs).__name__))
    return list(specs)


def _spec_keys(spec: Any, keys: tuple[str, ...], where: str) -> dict[str, Any]:
    if not isinstance(spec, Mapping):
        raise ConfigError(expected_got(where, f"an object with keys {list(keys)}", spec))
    if set(spec) != set(keys):
        raise ConfigError(expected_got(f"{where} keys", sorted(keys), sorted(spec)))
    out = {k: spec[k] for k in keys}
    if not isinstance(out["name"], str) or not out["name"].strip():
        raise ConfigError(expected_got(f"{where}.name", "a non-empty string", out["name"]))
    return out


def _spec_column(schema: Schema, name: Any, where: str) -> ColumnSchema:
    if name not in schema.column_names:
        raise ConfigError(
            expected_got(where, f"a column of the schema {schema.column_names}", name)
        )
    column = schema.column(name)
    if column.role == "target":
        raise ConfigError(f"{where}: the target {name!r} cannot feed features (label leakage)")
    return column


def _check_names(specs: list[dict[str, Any]], schema: Schema, what: str) -> None:
    names = [s["name"] for s in specs]
    taken = set(schema.column_names)
    clash = sorted({n for n in names if n in taken or names.count(n) > 1})
    if clash:
        raise ConfigError(
            f"{what}: name(s) {clash} repeat or clash with a column; choose unique names"
        )
