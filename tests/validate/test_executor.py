"""The step on real files with real KFP artifacts (``main`` as the component calls it, and the
typed ``run``); a failed run writes nothing. ``compute``/``describe`` without files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from kfp import dsl

from components._shared import keys
from components._shared.errors import (
    ConfigError,
    ContractMismatch,
    DataError,
    DataReadError,
    ValidationFailed,
)
from components._shared.schema import Schema
from components._shared.tables import sha256_uri
from components.validate.config import ValidateConfig
from components.validate.executor import (
    ValidateInputs,
    ValidateOutputs,
    compute,
    describe,
    main,
    run,
)

from .conftest import ADULT, LIMITS, TELCO


def _run(data: Path | str, outputs: dict[str, Any], expected: Any = None, **overrides: Any) -> None:
    """The step as the component calls it: every argument by name."""
    params = {**TELCO, **LIMITS, **overrides}
    main({"data_uri": str(data), "expected_schema": expected, **params, **outputs})


def _typed_run(data: Path, outputs: dict[str, Any], expected: Any = None, **overrides: Any) -> None:
    """The typed entry: inputs, outputs and config."""
    config = ValidateConfig(data_uri=str(data), **{**TELCO, **LIMITS, **overrides})
    run(ValidateInputs(expected_schema=expected), ValidateOutputs(**outputs), config)


def _nothing_written(outputs: dict[str, Any]) -> None:
    for artifact in outputs.values():
        path = Path(artifact.path)
        assert not path.exists(), path
        leftovers = list(path.parent.glob("*")) if path.parent.exists() else []
        assert leftovers == [], leftovers  # no temporary files either


def test_telco_run_writes_every_output(telco_csv: Path, outputs: dict[str, Any]) -> None:
    _run(telco_csv, outputs)
    dataset = pd.read_parquet(outputs["dataset"].path)
    assert dataset.shape == (7043, 21)
    assert dataset["TotalCharges"].dtype == "float64" and dataset["TotalCharges"].isna().sum() == 11
    assert str(dataset["tenure"].dtype) == "Int64" and str(dataset["Partner"].dtype) == "boolean"
    schema = Schema.from_json(Path(outputs["schema"].path).read_text())
    assert schema.column("TotalCharges").stored_as_text
    profile = json.loads(Path(outputs["profile"].path).read_text())
    sha = sha256_uri(str(telco_csv))
    assert profile["source"] == {"uri": str(telco_csv), "sha256": sha, "rows": 7043}
    report = Path(outputs["report"].path).read_text()
    assert (
        "| TotalCharges | numeric (from text) | feature | 11 | 0.16% | 11 | 18.8 .. 8684.8 |"
        in report
    )
    assert "## Class balance" in report and "`?`" in report
    metrics = outputs["metrics"].metadata
    assert metrics[keys.METRIC_ROWS] == 7043 and metrics[keys.METRIC_ERRORS] == 0
    assert metrics[keys.METRIC_COERCED_CELLS] == 11 and metrics[keys.METRIC_WARNINGS] == 2
    assert metrics[keys.METRIC_POSITIVE_RATE] == pytest.approx(1869 / 7043)
    assert metrics[keys.META_DISPLAY_NAME] == "validation metrics"
    meta = outputs["dataset"].metadata
    assert (meta[keys.META_ROWS], meta[keys.META_CONTENT_SHA256]) == (7043, sha)
    for artifact in outputs.values():
        assert artifact.metadata[keys.META_DISPLAY_NAME]


def test_adult_run_and_contract_round_trip(
    adult_csv: Path, outputs: dict[str, Any], tmp_path: Path
) -> None:
    _run(adult_csv, outputs, **ADULT)
    metrics = outputs["metrics"].metadata
    assert metrics[keys.METRIC_ROWS] == 32561
    assert metrics[keys.METRIC_DUPLICATE_ROWS] == 24 and metrics[keys.METRIC_COERCED_CELLS] == 0
    assert metrics[keys.METRIC_WARNINGS] == 4  # nulls in 3 columns + duplicate rows
    contract = dsl.Artifact(name="expected_schema", uri=outputs["schema"].path)
    again = {
        name: type(a)(name=name, uri=str(tmp_path / "again" / name)) for name, a in outputs.items()
    }
    _run(adult_csv, again, contract, **ADULT)
    assert Path(again["schema"].path).read_text() == Path(outputs["schema"].path).read_text()
    # The same contract against changed data: a new category fails, naming it; nothing written.
    changed = pd.read_csv(adult_csv, na_values=["?"], keep_default_na=False)
    changed.loc[:4, "race"] = "Martian"
    changed_csv = tmp_path / "changed.csv"
    changed.to_csv(changed_csv, index=False)
    third = {
        name: type(a)(name=name, uri=str(tmp_path / "third" / name)) for name, a in outputs.items()
    }
    with pytest.raises(
        ContractMismatch,
        match=r"column 'race': expected only contract categories .* found new value\(s\) \['Martian'\]",
    ):
        _run(changed_csv, third, contract, **ADULT)
    _nothing_written(third)


@pytest.mark.parametrize(
    ("content", "error", "message"),
    [
        (b"", DataError, "is empty"),
        (b"customerID,Churn\n", DataError, "has a header but no data rows"),
    ],
)
def test_empty_and_header_only_files(
    tmp_path: Path, outputs: dict[str, Any], content: bytes, error: type, message: str
) -> None:
    path = tmp_path / "data.csv"
    path.write_bytes(content)
    with pytest.raises(error, match=message):
        _run(path, outputs)
    _nothing_written(outputs)


def test_corrupt_parquet_and_unreadable_uri(tmp_path: Path, outputs: dict[str, Any]) -> None:
    path = tmp_path / "data.parquet"
    path.write_bytes(b"PAR1 this is not parquet PAR1")
    with pytest.raises(DataReadError, match="not a readable Parquet file"):
        _run(path, outputs)
    with pytest.raises(DataReadError, match="not found"):
        _run(tmp_path / "missing.csv", outputs)
    _nothing_written(outputs)


def test_failed_checks_write_nothing_and_list_every_error(
    telco_csv: Path, tmp_path: Path, outputs: dict[str, Any]
) -> None:
    frame = pd.read_csv(telco_csv, keep_default_na=False)
    frame["empty"] = ""
    frame.loc[[0, 1], "Churn"] = ""
    path = tmp_path / "bad.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(ValidationFailed) as failure:
        _run(path, outputs)
    assert not isinstance(failure.value, ContractMismatch)
    assert failure.value.issues == [
        "column 'Churn': expected a label in every row, found 2 row(s) without a label "
        "(data rows 1, 2; row 1 is the first after the header)",
        "column 'empty': expected at least one value, found all 7043 rows null",
    ]
    assert "failed with 2 error(s)" in str(failure.value)
    _nothing_written(outputs)


def test_missing_target_and_bad_parameters(telco_csv: Path, outputs: dict[str, Any]) -> None:
    with pytest.raises(
        ValidationFailed, match="column 'churn': expected the target column 'churn'"
    ):
        _run(telco_csv, outputs, target="churn")
    with pytest.raises(
        ConfigError, match=r"max_null_fraction: expected a number in \[0, 1\], got 1.5"
    ):
        _run(telco_csv, outputs, max_null_fraction=1.5)
    with pytest.raises(ConfigError, match="min_class_count: expected an integer >= 1, got 0"):
        _run(telco_csv, outputs, min_class_count=0)
    _nothing_written(outputs)


def test_malformed_expected_schema(
    telco_csv: Path, tmp_path: Path, outputs: dict[str, Any]
) -> None:
    path = tmp_path / "schema.json"
    path.write_text("{not json")
    contract = dsl.Artifact(name="expected_schema", uri=str(path))
    with pytest.raises(ConfigError, match=r"expected_schema .* not valid JSON"):
        _run(telco_csv, outputs, contract)
    _nothing_written(outputs)


def test_contract_given_as_a_gs_uri(
    telco_csv: Path, outputs: dict[str, Any], tmp_path: Path, gcs_bucket: str
) -> None:
    """Pipelines pass the contract as a URI parameter; it is read from gs:// like data is."""
    from components._shared import io

    _run(telco_csv, outputs)
    contract_uri = f"{gcs_bucket}/contracts/telco.json"
    io.write_text(contract_uri, Path(outputs["schema"].path).read_text())
    again = {
        name: type(a)(name=name, uri=str(tmp_path / "again" / name)) for name, a in outputs.items()
    }
    _typed_run(telco_csv, again, expected_schema_uri=contract_uri)
    assert Schema.from_json(Path(again["schema"].path).read_text()).column("Contract").categories

    missing = f"{gcs_bucket}/contracts/nope.json"
    with pytest.raises(ConfigError, match=r"expected_schema_uri: cannot read .*nope.json"):
        _typed_run(telco_csv, outputs, expected_schema_uri=missing)
    both = dsl.Artifact(name="expected_schema", uri=outputs["schema"].path)
    with pytest.raises(ConfigError, match="both set"):
        _run(telco_csv, outputs, both, expected_schema_uri=contract_uri)


def test_bad_parameters_are_all_named_at_once(telco_csv: Path, outputs: dict[str, Any]) -> None:
    with pytest.raises(ConfigError) as failure:
        _typed_run(telco_csv, outputs, target="", max_null_fraction=-0.1, min_class_count=0)
    message = str(failure.value)
    assert message.startswith("validate config: target: expected a column name, got ''")
    assert "max_null_fraction: expected a number in [0, 1], got -0.1" in message
    assert "min_class_count: expected an integer >= 1, got 0" in message
    with pytest.raises(ConfigError, match="unknown parameter 'max_nulls'"):
        _run(telco_csv, outputs, max_nulls=0.2)
    _nothing_written(outputs)


def test_compute_and_describe_need_no_files(telco_frame: pd.DataFrame) -> None:
    """The pure part: a frame in, the typed table, contract, profile and report out."""
    config = ValidateConfig(data_uri="memory://telco.csv", **{**TELCO, **LIMITS})
    result = compute(telco_frame, None, config)
    validated = describe(result, config, sha256="0" * 64)
    assert validated.schema.target == "Churn" and validated.schema.id_columns == ["customerID"]
    assert validated.source == {"uri": "memory://telco.csv", "sha256": "0" * 64, "rows": 7043}
    assert validated.profile["source"] == validated.source
    assert validated.report.startswith("# Data validation")
    assert "| source | `memory://telco.csv` |" in validated.report
    # Checked against its own contract, the same table passes and keeps the contract unchanged.
    again = compute(telco_frame, validated.schema, config)
    assert again.contract_checked and again.schema == validated.schema
    with pytest.raises(ValidationFailed, match="expected the target column 'churn'"):
        compute(telco_frame, None, ValidateConfig(**{**config.to_dict(), "target": "churn"}))
