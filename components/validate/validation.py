"""The validate core: type a raw frame, infer or check its contract, collect every issue.

:func:`validate_frame` is pure (no I/O) so that the executor, the tests and the benchmark all run
the same code. It never stops at the first problem: every check runs and every issue is
returned; :meth:`ValidationResult.raise_for_errors` turns the errors into one exception.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from components._shared.errors import ContractMismatch, ValidationFailed
from components._shared.schema import ColumnSchema, Schema
from components.validate import checks
from components.validate.checks import ClassBalance, ColumnStats, Issue
from components.validate.leakage import feature_aucs, leakage_issues
from components.validate.schema_inference import TypedColumn, coerce_column, infer_column


@dataclass
class ValidationResult:
    """Everything validate learnt about one table.

    Attributes:
        frame: The typed table (the dataset output), columns in input order.
        schema: The inferred schema, or the expected contract when one was given; None when the
            target column is missing (there is no schema to write then).
        issues: Every error and warning, in check order.
        columns: The typed columns (kind, coercion counts, factorized codes of text columns).
        stats: Nulls, distinctness and range per column.
        balance: Rows per target label; None when the target column is missing.
        duplicate_rows: Rows repeating an earlier row exactly.
        contract_checked: Whether an expected schema was checked.
    """

    frame: pd.DataFrame
    schema: Schema | None
    issues: list[Issue]
    columns: dict[str, TypedColumn]
    stats: dict[str, ColumnStats]
    balance: ClassBalance | None
    duplicate_rows: int
    contract_checked: bool
    extra_columns: list[str] = field(default_factory=list)
    dropped_columns: list[str] = field(default_factory=list)
    feature_aucs: dict[str, float] = field(default_factory=dict)

    @property
    def errors(self) -> list[Issue]:
        """Issues that fail the step."""
        return [i for i in self.issues if i.severity == checks.ERROR]

    @property
    def warnings(self) -> list[Issue]:
        """Issues that are reported only."""
        return [i for i in self.issues if i.severity == checks.WARNING]

    @property
    def rows(self) -> int:
        """Rows in the table."""
        return len(self.frame)

    @property
    def coerced_cells(self) -> int:
        """Cells set to null while typing (blank text and unparseable values), all columns."""
        return sum(c.coercion.total for c in self.columns.values())

    @property
    def null_cells(self) -> int:
        """Null cells after typing, all columns."""
        return sum(s.nulls for s in self.stats.values())

    @property
    def encoded(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Factorized (codes, uniques) of text columns, for :func:`compute_profile`."""
        return {
            name: (c.codes, c.uniques)
            for name, c in self.columns.items()
            if c.codes is not None and c.uniques is not None
        }

    def raise_for_errors(self) -> None:
        """Raise ContractMismatch (any contract difference) or ValidationFailed, with every
        error message; do nothing when there are no errors."""
        errors = self.errors
        if not errors:
            return
        messages = [i.message for i in errors]
        if any(i.contract for i in errors):
            raise ContractMismatch(messages)
        raise ValidationFailed(messages)


@dataclass(frozen=True)
class Controls:
    """What the caller declared beyond the roles: columns to drop, column kinds, the labels
    that count as negative, and the leakage check (``off`` unless asked for).

    The executor builds it from validate's parameters (``executor.controls``); the defaults here
    change nothing (no drop, no declared kind, no leakage check).
    """

    drop_columns: tuple[str, ...] = ()
    kinds: Mapping[str, str] = field(default_factory=dict)
    negative_labels: tuple[str, ...] = ()
    leakage: str = "off"
    leakage_auc: float = 1.0


def validate_frame(
    frame: pd.DataFrame,
    *,
    target: str,
    positive_label: str,
    id_columns: list[str],
    time_column: str,
    expected: Schema | None,
    max_null_fraction: float,
    min_class_count: int,
    controls: Controls | None = None,
) -> ValidationResult:
    """Type ``frame``, infer its schema (or check it against ``expected``) and run every check.

    Args:
        frame: The raw table as read by ``tables.read_table`` (or already typed).
        target: Name of the label column.
        positive_label: The label of the positive class, as text.
        id_columns: Columns that identify rows (kept, never features).
        time_column: Column that orders rows in time, or "" for none.
        expected: The data contract from an earlier run, or None to infer one.
        max_null_fraction: Largest share of nulls a column may hold before it is an error.
        min_class_count: Fewest rows each of the two classes (positive, rest) must have.
        controls: Columns to drop, declared kinds, negative labels, the leakage check.

    Returns:
        The :class:`ValidationResult`; call ``raise_for_errors`` to fail on errors.
    """
    controls = controls or Controls()
    declared = Declared(
        target, positive_label, list(id_columns), time_column, dict(controls.kinds),
        list(controls.negative_labels),
    )  # fmt: skip
    frame, dropped, issues = _drop_columns(frame, controls.drop_columns)
    issues += _required_column_issues(frame, declared)
    if expected is not None:
        issues += _contract_issues(frame, expected, declared)
    typed, extra, type_issues = _type_columns(frame, expected, declared)
    issues += type_issues
    limits = (max_null_fraction, min_class_count)
    stats, balance, check_issues = _check_columns(typed, expected, declared, *limits)
    issues += check_issues

    typed_frame = _typed_frame(frame, typed)
    clean = {n: c for n, c in typed.items() if c.mismatch is None}
    duplicates = checks.count_duplicate_rows(typed_frame, clean) if len(clean) == len(typed) else 0
    issues += checks.duplicate_rows_issue(duplicates, len(frame))

    schema = expected
    if expected is None and target in typed and balance is not None:
        schema = _inferred_schema(typed, stats, declared, balance)
    aucs = _leakage(typed, schema, declared, controls)
    issues += leakage_issues(
        aucs, target=target, threshold=controls.leakage_auc, mode=controls.leakage
    )
    return ValidationResult(
        typed_frame, schema, issues, typed, stats, balance, duplicates, expected is not None,
        extra, dropped, aucs,
    )  # fmt: skip


def _drop_columns(
    frame: pd.DataFrame, names: tuple[str, ...]
) -> tuple[pd.DataFrame, list[str], list[Issue]]:
    """``frame`` without ``names``; an error for each name the table does not have (a typo
    there would leave the column in, silently)."""
    present = [n for n in names if n in frame.columns]
    issues = []
    for name in names:
        if name not in frame.columns:
            found = "no such column; " + checks.columns_closest_first(
                name, [str(c) for c in frame.columns]
            )
            issues.append(Issue(checks.ERROR, "drop_columns", name, "a column to drop", found))
    return (frame.drop(columns=present) if present else frame), present, issues


def _leakage(
    typed: dict[str, TypedColumn], schema: Schema | None, declared: Declared, controls: Controls
) -> dict[str, float]:
    """Each feature's own AUC against the binary label (empty when off or not computable)."""
    if controls.leakage == "off" or schema is None or declared.target not in typed:
        return {}
    target = typed[declared.target]
    if target.mismatch is not None or target.codes is None or target.uniques is None:
        return {}
    labelled = target.codes >= 0
    labels = np.asarray(target.uniques, dtype=object)
    positive = labels[target.codes[labelled]] == declared.positive_label
    features = {
        c.name: typed[c.name]
        for c in schema.feature_columns
        if c.name in typed and typed[c.name].mismatch is None
    }
    if labelled.all():
        return feature_aucs(features, positive)
    sliced = {name: _rows(column, labelled) for name, column in features.items()}
    return feature_aucs(sliced, positive)


def _rows(column: TypedColumn, keep: np.ndarray) -> TypedColumn:
    """The column on the rows ``keep`` marks (codes sliced along)."""
    codes = column.codes[keep] if column.codes is not None else None
    values = column.values[keep].reset_index(drop=True)
    return replace(column, values=values, codes=codes)


@dataclass(frozen=True)
class Declared:
    """What the caller declared about the columns: the target, its positive label, ids, time,
    the kinds of some columns and the labels that count as negative."""

    target: str
    positive_label: str
    id_columns: list[str]
    time_column: str
    kinds: dict[str, str] = field(default_factory=dict)
    negative_labels: list[str] = field(default_factory=list)

    @property
    def roles(self) -> dict[str, str]:
        """Role of every declared column (``id``, ``time``, ``target``); the target wins."""
        roles = {name: "id" for name in self.id_columns}
        if self.time_column:
            roles[self.time_column] = "time"
        roles[self.target] = "target"
        return roles


# --- column checks: declared and contract columns present, values of the declared kind ---------


def _required_column_issues(frame: pd.DataFrame, declared: Declared) -> list[Issue]:
    """Every declared column (target, ids, time) the table lacks."""
    issues = []
    present = set(frame.columns)
    wanted = {
        **{name: f"{kind} column (declared)" for name, kind in declared.kinds.items()},
        **{name: f"{role} column" for name, role in declared.roles.items()},
    }
    for name, what in wanted.items():
        if name not in present:
            found = checks.columns_closest_first(name, [str(c) for c in frame.columns])
            expected_text = f"the {what} {name!r}"
            issues.append(Issue(checks.ERROR, "required_column", name, expected_text, found))
    return issues


def _type_columns(
    frame: pd.DataFrame, expected: Schema | None, declared: Declared
) -> tuple[dict[str, TypedColumn], list[str], list[Issue]]:
    """(typed columns in input order, columns outside the contract, type issues)."""
    contract = _contract_columns(expected)
    roles = declared.roles
    typed: dict[str, TypedColumn] = {}
    extra: list[str] = []
    issues: list[Issue] = []
    for name in frame.columns:
        raw = frame[name]
        if name in contract:
            column = coerce_column(raw, contract[name])
            if column.mismatch is not None:
                expected_text = f"kind {column.kind} (contract)"
                issues.append(
                    Issue(checks.ERROR, "type", name, expected_text, column.mismatch, True)
                )
        elif name in declared.kinds:
            kind = declared.kinds[name]
            column = coerce_column(raw, ColumnSchema(str(name), kind))
            if column.mismatch is not None:
                expected_text = f"{kind} values ({kind}_columns)"
                issues.append(Issue(checks.ERROR, "type", name, expected_text, column.mismatch))
            if expected is not None:
                extra.append(name)
                issues.append(_extra_column_issue(name, column))
        else:
            column = infer_column(raw, role=roles.get(name, "feature"))
            if expected is not None:
                extra.append(name)
                issues.append(_extra_column_issue(name, column))
            if column.mismatch is not None:
                expected_text = f"{column.kind} values for the {roles.get(name)} column"
                issues.append(Issue(checks.ERROR, "type", name, expected_text, column.mismatch))
        typed[name] = column
    return typed, extra, issues


def _extra_column_issue(name: str, column: TypedColumn) -> Issue:
    found = f"a {column.kind} column not in the contract (kept in the dataset, not in the schema)"
    return Issue(checks.WARNING, "extra_column", name, "contract columns only", found, True)


def _contract_columns(expected: Schema | None) -> dict[str, ColumnSchema]:
    return {c.name: c for c in expected.columns} if expected is not None else {}


# --- value checks: nulls, coercions, ranges, ids, and the target's classes ----------------------


def _check_columns(
    typed: dict[str, TypedColumn],
    expected: Schema | None,
    declared: Declared,
    max_null_fraction: float,
    min_class_count: int,
) -> tuple[dict[str, ColumnStats], ClassBalance | None, list[Issue]]:
    """(statistics per well-typed column, the target's class balance, every value issue)."""
    contract = _contract_columns(expected)
    stats: dict[str, ColumnStats] = {}
    balance: ClassBalance | None = None
    issues: list[Issue] = []
    for name, column in typed.items():
        if column.mismatch is not None:
            continue  # values are raw; a type error already names the column
        stat = stats[name] = checks.column_stats(column)
        issues += checks.check_coercion(name, column)
        if name == declared.target:
            target_issues, balance = checks.check_target(
                name, column, declared.positive_label, min_class_count, declared.negative_labels
            )
            issues += target_issues
        else:
            issues += _null_issues(name, stat, declared, max_null_fraction)
        issues += checks.check_values(name, column, stat)
        if name in contract:
            issues += checks.check_contract_values(name, column, stat, contract[name])
        issues += _identifier_issues(name, column, stat, declared, inferred=expected is None)
    return stats, balance, issues


def _null_issues(
    name: str, stat: ColumnStats, declared: Declared, max_null_fraction: float
) -> list[Issue]:
    """Too many nulls; for the time column, any null at all (unless the column is all null)."""
    issues = checks.check_nulls(name, stat, max_null_fraction)
    if name == declared.time_column and 0 < stat.nulls < stat.rows:
        expected_text = "a time in every row (time_column orders the split)"
        issues.append(Issue(checks.ERROR, "nulls", name, expected_text, f"{stat.nulls} nulls"))
    return issues


def _identifier_issues(
    name: str, column: TypedColumn, stat: ColumnStats, declared: Declared, *, inferred: bool
) -> list[Issue]:
    """A declared id column that does not identify rows; an inferred identifier (a warning)."""
    if name in declared.id_columns:
        return checks.check_ids(name, column, stat)
    if column.kind == "identifier" and inferred:
        found = (
            f"{stat.distinct} distinct values in {stat.rows - stat.nulls} rows: "
            "typed as identifier, left out of the features"
        )
        expected_text = "a feature (or declare it in id_columns)"
        return [Issue(checks.WARNING, "identifier", name, expected_text, found)]
    return []


# --- contract checks: the parameters and the columns the expected schema names ------------------


def _contract_issues(frame: pd.DataFrame, expected: Schema, declared: Declared) -> list[Issue]:
    """Parameters that disagree with the contract, then contract columns the table lacks."""
    issues = _contract_config_issues(
        expected,
        declared.target,
        declared.positive_label,
        declared.id_columns,
        declared.time_column,
    )
    present, roles = set(frame.columns), declared.roles
    contract = _contract_columns(expected)
    for name, kind in declared.kinds.items():
        if name in contract and contract[name].kind != kind:
            found = f"{kind}_columns names it (parameter)"
            expected_text = f"kind {contract[name].kind} (contract)"
            issues.append(Issue(checks.ERROR, "contract_config", name, expected_text, found, True))
    for col in expected.columns:
        if col.name not in present and col.name not in roles:
            found = "no such column in the data"
            expected_text = f"the contract column ({col.kind}, {col.role})"
            issues.append(
                Issue(checks.ERROR, "contract_column", col.name, expected_text, found, True)
            )
    return issues


def _contract_config_issues(
    expected: Schema, target: str, positive_label: str, id_columns: list[str], time_column: str
) -> list[Issue]:
    """Parameters that disagree with the contract: the step would build a different model."""
    pairs = [
        ("target", expected.target, target),
        ("positive_label", expected.positive_label, positive_label),
        ("time_column", expected.time_column or "", time_column),
        ("id_columns", sorted(expected.id_columns), sorted(id_columns)),
    ]
    issues = []
    for what, wanted, given in pairs:
        if wanted != given:
            issues.append(
                Issue(
                    checks.ERROR,
                    "contract_config",
                    None,
                    f"{what} {wanted!r} (contract)",
                    f"{what} {given!r} (parameter)",
                    True,
                )
            )
    return issues


def _typed_frame(frame: pd.DataFrame, typed: dict[str, TypedColumn]) -> pd.DataFrame:
    """The typed columns as one frame; unchanged columns share memory with ``frame``."""
    data = {name: column.values for name, column in typed.items()}
    # copy=False keeps one block per column instead of consolidating (a full copy of the table).
    out = pd.DataFrame(data, index=frame.index, copy=False)
    return out.reset_index(drop=True) if not isinstance(frame.index, pd.RangeIndex) else out


def _inferred_schema(
    typed: dict[str, TypedColumn],
    stats: dict[str, ColumnStats],
    declared: Declared,
    balance: ClassBalance,
) -> Schema:
    roles = declared.roles
    columns = []
    for name, column in typed.items():
        stat = stats.get(name)
        role = roles.get(name, "id" if column.kind == "identifier" else "feature")
        categories = None
        if column.uniques is not None and (column.kind == "categorical" or role == "target"):
            categories = sorted(str(u) for u in column.uniques)
        ranged = column.kind in ("numeric", "integer", "datetime") and stat is not None
        columns.append(
            ColumnSchema(
                name=str(name),
                kind=column.kind,
                role=role,
                nullable=bool(stat and stat.nulls),
                null_fraction=round(stat.null_fraction, 6) if stat else 0.0,
                minimum=stat.minimum if ranged and stat else None,
                maximum=stat.maximum if ranged and stat else None,
                categories=categories,
                true_values=column.true_values,
                false_values=column.false_values,
                stored_as_text=column.stored_as_text,
            )
        )
    return Schema(
        columns=columns,
        target=declared.target,
        positive_label=declared.positive_label,
        class_labels=[balance.negative_label, declared.positive_label],
        id_columns=list(declared.id_columns),
        time_column=declared.time_column or None,
    )
