"""The data contract: which columns a table has, of what kind, in which role, with which values.

A :class:`Schema` is inferred by ``validate`` on the first run, stored as JSON (the schema
artifact, and ``manifest.json`` in every bundle), and given back to ``validate`` on later runs as
the expected contract. Featurize, train, serving and drift all read it; none of them re-infers
types from data.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Final, Literal

from components._shared.errors import ConfigError, expected_got

# The CSV cells read as missing when a contract does not say otherwise (the reader's default,
# and what a contract written before the tokens were recorded was made with). A single space is
# deliberately not one: validate must see blank-space cells (Telco TotalCharges " ") and count
# their coercion itself.
DEFAULT_NULL_TOKENS: tuple[str, ...] = ("", "NA", "N/A", "NULL", "null", "NaN", "nan", "?", "None")

SCHEMA_FORMAT_VERSION: Final = 1

ColumnKind = Literal["numeric", "integer", "boolean", "categorical", "datetime", "identifier"]
ColumnRole = Literal["feature", "target", "id", "time"]

COLUMN_KINDS: Final[tuple[str, ...]] = (
    "numeric",
    "integer",
    "boolean",
    "categorical",
    "datetime",
    "identifier",
)
COLUMN_ROLES: Final[tuple[str, ...]] = ("feature", "target", "id", "time")

# Tokens a boolean column may hold, compared case-insensitively after stripping blanks. The
# schema records the tokens actually seen (``true_values``/``false_values``) so that serving can
# accept the same raw values that training saw ("Yes"/"No", 0/1, true/false).
TRUE_TOKENS: Final = frozenset({"true", "t", "yes", "y", "1", "1.0"})
FALSE_TOKENS: Final = frozenset({"false", "f", "no", "n", "0", "0.0"})


@dataclass(frozen=True)
class ColumnSchema:
    """One column of the contract.

    Attributes:
        name: Column name as in the data.
        kind: numeric (float), integer, boolean, categorical, datetime or identifier.
        role: feature, target, id (kept out of features) or time (orders a time split).
        nullable: Whether nulls were seen (inferred) or are allowed (contract).
        null_fraction: Fraction of nulls seen when the schema was inferred.
        minimum: Smallest value seen (numeric, integer, datetime as ISO text), else None.
        maximum: Largest value seen, else None.
        categories: Values seen, sorted (categorical and target columns), else None.
        true_values: Raw tokens read as True (boolean columns), else None.
        false_values: Raw tokens read as False (boolean columns), else None.
        stored_as_text: True when numbers arrived as text (e.g. Telco ``TotalCharges``).
    """

    name: str
    kind: str
    role: str = "feature"
    nullable: bool = True
    null_fraction: float = 0.0
    minimum: float | str | None = None
    maximum: float | str | None = None
    categories: list[str] | None = None
    true_values: list[str] | None = None
    false_values: list[str] | None = None
    stored_as_text: bool = False

    def __post_init__(self) -> None:
        if self.kind not in COLUMN_KINDS:
            raise ConfigError(expected_got(f"column {self.name!r} kind", COLUMN_KINDS, self.kind))
        if self.role not in COLUMN_ROLES:
            raise ConfigError(expected_got(f"column {self.name!r} role", COLUMN_ROLES, self.role))

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form; absent optional fields are dropped to keep contracts readable."""
        out = asdict(self)
        return {k: v for k, v in out.items() if v is not None}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ColumnSchema:
        """Build from :meth:`to_dict` output; unknown keys are an error, not silently dropped."""
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"schema column {data.get('name')!r}: unknown field(s) {unknown}")
        if "name" not in data or "kind" not in data:
            raise ConfigError(f"schema column needs 'name' and 'kind', got {sorted(data)}")
        return cls(**dict(data))


@dataclass(frozen=True)
class Schema:
    """The whole contract of a binary-classification table.

    ``class_labels`` is ``[negative, positive]`` as text; every label other than the positive one
    is the negative class (a target with more than two labels is only accepted when validate's
    ``negative_labels`` names the negative ones).

    ``null_tokens`` are the CSV cells the reader took as missing when the contract was made
    (``["", "NA", "?", ...]``; ``[]`` for Parquet, whose nulls are typed): a value equal to one
    of them means missing wherever raw values arrive (serving, batch scoring, drift), so that
    training and serving read the same cell the same way. None in contracts written before it
    was recorded: readers then assume ``tables.DEFAULT_NULL_TOKENS``.
    """

    columns: list[ColumnSchema]
    target: str
    positive_label: str
    class_labels: list[str] = field(default_factory=list)
    id_columns: list[str] = field(default_factory=list)
    time_column: str | None = None
    format_version: int = SCHEMA_FORMAT_VERSION
    null_tokens: list[str] | None = None

    def __post_init__(self) -> None:
        names = [c.name for c in self.columns]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ConfigError(f"schema lists column(s) {duplicates} more than once")
        if self.target not in names:
            raise ConfigError(expected_got("schema target", f"one of {names}", self.target))

    # --- lookups ----------------------------------------------------------------------------
    @property
    def column_names(self) -> list[str]:
        """Every column, in data order."""
        return [c.name for c in self.columns]

    @property
    def feature_columns(self) -> list[ColumnSchema]:
        """Columns that feed the featurizer (role ``feature``), in data order."""
        return [c for c in self.columns if c.role == "feature"]

    @property
    def feature_names(self) -> list[str]:
        """Names of :attr:`feature_columns`."""
        return [c.name for c in self.feature_columns]

    def column(self, name: str) -> ColumnSchema:
        """The column called ``name``; a ConfigError naming the known columns otherwise."""
        for col in self.columns:
            if col.name == name:
                return col
        raise ConfigError(expected_got("column", f"one of {self.column_names}", repr(name)))

    def with_columns(self, columns: Iterable[ColumnSchema]) -> Schema:
        """A copy with ``columns`` replaced."""
        return replace(self, columns=list(columns))

    # --- JSON -------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form (the schema artifact and the ``schema`` entry of a bundle manifest)."""
        return {
            "format_version": self.format_version,
            "target": self.target,
            "positive_label": self.positive_label,
            "class_labels": list(self.class_labels),
            "id_columns": list(self.id_columns),
            "time_column": self.time_column,
            "columns": [c.to_dict() for c in self.columns],
            **({"null_tokens": list(self.null_tokens)} if self.null_tokens is not None else {}),
        }

    def to_json(self) -> str:
        """Stable, human-readable JSON text."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=False) + "\n"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Schema:
        """Parse :meth:`to_dict` output; a newer format version is refused, not guessed at."""
        version = data.get("format_version", SCHEMA_FORMAT_VERSION)
        if version > SCHEMA_FORMAT_VERSION:
            raise ConfigError(
                expected_got("schema format_version", f"<= {SCHEMA_FORMAT_VERSION}", version)
            )
        try:
            return cls(
                columns=[ColumnSchema.from_dict(c) for c in data["columns"]],
                target=data["target"],
                positive_label=str(data["positive_label"]),
                class_labels=[str(v) for v in data.get("class_labels", [])],
                id_columns=list(data.get("id_columns", [])),
                time_column=data.get("time_column"),
                format_version=version,
                null_tokens=_tokens(data.get("null_tokens")),
            )
        except KeyError as missing:
            raise ConfigError(f"schema is missing the field {missing}") from None

    @classmethod
    def from_json(cls, text: str) -> Schema:
        """Parse JSON text written by :meth:`to_json`."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"schema is not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise ConfigError(expected_got("schema JSON", "an object", type(data).__name__))
        return cls.from_dict(data)


def _tokens(value: Any) -> list[str] | None:
    """The recorded null tokens: a list of text, or None when not recorded."""
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        raise ConfigError(expected_got("schema null_tokens", "a list of text", repr(value)))
    return list(value)
