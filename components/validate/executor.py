"""The validate step: read the data, type it, infer or check the contract, profile it.

``run`` is what the KFP component calls. It reads the table, runs :func:`validate_frame` (every
check, see components/validate/README.md) and, only when there is no error, writes the four
artifacts and logs the metrics. On any error it raises ValidationFailed (ContractMismatch for
differences from the expected schema) carrying every error message, and writes nothing.
"""

from __future__ import annotations

import json
import math

from components._shared import io, keys
from components._shared.artifacts import (
    ArtifactLike,
    MetricsLike,
    set_display_name,
    write_text_atomic,
)
from components._shared.errors import ConfigError, KfpTabularError, expected_got
from components._shared.profile import PROFILE_FORMAT_VERSION, compute_profile
from components._shared.schema import SCHEMA_FORMAT_VERSION, Schema
from components._shared.tables import DEFAULT_NULL_TOKENS, read_table, sha256_uri, write_parquet
from components.validate.report import render_report
from components.validate.validation import ValidationResult, validate_frame

__all__ = ["ValidationResult", "run", "validate_frame"]


def run(
    *,
    data_uri: str,
    target: str,
    positive_label: str,
    id_columns: list[str],
    time_column: str,
    expected_schema: ArtifactLike | None,
    max_null_fraction: float,
    min_class_count: int,
    dataset: ArtifactLike,
    schema: ArtifactLike,
    profile: ArtifactLike,
    report: ArtifactLike,
    metrics: MetricsLike,
    expected_schema_uri: str = "",
) -> None:
    """Validate the table at ``data_uri`` and write the typed dataset, schema, profile, report.

    Args:
        data_uri: CSV or Parquet, local path or gs:// URI.
        target: Label column.
        positive_label: Positive class label, as text.
        id_columns: Columns identifying rows (role id; never features).
        time_column: Column ordering rows in time, "" for none.
        expected_schema: Schema JSON artifact of an earlier run (the contract), or None to infer.
        max_null_fraction: Null share above which a column is an error (0..1).
        min_class_count: Fewest rows the positive class and the rest must each have (>= 1).
        dataset, schema, profile, report, metrics: The output artifacts.
        expected_schema_uri: The contract as a URI (local or gs://) instead of an artifact, for
            pipelines that take it as a parameter; "" for none. Not both.

    Raises:
        ConfigError: a parameter or the expected schema is malformed.
        DataReadError / DataError: the data cannot be read or has no rows.
        ValidationFailed / ContractMismatch: checks failed; the message lists every error.
    """
    _check_parameters(target, positive_label, max_null_fraction, min_class_count)
    if expected_schema is not None and expected_schema_uri:
        raise ConfigError(
            "expected_schema and expected_schema_uri are both set; give the contract once"
        )
    expected = None
    if expected_schema is not None:
        expected = _read_contract(expected_schema.path, "expected_schema")
    elif expected_schema_uri:
        expected = _read_contract(expected_schema_uri, "expected_schema_uri")
    frame = read_table(data_uri, null_tokens=DEFAULT_NULL_TOKENS)
    result = validate_frame(
        frame,
        target=target,
        positive_label=positive_label,
        id_columns=list(id_columns),
        time_column=time_column,
        expected=expected,
        max_null_fraction=max_null_fraction,
        min_class_count=min_class_count,
    )
    result.raise_for_errors()  # before any output exists: a failed run leaves nothing behind
    assert result.schema is not None  # no errors means the target column was there

    sha256 = sha256_uri(data_uri)
    source = {"uri": data_uri, "sha256": sha256, "rows": result.rows}
    profile_doc = compute_profile(
        result.frame, result.schema, source=source, encoded=result.encoded
    )
    report_text = render_report(
        result,
        source_uri=data_uri,
        source_sha256=sha256,
        null_tokens=DEFAULT_NULL_TOKENS,
        max_null_fraction=max_null_fraction,
        min_class_count=min_class_count,
    )
    # Everything is computed; now write, each file atomically.
    write_parquet(result.frame, dataset.path)
    write_text_atomic(schema.path, result.schema.to_json())
    write_text_atomic(profile.path, json.dumps(profile_doc, indent=1) + "\n")
    write_text_atomic(report.path, report_text)
    _annotate(result, data_uri, sha256, dataset, schema, profile, report, metrics)


def _check_parameters(
    target: str, positive_label: str, max_null_fraction: float, min_class_count: int
) -> None:
    if not target:
        raise ConfigError(expected_got("target", "a column name", repr(target)))
    if not str(positive_label):
        raise ConfigError(expected_got("positive_label", "a label", repr(positive_label)))
    if not (isinstance(max_null_fraction, int | float) and 0.0 <= max_null_fraction <= 1.0) or (
        isinstance(max_null_fraction, float) and math.isnan(max_null_fraction)
    ):
        raise ConfigError(
            expected_got("max_null_fraction", "a number in [0, 1]", max_null_fraction)
        )
    if (
        isinstance(min_class_count, bool)
        or not isinstance(min_class_count, int)
        or min_class_count < 1
    ):
        raise ConfigError(expected_got("min_class_count", "an integer >= 1", min_class_count))


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


def _annotate(
    result: ValidationResult,
    data_uri: str,
    sha256: str,
    dataset: ArtifactLike,
    schema: ArtifactLike,
    profile: ArtifactLike,
    report: ArtifactLike,
    metrics: MetricsLike,
) -> None:
    """Display names, metadata and metrics (what the Kubeflow UI shows for the step)."""
    assert result.schema is not None
    rows, columns = result.rows, int(result.frame.shape[1])
    set_display_name(dataset, "typed dataset")
    dataset.metadata.update(
        {
            keys.META_ROWS: rows,
            keys.META_COLUMNS: columns,
            keys.META_SOURCE_URI: data_uri,
            keys.META_CONTENT_SHA256: sha256,
            keys.META_TARGET: result.schema.target,
            keys.META_POSITIVE_LABEL: result.schema.positive_label,
        }
    )
    set_display_name(schema, "schema (data contract)")
    schema.metadata.update(
        {
            keys.META_COLUMNS: len(result.schema.columns),
            keys.META_TARGET: result.schema.target,
            keys.META_POSITIVE_LABEL: result.schema.positive_label,
            keys.META_FORMAT_VERSION: SCHEMA_FORMAT_VERSION,
        }
    )
    set_display_name(profile, "profile (reference statistics)")
    profile.metadata.update(
        {
            keys.META_ROWS: rows,
            keys.META_SOURCE_URI: data_uri,
            keys.META_CONTENT_SHA256: sha256,
            keys.META_FORMAT_VERSION: PROFILE_FORMAT_VERSION,
        }
    )
    set_display_name(report, "validation report")
    set_display_name(metrics, "validation metrics")
    balance = result.balance
    values = {
        keys.METRIC_ROWS: rows,
        keys.METRIC_COLUMNS: columns,
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
