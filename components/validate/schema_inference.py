"""Type raw table columns: infer a column's kind, or coerce it to the kind a contract declares.

Raw columns come from ``tables.read_table``: numbers and booleans already typed by the CSV
reader, everything else text (object). Text is analysed once per *distinct* value (after
``pandas.factorize``), never per cell, so the cost is one hash pass over the column plus work
proportional to its cardinality. Every cell set to null on the way (blank text, text that does
not parse as the column's kind) is counted in a :class:`Coercion`, never dropped silently.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Final

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from components._shared.schema import FALSE_TOKENS, TRUE_TOKENS, ColumnSchema

# Share of non-blank cells that must parse for a text column to count as numbers or dates. The
# rest (at most 1%) is coerced to null and reported with examples; below it the column is text.
PARSE_FRACTION: Final = 0.99
# A text column whose distinct values exceed this share of its non-null cells, over at least
# IDENTIFIER_MIN_ROWS rows, is an identifier (a key), not a category worth one-hot encoding.
IDENTIFIER_UNIQUE_RATIO: Final = 0.9
IDENTIFIER_MIN_ROWS: Final = 100
# Distinct text values tried first when guessing dates, so that plain text fails fast.
DATE_PROBE: Final = 200
MAX_EXAMPLES: Final = 5
# Integral floats beyond 2**53 are not exact integers any more; such columns stay numeric.
_EXACT_INT: Final = float(2**53)


@dataclass
class Coercion:
    """Cells set to null while typing one column.

    Attributes:
        blank: Cells holding only whitespace (e.g. Telco ``TotalCharges`` = " ").
        unparseable: Non-blank cells that are not a value of the column's kind.
        examples: Up to five distinct unparseable values, as text.
    """

    blank: int = 0
    unparseable: int = 0
    examples: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        """Every coerced cell of the column."""
        return self.blank + self.unparseable


@dataclass
class TypedColumn:
    """One column typed to its kind, with what typing it took.

    ``codes``/``uniques`` are kept for text kinds (categorical, identifier, target labels): the
    checks, the duplicate-row hash and the profile reuse them instead of hashing the strings
    again. ``mismatch`` is set, and ``values`` left raw, when the values do not fit the kind a
    contract asked for; it describes what was found instead.
    """

    values: pd.Series
    kind: str
    coercion: Coercion = field(default_factory=Coercion)
    codes: np.ndarray | None = None
    uniques: np.ndarray | None = None
    true_values: list[str] | None = None
    false_values: list[str] | None = None
    stored_as_text: bool = False
    mismatch: str | None = None


@dataclass
class _Text:
    """The distinct values of a text column and how often each occurs."""

    codes: np.ndarray  # per cell, index into texts; -1 for null
    texts: np.ndarray  # object array of str, one per distinct raw value
    counts: np.ndarray  # cells per distinct value
    stripped: list[str]
    blank: np.ndarray  # bool per distinct value: only whitespace
    plain: bool  # raw column was object dtype holding only str (re-usable as is)
    numbers: _Numbers | None = None  # memo of _numbers(): parsing text is the costly part

    @property
    def blank_cells(self) -> int:
        return int(self.counts[self.blank].sum())

    @property
    def value_cells(self) -> int:
        return int(self.counts[~self.blank].sum())


def _text(raw: pd.Series) -> _Text:
    codes, uniques_index = pd.factorize(raw, use_na_sentinel=True)
    uniques = np.asarray(uniques_index, dtype=object)
    all_str = pd.api.types.infer_dtype(uniques, skipna=False) in ("string", "empty")
    texts = uniques if all_str else np.array([_to_text(u) for u in uniques], dtype=object)
    counts = np.bincount(codes + 1, minlength=len(uniques) + 1)[1:]
    stripped = [t.strip() for t in texts]
    blank = np.array([s == "" for s in stripped], dtype=bool)
    return _Text(codes, texts, counts, stripped, blank, all_str and raw.dtype == object)


def _to_text(value: object) -> str:
    """Text of one raw value; integral floats lose their '.0' (label 1 is "1", not "1.0")."""
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return str(value)


def _take(per_unique: np.ndarray, codes: np.ndarray, null: object) -> np.ndarray:
    """Per-cell values from per-distinct-value ones; code -1 picks ``null``."""
    return np.append(per_unique, np.array([null], dtype=per_unique.dtype))[codes]


def _examples(texts: np.ndarray, bad: np.ndarray) -> list[str]:
    return [str(t) for t in texts[bad][:MAX_EXAMPLES]]


# --- kinds -------------------------------------------------------------------------------------
def as_text(raw: pd.Series, kind: str = "categorical", text: _Text | None = None) -> TypedColumn:
    """Column as text (object str, None for null); blank text becomes null and is counted."""
    if ptypes.is_bool_dtype(raw) and raw.dtype == bool:
        raw, text = raw.map({True: "True", False: "False"}), None
    text = text or _text(raw)
    coercion = Coercion(blank=text.blank_cells)
    if coercion.blank == 0 and text.plain:
        values, codes, uniques = raw, text.codes, text.texts
    else:
        keep = ~text.blank
        remap = np.where(keep, np.cumsum(keep) - 1, -1)
        codes = _take(remap, text.codes, -1)
        uniques = text.texts[keep]
        values = pd.Series(_take(uniques, codes, None), index=raw.index, name=raw.name)
    return TypedColumn(values, kind, coercion, codes=codes, uniques=uniques)


@dataclass
class _Numbers:
    x: np.ndarray  # float64, nan for null
    coercion: Coercion
    parsed_fraction: float  # share of non-blank cells that parsed (1.0 for numeric dtypes)
    stored_as_text: bool


def _numbers(raw: pd.Series, text: _Text | None = None) -> _Numbers | None:
    """The column as float64, parsing text; None when it is boolean or datetime typed."""
    if ptypes.is_bool_dtype(raw) or ptypes.is_datetime64_any_dtype(raw):
        return None
    if ptypes.is_numeric_dtype(raw):
        x = raw.to_numpy(dtype=np.float64, na_value=np.nan)
        return _Numbers(x, Coercion(), 1.0, stored_as_text=False)
    text = text or _text(raw)
    if text.numbers is not None:
        return text.numbers
    parsed = pd.to_numeric(pd.Series(text.stripped, dtype=object), errors="coerce").to_numpy(
        dtype=np.float64
    )
    parsed[text.blank] = np.nan
    # inf parses, but no column of measurements should hold it: coerce and report it.
    bad = ~text.blank & ~np.isfinite(parsed)
    parsed[bad] = np.nan
    bad_cells = int(text.counts[bad].sum())
    value_cells = text.value_cells
    fraction = 1.0 - bad_cells / value_cells if value_cells else 0.0
    coercion = Coercion(text.blank_cells, bad_cells, _examples(text.texts, bad))
    x = _take(parsed, text.codes, np.nan)
    text.numbers = _Numbers(x, coercion, fraction, stored_as_text=True)
    return text.numbers


def _is_integral(x: np.ndarray) -> bool:
    finite = x[np.isfinite(x)] if np.isnan(x).any() else x
    if finite.size == 0:
        return False
    return bool(np.abs(finite).max() < _EXACT_INT and np.array_equal(finite, np.trunc(finite)))


def _integers(x: np.ndarray, index: pd.Index, name: object) -> pd.Series:
    mask = np.isnan(x)
    data = np.where(mask, 0.0, x).astype(np.int64)
    return pd.Series(pd.arrays.IntegerArray(data, mask), index=index, name=name)


def _booleans(truth: np.ndarray, mask: np.ndarray, index: pd.Index, name: object) -> pd.Series:
    return pd.Series(pd.arrays.BooleanArray(truth, mask), index=index, name=name)


def as_boolean(raw: pd.Series, text: _Text | None = None) -> TypedColumn:
    """Column as pandas ``boolean``; tokens outside TRUE_TOKENS/FALSE_TOKENS are a mismatch."""
    if ptypes.is_bool_dtype(raw):
        values = raw.astype("boolean")
        return TypedColumn(values, "boolean", true_values=["True"], false_values=["False"])
    if ptypes.is_numeric_dtype(raw):
        x = raw.to_numpy(dtype=np.float64, na_value=np.nan)
        mask = np.isnan(x)
        bad = ~mask & (x != 0.0) & (x != 1.0)
        if bad.any():
            found = pd.unique(x[bad])[:MAX_EXAMPLES].tolist()
            return _mismatch(raw, "boolean", f"numbers other than 0/1 (examples: {found})")
        values = _booleans(x == 1.0, mask, raw.index, raw.name)
        return TypedColumn(values, "boolean", true_values=["1"], false_values=["0"])
    text = text or _text(raw)
    lowered = [s.lower() for s in text.stripped]
    is_true = np.array([s in TRUE_TOKENS for s in lowered], dtype=bool)
    is_false = np.array([s in FALSE_TOKENS for s in lowered], dtype=bool)
    unknown = ~text.blank & ~is_true & ~is_false
    if unknown.any():
        found = f"values that are not boolean tokens (examples: {_examples(text.texts, unknown)})"
        return _mismatch(raw, "boolean", found)
    truth = _take(is_true, text.codes, False)
    mask = _take(text.blank, text.codes, True)
    return TypedColumn(
        _booleans(truth, mask, raw.index, raw.name),
        "boolean",
        Coercion(blank=text.blank_cells),
        true_values=sorted({text.stripped[i] for i in np.flatnonzero(is_true)}),
        false_values=sorted({text.stripped[i] for i in np.flatnonzero(is_false)}),
    )


def as_number(raw: pd.Series, kind: str, text: _Text | None = None) -> TypedColumn:
    """Column as float64 (``numeric``) or Int64 (``integer``); text is parsed and counted."""
    if kind == "integer" and isinstance(raw.dtype, pd.Int64Dtype):
        return TypedColumn(raw, kind)  # already typed (a Parquet written by validate)
    if kind == "numeric" and raw.dtype == np.float64:
        return TypedColumn(raw, kind)
    numbers = _numbers(raw, text)
    if numbers is None:
        return _mismatch(raw, kind, f"{_describe(raw)} values")
    if numbers.parsed_fraction < PARSE_FRACTION:
        share = f"{1.0 - numbers.parsed_fraction:.1%}"
        found = f"{_describe(raw)} text, {share} of it not numbers (examples: {numbers.coercion.examples})"
        return _mismatch(raw, kind, found)
    if kind == "integer":
        if not _is_integral(numbers.x) and not np.isnan(numbers.x).all():
            fraction = numbers.x[np.isfinite(numbers.x) & (numbers.x != np.trunc(numbers.x))]
            found = (
                f"numbers with fractions (examples: {pd.unique(fraction)[:MAX_EXAMPLES].tolist()})"
            )
            return _mismatch(raw, kind, found)
        values = _integers(numbers.x, raw.index, raw.name)
    else:
        values = pd.Series(numbers.x, index=raw.index, name=raw.name)
    return TypedColumn(values, kind, numbers.coercion, stored_as_text=numbers.stored_as_text)


def _parse_dates(texts: list[str]) -> np.ndarray:
    """datetime64[ns] per text (NaT where it does not parse): ISO 8601, else one inferred format."""
    series = pd.Series(texts, dtype=object)
    best: np.ndarray | None = None
    for fmt in ("ISO8601", None):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "could not infer format": we only count failures
            try:
                parsed = pd.to_datetime(series, errors="coerce", format=fmt, utc=True)
            except (ValueError, TypeError, OverflowError):
                continue
        out = parsed.dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")
        if best is None or np.isnat(out).sum() < np.isnat(best).sum():
            best = out
    return best if best is not None else np.full(len(texts), np.datetime64("NaT"), "datetime64[ns]")


def as_datetime(raw: pd.Series, text: _Text | None = None) -> TypedColumn:
    """Column as datetime64[ns] (UTC, naive); text is parsed and failures counted."""
    if ptypes.is_datetime64_any_dtype(raw):
        if isinstance(raw.dtype, pd.DatetimeTZDtype):
            raw = raw.dt.tz_convert("UTC").dt.tz_localize(None)
        return TypedColumn(raw.astype("datetime64[ns]"), "datetime")
    if ptypes.is_numeric_dtype(raw) or ptypes.is_bool_dtype(raw):
        return _mismatch(raw, "datetime", f"{_describe(raw)} values")
    text = text or _text(raw)
    parsed = _parse_dates(text.stripped)
    bad = ~text.blank & np.isnat(parsed)
    bad_cells, value_cells = int(text.counts[bad].sum()), text.value_cells
    if value_cells == 0 or bad_cells / value_cells > 1.0 - PARSE_FRACTION:
        found = f"text that is not dates (examples: {_examples(text.texts, bad)})"
        return _mismatch(raw, "datetime", found)
    values = pd.Series(
        _take(parsed, text.codes, np.datetime64("NaT")), index=raw.index, name=raw.name
    )
    coercion = Coercion(text.blank_cells, bad_cells, _examples(text.texts, bad))
    return TypedColumn(values, "datetime", coercion, stored_as_text=True)


def _mismatch(raw: pd.Series, kind: str, found: str) -> TypedColumn:
    return TypedColumn(raw, kind, mismatch=found)


def _describe(raw: pd.Series) -> str:
    """The kind a column's values look like, for 'found ...' in messages."""
    return infer_column(raw, role="feature").kind


# --- inference ---------------------------------------------------------------------------------
def infer_column(raw: pd.Series, *, role: str) -> TypedColumn:
    """Infer the kind of one raw column and type it (rules in components/validate/README.md).

    ``role`` is the column's declared role: ``id`` makes an identifier, ``target`` keeps text
    labels, ``time`` asks for dates (numbers are accepted as an ordering too).
    """
    if role == "id":
        return as_text(raw, "identifier")
    if role == "target":
        return as_text(raw, "categorical")
    if role == "time":
        if ptypes.is_numeric_dtype(raw) and not ptypes.is_bool_dtype(raw):
            numbers = _numbers(raw)
            integral = numbers is not None and _is_integral(numbers.x)
            return as_number(raw, "integer" if integral else "numeric")
        return as_datetime(raw)
    if ptypes.is_bool_dtype(raw):
        return as_boolean(raw)
    if ptypes.is_datetime64_any_dtype(raw):
        return as_datetime(raw)
    if ptypes.is_numeric_dtype(raw):
        return _infer_numbers(raw)
    return _infer_text(raw)


def _infer_numbers(raw: pd.Series) -> TypedColumn:
    x = raw.to_numpy(dtype=np.float64, na_value=np.nan)
    if _is_integral(x):
        present = x[~np.isnan(x)]
        if present.min() == 0.0 and present.max() == 1.0 and np.isin(present, (0.0, 1.0)).all():
            return as_boolean(raw)  # 0/1 flags (Telco SeniorCitizen)
        return as_number(raw, "integer")
    return as_number(raw, "numeric")


def _infer_text(raw: pd.Series) -> TypedColumn:
    text = _text(raw)
    distinct = int((~text.blank).sum())
    # Two boolean tokens, in a few spellings at most ("Yes", "yes", "YES"): skip big columns.
    few = distinct <= 2 * len(TRUE_TOKENS)
    lowered = {s.lower() for s, b in zip(text.stripped, text.blank, strict=True) if not b and few}
    if len(lowered) == 2 and len(lowered & TRUE_TOKENS) == 1 and len(lowered & FALSE_TOKENS) == 1:
        return as_boolean(raw, text)
    value_cells = text.value_cells
    if value_cells:
        numbers = _numbers(raw, text)
        if numbers is not None and numbers.parsed_fraction >= PARSE_FRACTION:
            kind = "integer" if _is_integral(numbers.x) else "numeric"
            return as_number(raw, kind, text)
        if _looks_like_dates(text):
            dates = as_datetime(raw, text)
            if dates.mismatch is None:
                return dates
    if value_cells >= IDENTIFIER_MIN_ROWS and distinct > IDENTIFIER_UNIQUE_RATIO * value_cells:
        return as_text(raw, "identifier", text)
    return as_text(raw, "categorical", text)


def _looks_like_dates(text: _Text) -> bool:
    """Cheap probe on a few distinct values before parsing a whole column as dates."""
    probe = [s for s, b in zip(text.stripped, text.blank, strict=True) if not b][:DATE_PROBE]
    if not probe or not all(any(ch.isdigit() for ch in s) for s in probe):
        return False
    return bool((~np.isnat(_parse_dates(probe))).mean() >= PARSE_FRACTION)


def coerce_column(raw: pd.Series, column: ColumnSchema) -> TypedColumn:
    """Type ``raw`` to the kind the contract ``column`` declares; ``mismatch`` set if it cannot."""
    if column.role == "target" or column.kind in ("categorical", "identifier"):
        return as_text(raw, "categorical" if column.role == "target" else column.kind)
    if column.kind in ("numeric", "integer"):
        return as_number(raw, column.kind)
    if column.kind == "boolean":
        return as_boolean(raw)
    return as_datetime(raw)
