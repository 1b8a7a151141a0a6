"""The Markdown report of a validate run (rendered by the Kubeflow UI as a Markdown artifact)."""

from __future__ import annotations

from collections.abc import Sequence

from components._shared.artifacts import markdown_table
from components.validate.validation import ValidationResult


def render_report(
    result: ValidationResult,
    *,
    source_uri: str,
    source_sha256: str | None,
    null_tokens: Sequence[str],
    max_null_fraction: float,
    min_class_count: int,
    read_as: str = "",
) -> str:
    """Summary, columns (kind, nulls, coercions), issues, class balance, the strongest single
    features, and how the file was read (format, encoding, delimiter, null tokens)."""
    summary = _summary(
        result,
        source_uri=source_uri,
        source_sha256=source_sha256,
        max_null_fraction=max_null_fraction,
        min_class_count=min_class_count,
    )
    parts = [
        "# Data validation\n",
        summary,
        _columns(result),
        _issues(result),
        _coerced(result),
        _class_balance(result),
        _single_features(result),
        _reading(read_as, null_tokens, result.dropped_columns),
    ]
    return "".join(parts)


def _summary(
    result: ValidationResult,
    *,
    source_uri: str,
    source_sha256: str | None,
    max_null_fraction: float,
    min_class_count: int,
) -> str:
    mode = "checked against the expected schema" if result.contract_checked else "inferred"
    positive_rate = result.balance.positive_rate if result.balance else 0.0
    rows = [
        ("source", f"`{source_uri}`"),
        ("sha256", f"`{source_sha256}`" if source_sha256 else "n/a"),
        ("rows", result.rows),
        ("columns", result.frame.shape[1]),
        ("schema", mode),
        ("errors", len(result.errors)),
        ("warnings", len(result.warnings)),
        ("coerced cells", result.coerced_cells),
        ("null cells", result.null_cells),
        ("duplicate rows", result.duplicate_rows),
        ("positive rate", f"{positive_rate:.2%}"),
        ("max_null_fraction", max_null_fraction),
        ("min_class_count", min_class_count),
    ]
    return markdown_table(["", "value"], rows)


def _columns(result: ValidationResult) -> str:
    """Kind (and whether it came from text), role, nulls, coerced cells and range per column."""
    roles = {c.name: c.role for c in result.schema.columns} if result.schema else {}
    rows = []
    for name, column in result.columns.items():
        stat = result.stats.get(name)
        nulls = stat.nulls if stat else "n/a"
        share = f"{stat.null_fraction:.2%}" if stat else "n/a"
        span = (
            f"{stat.minimum} .. {stat.maximum}"
            if stat and stat.minimum is not None
            else (f"{stat.distinct} distinct" if stat else "n/a")
        )
        text = " (from text)" if column.stored_as_text else ""
        role = roles.get(name, "not in schema")
        rows.append((name, column.kind + text, role, nulls, share, column.coercion.total, span))
    header = ["column", "kind", "role", "nulls", "null %", "coerced", "range / distinct"]
    return "\n## Columns\n" + markdown_table(header, rows)


def _issues(result: ValidationResult) -> str:
    if not result.issues:
        return "\n## Issues\nNo errors, no warnings.\n"
    rows = [(i.severity, i.check, i.column or "(rows)", i.message) for i in result.issues]
    return "\n## Issues\n" + markdown_table(["severity", "check", "column", "message"], rows)


def _coerced(result: ValidationResult) -> str:
    """Cells set to null while typing, per column, with examples; "" when there were none."""
    coerced = [(n, c.coercion) for n, c in result.columns.items() if c.coercion.total]
    if not coerced:
        return ""
    rows = [(n, c.blank, c.unparseable, ", ".join(repr(e) for e in c.examples)) for n, c in coerced]
    return "\n## Coerced cells (set to null)\n" + markdown_table(
        ["column", "blank", "unparseable", "examples"], rows
    )


def _class_balance(result: ValidationResult) -> str:
    """Rows and share per target label; "" when the target column is missing."""
    balance = result.balance
    if balance is None:
        return ""
    labelled = balance.positive + balance.negative
    rows: list[tuple[object, ...]] = [
        (
            label,
            count,
            f"{count / labelled:.2%}" if labelled else "0%",
            "positive" if label == balance.positive_label else "negative",
        )
        for label, count in balance.counts.items()
    ]
    return "\n## Class balance\n" + markdown_table(["label", "rows", "share", "class"], rows)


def _single_features(result: ValidationResult, shown: int = 5) -> str:
    """The features that predict the label best on their own (the leakage check's AUCs)."""
    if not result.feature_aucs:
        return ""
    ranked = sorted(result.feature_aucs.items(), key=lambda kv: -kv[1])[:shown]
    rows = [(name, f"{auc:.3f}") for name, auc in ranked]
    return "\n## Strongest single features (leakage check)\n" + markdown_table(
        ["feature", "AUC on its own"], rows
    )


def _reading(read_as: str, null_tokens: Sequence[str], dropped: Sequence[str]) -> str:
    tokens = ", ".join(f"`{t}`" if t else '`""` (empty)' for t in null_tokens) or "none"
    lines = ["\n## Null tokens\n"]
    if read_as:
        lines.append(f"Read as: {read_as}.\n")
    lines.append(
        f"CSV cells read as null: {tokens} (recorded in the schema as `null_tokens`, for "
        "serving). Cells holding only whitespace are not null tokens: they are coerced to null "
        "by validate and counted above.\n"
    )
    if dropped:
        lines.append(f"\nDropped before validation (drop_columns): {list(dropped)}.\n")
    return "\n".join(lines)
