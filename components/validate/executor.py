"""The validate step: read the data, type it, infer or check the contract, profile it.

``main`` is what the KFP component calls; ``run(inputs, outputs, config)`` reads the contract and
the table, ``compute`` runs :func:`validate_frame` (every check, see components/validate/README.md)
and fails on any error, ``describe`` builds the profile and the report, and ``write`` writes the
four artifacts and logs the metrics, last, each atomically. On any error ``compute`` raises
ValidationFailed (ContractMismatch for differences from the expected schema) carrying every error
message, and nothing is written.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd

from components._shared import io, keys
from components._shared.artifacts import (
    ArtifactLike,
    MetricsLike,
    set_display_name,
    write_text_atomic,
)
from components._shared.entry import sort_arguments
from components._shared.errors import ConfigError, KfpTabularError
from components._shared.profile import PROFILE_FORMAT_VERSION, compute_profile
from components._shared.schema import SCHEMA_FORMAT_VERSION, Schema
from components._shared.tables import (
    DEFAULT_NULL_TOKENS,
    TableFormat,
    read_table_format,
    sha256_uri,
    write_parquet,
)
from components.validate import checks
from components.validate.config import ValidateConfig
from components.validate.report import render_report
from components.validate.validation import Controls, ValidationResult, validate_frame

__all__ = [
    "ValidateInputs",
    "ValidateOutputs",
    "Validated",
    "ValidationResult",
    "compute",
    "controls",
    "describe",
    "main",
    "run",
    "validate_frame",
    "write",
]


@dataclass(frozen=True)
class ValidateInputs:
    """The data contract of an earlier run, when there is one (the table itself is ``data_uri``)."""

    expected_schema: ArtifactLike | None = None


@dataclass(frozen=True)
class ValidateOutputs:
    """The typed rows, the contract, the reference profile, the report and the metrics."""

    dataset: ArtifactLike
    schema: ArtifactLike
    profile: ArtifactLike
    report: ArtifactLike
    metrics: MetricsLike


@dataclass(frozen=True)
class Validated:
    """What validate computed, before anything is written."""

    result: ValidationResult
    schema: Schema
    source: dict[str, Any]  # uri, sha256, rows
    profile: dict[str, Any]
    report: str


def main(arguments: dict[str, Any]) -> None:
    """The component's entry: its arguments sorted into inputs, outputs and config."""
    run(*sort_arguments(arguments, ValidateInputs, ValidateOutputs, ValidateConfig))


def run(inputs: ValidateInputs, outputs: ValidateOutputs, config: ValidateConfig) -> Validated:
    """Validate the table at ``config.data_uri``; write the typed dataset, schema, profile, report.

    Raises:
        ConfigError: the expected schema is given twice, unreadable or malformed.
        DataReadError / DataError: the data cannot be read or has no rows.
        ValidationFailed / ContractMismatch: checks failed; the message lists every error.
    """
    expected = read_expected_schema(inputs, config)
    frame, table_format = read_table_format(
        config.data_uri,
        null_tokens=contract_null_tokens(expected),
        encoding=config.encoding,
        delimiter=config.delimiter,
        decimal=config.decimal,
        text_columns=list(config.categorical_columns),
    )
    result = compute(frame, expected, config, table_format)  # raises before any output exists
    validated = describe(
        result, config, sha256=sha256_uri(config.data_uri), table_format=table_format
    )
    write(validated, outputs)
    return validated


def contract_null_tokens(expected: Schema | None) -> tuple[str, ...]:
    """The null tokens to read with: the contract's when it records them, else the default."""
    if expected is not None and expected.null_tokens is not None:
        return tuple(expected.null_tokens)
    return DEFAULT_NULL_TOKENS


def controls(config: ValidateConfig) -> Controls:
    """The column controls and the leakage check the parameters ask for."""
    return Controls(
        drop_columns=tuple(config.drop_columns),
        kinds=config.declared_kinds,
        negative_labels=tuple(config.negative_labels),
        leakage=config.leakage,
        leakage_auc=config.leakage_auc,
    )


def compute(
    frame: pd.DataFrame,
    expected: Schema | None,
    config: ValidateConfig,
    table_format: TableFormat | None = None,
) -> ValidationResult:
    """The pure part: type ``frame``, infer or check its contract; raise on any error.

    ``table_format`` (how the file was read) adds a warning for a non-UTF-8 encoding, a
    delimiter hint to a missing-column error, and its null tokens to the schema.

    Raises:
        ValidationFailed / ContractMismatch: with every error message.
    """
    result = validate_frame(
        frame,
        target=config.target,
        positive_label=config.positive_label,
        id_columns=list(config.id_columns),
        time_column=config.time_column,
        expected=expected,
        max_null_fraction=config.max_null_fraction,
        min_class_count=config.min_class_count,
        controls=controls(config),
    )
    if table_format is not None:
        _add_reading(result, table_format)
    result.raise_for_errors()
    return result


def _add_reading(result: ValidationResult, table_format: TableFormat) -> None:
    """The reader's findings in the result: the encoding warning, the delimiter hint, and the
    null tokens recorded in the schema (kept when the contract already records them)."""
    if table_format.note:
        expected = "UTF-8 text, or a declared encoding"
        result.issues.append(
            checks.Issue(checks.WARNING, "encoding", None, expected, table_format.note)
        )
    if table_format.hint:
        result.issues[:] = [
            replace(i, found=f"{i.found}; hint: {table_format.hint}")
            if i.check == "required_column"
            else i
            for i in result.issues
        ]
    if result.schema is not None and result.schema.null_tokens is None:
        result.schema = replace(result.schema, null_tokens=list(table_format.null_tokens))


def describe(
    result: ValidationResult,
    config: ValidateConfig,
    *,
    sha256: str,
    table_format: TableFormat | None = None,
) -> Validated:
    """The profile and the report of a table that passed every check (``sha256`` of its file)."""
    assert result.schema is not None  # no errors means the target column was there
    source = {"uri": config.data_uri, "sha256": sha256, "rows": result.rows}
    profile = compute_profile(result.frame, result.schema, source=source, encoded=result.encoded)
    tokens = table_format.null_tokens if table_format is not None else DEFAULT_NULL_TOKENS
    report = render_report(
        result,
        source_uri=config.data_uri,
        source_sha256=sha256,
        null_tokens=tokens,
        max_null_fraction=config.max_null_fraction,
        min_class_count=config.min_class_count,
        read_as=table_format.describe() if table_format is not None else "",
    )
    return Validated(result, result.schema, source, profile, report)


def write(validated: Validated, outputs: ValidateOutputs) -> None:
    """Write the four files, each atomically, then the display names, metadata and metrics."""
    write_parquet(validated.result.frame, outputs.dataset.path)
    write_text_atomic(outputs.schema.path, validated.schema.to_json())
    write_text_atomic(outputs.profile.path, json.dumps(validated.profile, indent=1) + "\n")
    write_text_atomic(outputs.report.path, validated.report)
    _annotate(validated, outputs)
    _log_metrics(validated.result, outputs.metrics)


def read_expected_schema(inputs: ValidateInputs, config: ValidateConfig) -> Schema | None:
    """The contract from the ``expected_schema`` artifact or ``expected_schema_uri``, or None.

    Raises:
        ConfigError: both are set, or the contract cannot be read or parsed (naming which).
    """
    if inputs.expected_schema is not None and config.expected_schema_uri:
        raise ConfigError(
            "expected_schema and expected_schema_uri are both set; give the contract once"
        )
    if inputs.expected_schema is not None:
        return _read_contract(inputs.expected_schema.path, "expected_schema")
    if config.expected_schema_uri:
        return _read_contract(config.expected_schema_uri, "expected_schema_uri")
    return None


def _read_contract(location: str, what: str) -> Schema:
    """The Schema JSON at ``location`` (path or gs:// URI); ``what`` names the parameter."""
    try:
        text = io.read_text(location)
    except KfpTabularError as exc:
        raise ConfigError(f"{what}: cannot read {location!r}: {exc}") from None
    try:
        return Schema.from_json(text)
    except ConfigError as exc:
        raise ConfigError(f"{what} {location!r}: {exc}") from None


def _annotate(validated: Validated, outputs: ValidateOutputs) -> None:
    """Display names and metadata (what the Kubeflow UI shows for the step)."""
    schema, source = validated.schema, validated.source
    rows, columns = validated.result.rows, int(validated.result.frame.shape[1])
    set_display_name(outputs.dataset, "typed dataset")
    outputs.dataset.metadata.update(
        {
            keys.META_ROWS: rows,
            keys.META_COLUMNS: columns,
            keys.META_SOURCE_URI: source["uri"],
            keys.META_CONTENT_SHA256: source["sha256"],
            keys.META_TARGET: schema.target,
            keys.META_POSITIVE_LABEL: schema.positive_label,
        }
    )
    set_display_name(outputs.schema, "schema (data contract)")
    outputs.schema.metadata.update(
        {
            keys.META_COLUMNS: len(schema.columns),
            keys.META_TARGET: schema.target,
            keys.META_POSITIVE_LABEL: schema.positive_label,
            keys.META_FORMAT_VERSION: SCHEMA_FORMAT_VERSION,
        }
    )
    set_display_name(outputs.profile, "profile (reference statistics)")
    outputs.profile.metadata.update(
        {
            keys.META_ROWS: rows,
            keys.META_SOURCE_URI: source["uri"],
            keys.META_CONTENT_SHA256: source["sha256"],
            keys.META_FORMAT_VERSION: PROFILE_FORMAT_VERSION,
        }
    )
    set_display_name(outputs.report, "validation report")
    set_display_name(outputs.metrics, "validation metrics")


def _log_metrics(result: ValidationResult, metrics: MetricsLike) -> None:
    """Row, column and issue counts, and the class balance."""
    balance = result.balance
    values = {
        keys.METRIC_ROWS: result.rows,
        keys.METRIC_COLUMNS: int(result.frame.shape[1]),
        keys.METRIC_ERRORS: len(result.errors),
        keys.METRIC_WARNINGS: len(result.warnings),
        keys.METRIC_COERCED_CELLS: result.coerced_cells,
        keys.METRIC_NULL_CELLS: result.null_cells,
        keys.METRIC_DUPLICATE_ROWS: result.duplicate_rows,
        keys.METRIC_POSITIVE_RATE: balance.positive_rate if balance else 0.0,
        keys.METRIC_POSITIVE_ROWS: balance.positive if balance else 0,
        keys.METRIC_NEGATIVE_ROWS: balance.negative if balance else 0,
    }
    for name, value in values.items():
        metrics.log_metric(name, float(value))
