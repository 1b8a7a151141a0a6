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
) -> str:
    """Summary, columns (kind, nulls, coercions), issues, class balance and the null tokens used."""
    mode = "checked against the expected schema" if result.contract_checked else "inferred"
    positive_rate = result.balance.positive_rate if result.balance else 0.0
    summary = [
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
    parts = ["# Data validation\n", markdown_table(["", "value"], summary)]

    roles = {c.name: c.role for c in result.schema.columns} if result.schema else {}
    column_rows = []
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
        column_rows.append(
            (name, column.kind + text, role, nulls, share, column.coercion.total, span)
        )
    parts += [
        "\n## Columns\n",
        markdown_table(
            ["column", "kind", "role", "nulls", "null %", "coerced", "range / distinct"],
            column_rows,
        ),
    ]

    parts.append("\n## Issues\n")
    if result.issues:
        issue_rows = [(i.severity, i.check, i.column or "(rows)", i.message) for i in result.issues]
        parts.append(markdown_table(["severity", "check", "column", "message"], issue_rows))
    else:
        parts.append("No errors, no warnings.\n")

    coerced = [(n, c.coercion) for n, c in result.columns.items() if c.coercion.total]
    if coerced:
        parts.append("\n## Coerced cells (set to null)\n")
        coerced_rows = [
            (n, c.blank, c.unparseable, ", ".join(repr(e) for e in c.examples)) for n, c in coerced
        ]
        parts.append(markdown_table(["column", "blank", "unparseable", "examples"], coerced_rows))

    if result.balance is not None:
        balance = result.balance
        labelled = balance.positive + balance.negative
        parts.append("\n## Class balance\n")
        rows: list[tuple[object, ...]] = [
            (
                label,
                count,
                f"{count / labelled:.2%}" if labelled else "0%",
                "positive" if label == balance.positive_label else "negative",
            )
            for label, count in balance.counts.items()
        ]
        parts.append(markdown_table(["label", "rows", "share", "class"], rows))

    tokens = ", ".join(f"`{t}`" if t else '`""` (empty)' for t in null_tokens)
    parts.append(
        f"\n## Null tokens\n\nCSV cells read as null: {tokens}. Cells holding only whitespace "
        "are not null tokens: they are coerced to null by validate and counted above.\n"
    )
    return "".join(parts)
