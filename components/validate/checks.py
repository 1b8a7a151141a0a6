"""The checks validate runs on typed columns, each producing :class:`Issue` records.

Every issue names the column (or the rows), what was expected and what was found, so that the
message alone tells a user what to fix. Severities: ``error`` fails the step, ``warning`` is
reported (Markdown report, metrics) and the step goes on. The table of checks and severities is
in components/validate/README.md.

The checks work on numpy arrays taken from the typed columns without copying them, and reuse the
factorized codes of text columns, so that a million rows take milliseconds per column.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

import numpy as np
import pandas as pd

from components._shared.schema import ColumnSchema
from components.validate.schema_inference import TypedColumn

Severity = Literal["error", "warning"]
ERROR: Final = "error"
WARNING: Final = "warning"
MAX_LISTED: Final = 10  # values or row numbers quoted in one message

# Odd 64-bit multiplier of the polynomial row hash (the golden-ratio constant).
_HASH_MULTIPLIER: Final = np.uint64(0x9E3779B97F4A7C15)
_NULL_KEY: Final = np.uint64(0xFFF8_DEAD_BEEF_0001)


@dataclass(frozen=True)
class Issue:
    """One finding of a check.

    Attributes:
        severity: ``error`` (fails the step) or ``warning``.
        check: Name of the check (``nulls``, ``category``, ... see the README).
        column: The column concerned, or None for whole-table checks.
        expected: What the data should have been.
        found: What it was.
        contract: True when the issue is a difference from the expected schema.
    """

    severity: Severity
    check: str
    column: str | None
    expected: str
    found: str
    contract: bool = False

    @property
    def message(self) -> str:
        """``column 'x': expected ..., found ...`` (``rows: ...`` for table checks)."""
        subject = f"column {self.column!r}" if self.column is not None else "rows"
        return f"{subject}: expected {self.expected}, found {self.found}"


@dataclass(frozen=True)
class ColumnStats:
    """What the checks (and the report) need to know about one typed column."""

    rows: int
    nulls: int
    distinct: int  # distinct non-null values, capped at 2 for numbers (constant or not)
    minimum: float | str | None = None
    maximum: float | str | None = None
    infinite: int = 0

    @property
    def null_fraction(self) -> float:
        return self.nulls / self.rows if self.rows else 0.0


def column_stats(column: TypedColumn) -> ColumnStats:
    """Null count, distinctness and range of a typed column (no copies of float columns)."""
    values = column.values
    rows = len(values)
    if column.codes is not None and column.uniques is not None:
        nulls = int(np.count_nonzero(column.codes < 0))
        return ColumnStats(rows, nulls, len(column.uniques))
    if column.kind == "boolean":
        mask = np.asarray(values.isna())
        truth = values.to_numpy(dtype=bool, na_value=False)
        trues = int(np.count_nonzero(truth & ~mask))
        nulls = int(mask.sum())
        return ColumnStats(rows, nulls, int(trues > 0) + int(rows - nulls - trues > 0))
    if column.kind == "datetime":
        x = values.to_numpy(dtype="datetime64[ns]")
        nat = np.isnat(x)
        present = x[~nat]
        if present.size == 0:
            return ColumnStats(rows, rows, 0)
        lo, hi = present.min(), present.max()
        iso = (str(pd.Timestamp(lo).isoformat()), str(pd.Timestamp(hi).isoformat()))
        return ColumnStats(rows, int(nat.sum()), 1 + int(lo != hi), iso[0], iso[1])
    if column.kind == "integer":
        mask = np.asarray(values.isna())
        data = values.to_numpy(dtype=np.int64, na_value=0)
        present_int = data[~mask] if mask.any() else data
        if present_int.size == 0:
            return ColumnStats(rows, rows, 0)
        lo_i, hi_i = int(present_int.min()), int(present_int.max())
        return ColumnStats(rows, int(mask.sum()), 1 + int(lo_i != hi_i), lo_i, hi_i)
    x = values.to_numpy(dtype=np.float64, na_value=np.nan)
    nulls = int(np.count_nonzero(np.isnan(x)))
    if nulls == rows:
        return ColumnStats(rows, rows, 0)
    # fmin/fmax skip NaN in one pass; infinities are rare, so they are only counted when seen.
    lo, hi = float(np.fmin.reduce(x)), float(np.fmax.reduce(x))
    infinite = 0
    if np.isinf(lo) or np.isinf(hi):
        infinite = int(np.count_nonzero(np.isinf(x)))
        finite = x[np.isfinite(x)]
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (lo, hi)
    return ColumnStats(rows, nulls, 1 + int(lo != hi), lo, hi, infinite)


def _pct(part: int, whole: int) -> str:
    return f"{part / whole:.2%}" if whole else "0%"


def columns_closest_first(name: str, columns: list[str]) -> str:
    """Every column of the table, the closest to ``name`` first, with a "did you mean" when one
    is close (case and separators aside: ``id`` vs ``ID``, ``churn_flag`` vs ``Churn Flag``).

    Never cut: the column a user meant may be anywhere in a wide table.
    """

    def folded(text: str) -> str:
        return "".join(ch for ch in text.lower() if ch.isalnum())

    ratio = {c: difflib.SequenceMatcher(None, folded(name), folded(c)).ratio() for c in columns}
    ordered = sorted(columns, key=lambda c: (folded(c) != folded(name), -ratio[c]))
    best = ordered[0] if ordered else None
    hint = ""
    if best is not None and (folded(name) in folded(best) or ratio[best] >= 0.75):
        hint = f" (did you mean {best!r}?)"
    return f"columns, closest first: {ordered!r}{hint}"


def _quote(values: list[str]) -> str:
    shown = values[:MAX_LISTED]
    more = f" and {len(values) - MAX_LISTED} more" if len(values) > MAX_LISTED else ""
    return repr(shown) + more


def check_nulls(name: str, stats: ColumnStats, max_null_fraction: float) -> list[Issue]:
    """All-null column: error; null share above ``max_null_fraction``: error; any null: warning."""
    if stats.rows and stats.nulls == stats.rows:
        return [Issue(ERROR, "all_null", name, "at least one value", f"all {stats.rows} rows null")]
    if stats.nulls == 0:
        return []
    found = f"{stats.nulls} nulls ({_pct(stats.nulls, stats.rows)} of {stats.rows} rows)"
    if stats.null_fraction > max_null_fraction:
        expected = f"at most {max_null_fraction:.2%} nulls (max_null_fraction)"
        return [Issue(ERROR, "nulls", name, expected, found)]
    return [Issue(WARNING, "nulls", name, "no nulls", found)]


def check_coercion(name: str, column: TypedColumn) -> list[Issue]:
    """Warning for cells coerced to null while typing the column (never silent)."""
    coercion = column.coercion
    if coercion.total == 0:
        return []
    parts = []
    if coercion.blank:
        parts.append(f"{coercion.blank} blank cell(s)")
    if coercion.unparseable:
        parts.append(f"{coercion.unparseable} unparseable cell(s) (examples: {coercion.examples})")
    found = " and ".join(parts) + ", coerced to null"
    return [Issue(WARNING, "coercion", name, f"{column.kind} values in every cell", found)]


def check_values(name: str, column: TypedColumn, stats: ColumnStats) -> list[Issue]:
    """Infinite numbers (error) and constant columns (warning)."""
    issues = []
    if stats.infinite:
        found = f"{stats.infinite} infinite value(s)"
        issues.append(Issue(ERROR, "infinite", name, "finite numbers", found))
    if stats.distinct == 1 and stats.nulls < stats.rows:
        only = repr(column.uniques[0]) if column.uniques is not None and len(column.uniques) else ""
        found = f"one value {only} in every non-null row".replace("  ", " ")
        issues.append(Issue(WARNING, "constant", name, "at least two distinct values", found))
    return issues


def check_contract_values(
    name: str, column: TypedColumn, stats: ColumnStats, contract: ColumnSchema
) -> list[Issue]:
    """Range (warning), new categories (error) and nulls where the contract saw none (warning)."""
    issues: list[Issue] = []
    if column.kind in ("numeric", "integer", "datetime") and stats.minimum is not None:
        lo, hi = contract.minimum, contract.maximum
        below = lo is not None and stats.minimum < lo  # type: ignore[operator]
        above = hi is not None and stats.maximum > hi  # type: ignore[operator]
        if below or above:
            outside = _count_outside(column, lo, hi)
            found = (
                f"{outside} value(s) ({_pct(outside, stats.rows)}) outside it "
                f"(min {stats.minimum}, max {stats.maximum})"
            )
            expected = f"values in [{lo}, {hi}] (contract)"
            issues.append(Issue(WARNING, "range", name, expected, found, contract=True))
    if contract.categories is not None and column.uniques is not None:
        known = set(contract.categories)
        new = sorted(str(u) for u in column.uniques if u not in known)
        if new:
            expected = f"only contract categories {_quote(sorted(known))}"
            found = f"new value(s) {_quote(new)}"
            check = "target_labels" if contract.role == "target" else "category"
            issues.append(Issue(ERROR, check, name, expected, found, contract=True))
    if not contract.nullable and stats.nulls and stats.nulls < stats.rows:
        found = f"{stats.nulls} null(s)"
        issues.append(Issue(WARNING, "nullable", name, "no nulls (contract)", found, contract=True))
    return issues


def _count_outside(column: TypedColumn, lo: float | str | None, hi: float | str | None) -> int:
    values = column.values
    lo_v: Any
    hi_v: Any
    if column.kind == "datetime":
        # NaT compares False both ways, as NaN does: nulls are never outside the range.
        x = values.to_numpy(dtype="datetime64[ns]")
        lo_v = np.datetime64(pd.Timestamp(lo)) if lo is not None else None
        hi_v = np.datetime64(pd.Timestamp(hi)) if hi is not None else None
    else:
        x = values.to_numpy(dtype=np.float64, na_value=np.nan)
        lo_v = float(lo) if lo is not None else None
        hi_v = float(hi) if hi is not None else None
    outside = 0
    if lo_v is not None:
        outside += int(np.count_nonzero(x < lo_v))
    if hi_v is not None:
        outside += int(np.count_nonzero(x > hi_v))
    return outside


def check_ids(name: str, column: TypedColumn, stats: ColumnStats) -> list[Issue]:
    """Declared id columns: repeated values are reported (a warning: rows may share a key)."""
    repeated = stats.rows - stats.nulls - stats.distinct
    if repeated <= 0:
        return []
    found = f"{repeated} row(s) repeating an earlier id"
    return [Issue(WARNING, "duplicate_ids", name, "a unique id per row", found)]


# --- duplicate rows ----------------------------------------------------------------------------
def _row_keys(column: TypedColumn) -> np.ndarray:
    """One uint64 per row such that equal values give equal keys (nulls included)."""
    if column.codes is not None:
        return column.codes.astype(np.int64, copy=False).view(np.uint64)
    values = column.values
    if column.kind == "numeric":
        x = values.to_numpy(dtype=np.float64, na_value=np.nan)
        bits = (x + 0.0).view(np.uint64)  # + 0.0 makes -0.0 equal to 0.0
        nan = np.isnan(x)
        if nan.any():
            bits[nan] = _NULL_KEY  # one NaN payload for every null
        return bits
    mask = np.asarray(values.isna())
    if column.kind == "integer":
        keys = values.to_numpy(dtype=np.int64, na_value=0).view(np.uint64)
    elif column.kind == "boolean":
        keys = values.to_numpy(dtype=bool, na_value=False).astype(np.uint64)
    else:  # datetime: NaT is one int64 value already
        return values.to_numpy(dtype="datetime64[ns]").view(np.uint64)
    if mask.any():
        keys = keys.copy()
        keys[mask] = _NULL_KEY
    return keys


def count_duplicate_rows(frame: pd.DataFrame, columns: dict[str, TypedColumn]) -> int:
    """Rows equal, in every column, to an earlier row (what ``DataFrame.duplicated`` counts).

    A polynomial hash over per-column uint64 keys finds candidate rows in a few vectorised
    passes; only rows whose hash repeats are compared exactly, so a hash collision can never be
    reported as a duplicate.
    """
    if not columns or len(frame) < 2:
        return 0
    row_hash = np.zeros(len(frame), dtype=np.uint64)
    for column in columns.values():
        # In place: hash = hash * M + key (mod 2**64), no temporaries per column.
        np.multiply(row_hash, _HASH_MULTIPLIER, out=row_hash)
        np.add(row_hash, _row_keys(column), out=row_hash)
    ordered = np.sort(row_hash)
    repeats = ordered[1:] == ordered[:-1]
    if not repeats.any():
        return 0
    candidates = np.flatnonzero(np.isin(row_hash, np.unique(ordered[1:][repeats])))
    subset = frame.iloc[candidates]
    return int(subset.duplicated().sum())


def duplicate_rows_issue(duplicates: int, rows: int) -> list[Issue]:
    """Warning with the count of repeated rows."""
    if not duplicates:
        return []
    found = f"{duplicates} row(s) ({_pct(duplicates, rows)}) repeating an earlier row exactly"
    return [Issue(WARNING, "duplicate_rows", None, "distinct rows", found)]


# --- target ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ClassBalance:
    """Rows per target label, and the binary view training uses (positive vs every other label)."""

    counts: dict[str, int]  # label -> rows, most frequent first
    positive_label: str
    missing: int

    @property
    def positive(self) -> int:
        return self.counts.get(self.positive_label, 0)

    @property
    def negative(self) -> int:
        return sum(self.counts.values()) - self.positive

    @property
    def positive_rate(self) -> float:
        labelled = self.positive + self.negative
        return self.positive / labelled if labelled else 0.0

    @property
    def negative_label(self) -> str:
        """The other label of a binary target; ``not <positive>`` when there are several."""
        others = [label for label in self.counts if label != self.positive_label]
        return others[0] if len(others) == 1 else f"not {self.positive_label}"


def check_target(
    name: str,
    column: TypedColumn,
    positive_label: str,
    min_class_count: int,
    negative_labels: Sequence[str] = (),
) -> tuple[list[Issue], ClassBalance]:
    """Labels present in every row, two classes of at least ``min_class_count`` rows each,
    ``positive_label`` among the labels; more than two labels only when ``negative_labels``
    names every label but the positive one."""
    assert column.codes is not None and column.uniques is not None
    codes, labels = column.codes, [str(u) for u in column.uniques]
    per_label = np.bincount(codes[codes >= 0], minlength=len(labels))
    order = np.argsort(-per_label, kind="stable")
    counts = {labels[i]: int(per_label[i]) for i in order}
    missing_rows = np.flatnonzero(codes < 0)
    balance = ClassBalance(counts, positive_label, int(missing_rows.size))
    issues: list[Issue] = []
    if missing_rows.size:
        rows = ", ".join(str(r + 1) for r in missing_rows[:MAX_LISTED])
        found = (
            f"{missing_rows.size} row(s) without a label (data rows {rows}"
            f"{', ...' if missing_rows.size > MAX_LISTED else ''}; row 1 is the first after the header)"
        )
        issues.append(Issue(ERROR, "missing_labels", name, "a label in every row", found))
    if not counts:
        return issues, balance
    if positive_label not in counts:
        found = f"labels {_quote(sorted(counts))}"
        issues.append(
            Issue(ERROR, "positive_label", name, f"positive_label {positive_label!r}", found)
        )
    if len(counts) < 2:
        ((label, rows_of),) = counts.items()
        found = f"one class only: {label!r} ({rows_of} rows)"
        issues.append(Issue(ERROR, "classes", name, "at least two classes", found))
        return issues, balance
    if positive_label in counts:
        binary = {positive_label: balance.positive, balance.negative_label: balance.negative}
        for label, rows_of in binary.items():
            if rows_of < min_class_count:
                expected = f"at least {min_class_count} rows of class {label!r} (min_class_count)"
                issues.append(Issue(ERROR, "class_count", name, expected, f"{rows_of} rows"))
    issues += _label_mapping_issues(name, counts, positive_label, negative_labels)
    return issues, balance


def _label_mapping_issues(
    name: str, counts: dict[str, int], positive_label: str, negative_labels: Sequence[str]
) -> list[Issue]:
    """Over two labels without ``negative_labels``: an error listing every label with its rows;
    with them, every label must be mapped (an error naming the rest), and a listed label the
    data lacks is a warning."""
    listed = ", ".join(f"{label!r} ({rows} rows)" for label, rows in counts.items())
    if not negative_labels:
        if len(counts) <= 2:
            return []
        expected = (
            f"two labels, or negative_labels naming those that count as negative besides "
            f"positive_label {positive_label!r}"
        )
        return [Issue(ERROR, "multiclass", name, expected, f"{len(counts)} labels: {listed}")]
    issues = []
    mapped = {positive_label, *negative_labels}
    unmapped = [label for label in counts if label not in mapped]
    if unmapped:
        expected = f"each label positive_label {positive_label!r} or in negative_labels"
        found = f"label(s) {_quote(unmapped)} in neither (labels: {listed})"
        issues.append(Issue(ERROR, "multiclass", name, expected, found))
    absent = [label for label in negative_labels if label not in counts]
    if absent:
        expected = "every negative_labels entry among the labels"
        found = f"{_quote(absent)} not in the data (labels: {listed})"
        issues.append(Issue(WARNING, "negative_labels", name, expected, found))
    return issues
