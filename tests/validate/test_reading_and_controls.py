"""Issue 13 in validate: other people's files (encoding, delimiter), the null tokens recorded in
the contract, column controls (drop, declared kinds), the leakage check and multi-label targets.

Every file is the bundled Telco CSV rewritten the way a user's file arrives, under tmp_path.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from components._shared.errors import ConfigError, DataReadError, ValidationFailed
from components._shared.schema import Schema
from components._shared.tables import DEFAULT_NULL_TOKENS
from components.validate.config import ValidateConfig
from components.validate.executor import main
from tests.fixtures.user_files import decimal_comma

from .conftest import LIMITS, TELCO


def _run(data: Path, outputs: dict[str, Any], expected: Any = None, **overrides: Any) -> None:
    params = {**TELCO, **LIMITS, **overrides}
    main({"data_uri": str(data), "expected_schema": expected, **params, **outputs})


def _nothing_written(outputs: dict[str, Any]) -> None:
    for artifact in outputs.values():
        path = Path(artifact.path)
        assert not path.exists(), path
        assert not (path.parent.exists() and list(path.parent.iterdir())), path.parent


def _telco_text(telco_csv: Path) -> pd.DataFrame:
    frame = pd.read_csv(telco_csv, dtype=str, keep_default_na=False)
    frame["PaymentMethod"] = frame["PaymentMethod"].replace(
        {"Electronic check": "Chèque électronique", "Mailed check": "Chèque postal"}
    )
    return frame


@pytest.fixture
def latin1_semicolon(telco_csv: Path, tmp_path: Path) -> Path:
    """Telco with accented values, in latin-1, separated by semicolons."""
    path = tmp_path / "telco-latin1.csv"
    path.write_bytes(_telco_text(telco_csv).to_csv(index=False, sep=";").encode("latin-1"))
    return path


def _schema(outputs: dict[str, Any]) -> Schema:
    return Schema.from_json(Path(outputs["schema"].path).read_text())


def _fresh(outputs: dict[str, Any], tmp_path: Path, name: str) -> dict[str, Any]:
    return {n: type(a)(name=n, uri=str(tmp_path / name / n)) for n, a in outputs.items()}


# --- reading --------------------------------------------------------------------------------


def test_latin1_semicolon_telco_validates_with_text_not_bytes(
    latin1_semicolon: Path, outputs: dict[str, Any]
) -> None:
    _run(latin1_semicolon, outputs)
    schema = _schema(outputs)
    payment = schema.column("PaymentMethod").categories
    assert payment is not None and "Chèque électronique" in payment
    assert "b'" not in Path(outputs["schema"].path).read_text()
    assert schema.null_tokens == list(DEFAULT_NULL_TOKENS)
    dataset = pd.read_parquet(outputs["dataset"].path)
    assert dataset.shape == (7043, 21)
    assert "Chèque postal" in set(dataset["PaymentMethod"])
    report = Path(outputs["report"].path).read_text()
    assert "Read as: CSV, cp1252 (detected), semicolon ';' (sniffed)." in report
    assert "| warning | encoding | (rows) |" in report and "byte 0xE8" in report


def test_decimal_comma_telco_validates_like_the_original(
    telco_csv: Path, outputs: dict[str, Any], tmp_path: Path
) -> None:
    path = tmp_path / "telco-eu.csv"
    path.write_text(decimal_comma(telco_csv.read_text()))
    _run(path, outputs)
    original = _fresh(outputs, tmp_path, "original")
    _run(telco_csv, original)
    assert _schema(outputs) == _schema(original)
    assert _schema(outputs).column("TotalCharges").stored_as_text  # blanks: numbers as text
    pd.testing.assert_frame_equal(
        pd.read_parquet(outputs["dataset"].path), pd.read_parquet(original["dataset"].path)
    )
    report = Path(outputs["report"].path).read_text()
    assert "semicolon ';' (sniffed), decimal comma (detected)." in report
    with pytest.raises(ConfigError, match=r"decimal: expected"):
        _run(path, _fresh(outputs, tmp_path, "bad"), decimal="1")


def test_declared_encoding_that_fails_names_line_and_byte(
    latin1_semicolon: Path, outputs: dict[str, Any]
) -> None:
    with pytest.raises(DataReadError, match=r"not utf-8 text \(declared\): line 2, byte 0xE8"):
        _run(latin1_semicolon, outputs, encoding="utf-8")
    _nothing_written(outputs)
    with pytest.raises(ConfigError, match=r"encoding: expected a Python codec name.*'utf-9'"):
        _run(latin1_semicolon, outputs, encoding="utf-9")


def test_wrong_delimiter_hint_in_the_missing_target_error(
    latin1_semicolon: Path, outputs: dict[str, Any], tmp_path: Path
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        _run(latin1_semicolon, outputs, delimiter=",")
    message = str(caught.value)
    assert "expected the target column 'Churn'" in message
    assert "hint: the file was read as one column 'customerID;gender;" in message
    assert "set delimiter=';'" in message
    _nothing_written(outputs)
    _run(latin1_semicolon, _fresh(outputs, tmp_path, "declared"), delimiter=";", encoding="latin-1")


def test_contract_null_tokens_are_the_ones_read_with(
    telco_csv: Path, outputs: dict[str, Any], tmp_path: Path
) -> None:
    frame = _telco_text(telco_csv)
    frame.loc[:99, "PaymentMethod"] = "?"  # a null token by default
    path = tmp_path / "tokens.csv"
    frame.to_csv(path, index=False)
    _run(path, outputs, max_null_fraction=0.5)
    assert "?" not in (_schema(outputs).column("PaymentMethod").categories or [])
    # A contract that records no null tokens (a Parquet-made one): '?' is a value there.
    contract_path = tmp_path / "contract.json"
    schema = _schema(outputs)
    categories = sorted([*(schema.column("PaymentMethod").categories or []), "?"])
    columns = [
        replace(c, categories=categories) if c.name == "PaymentMethod" else c
        for c in schema.columns
    ]
    contract_path.write_text(replace(schema, columns=columns, null_tokens=[]).to_json())
    again = _fresh(outputs, tmp_path, "again")
    _run(path, again, expected_schema_uri=str(contract_path), max_null_fraction=0.5)
    dataset = pd.read_parquet(again["dataset"].path)
    assert (dataset["PaymentMethod"] == "?").sum() == 100
    assert _schema(again).null_tokens == []


# --- column controls --------------------------------------------------------------------------


def test_declared_kinds_and_drop_columns(
    telco_csv: Path, outputs: dict[str, Any], tmp_path: Path
) -> None:
    frame = _telco_text(telco_csv)
    frame["region"] = np.where(np.arange(len(frame)) % 3 == 0, "007", "012")
    frame["after_outcome"] = "x"
    path = tmp_path / "declared.csv"
    frame.to_csv(path, index=False)
    _run(
        path,
        outputs,
        categorical_columns=["SeniorCitizen", "region"],
        numeric_columns=["tenure"],
        drop_columns=["after_outcome"],
    )
    schema = _schema(outputs)
    assert schema.column("SeniorCitizen").kind == "categorical"
    assert schema.column("SeniorCitizen").categories == ["0", "1"]
    assert schema.column("region").categories == ["007", "012"]  # as written, zeros kept
    assert schema.column("tenure").kind == "numeric"
    assert "after_outcome" not in schema.column_names
    assert "after_outcome" not in pd.read_parquet(outputs["dataset"].path).columns
    report = Path(outputs["report"].path).read_text()
    assert "Dropped before validation (drop_columns): ['after_outcome']." in report


def test_declared_kind_that_does_not_fit_and_unknown_columns_are_errors(
    telco_csv: Path, outputs: dict[str, Any]
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        _run(
            telco_csv,
            outputs,
            datetime_columns=["PaymentMethod"],
            drop_columns=["ChurnDate"],
            numeric_columns=["tenur"],
        )
    message = str(caught.value)
    assert "column 'PaymentMethod': expected datetime values (datetime_columns)" in message
    assert "column 'ChurnDate': expected a column to drop, found no such column" in message
    assert "column 'tenur': expected the numeric column (declared) 'tenur'" in message
    _nothing_written(outputs)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"leakage": "loud"}, "leakage: expected one of ['warning', 'error', 'off'], got 'loud'"),
        ({"leakage_auc": 0.4}, "leakage_auc: expected a number in (0.5, 1], got 0.4"),
        ({"delimiter": "ab"}, "delimiter: expected one character"),
        ({"drop_columns": ["Churn"]}, "drop_columns: expected no target column, got 'Churn'"),
        (
            {"categorical_columns": ["tenure"], "numeric_columns": ["tenure"]},
            "column 'tenure': expected in one of drop/kind lists, got in categorical_columns "
            "and numeric_columns",
        ),
        (
            {"negative_labels": ["No", "Yes"]},
            "negative_labels: expected labels other than positive_label, got 'Yes'",
        ),
    ],
)
def test_bad_control_parameters_are_named(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        ValidateConfig(data_uri="x.csv", **{**TELCO, **overrides})
    assert message in str(caught.value)


# --- leakage ---------------------------------------------------------------------------------


@pytest.fixture
def leaky_telco(telco_csv: Path, tmp_path: Path) -> Path:
    """Telco with two columns known only after the outcome: a cancellation date (null unless
    churned) and the account status."""
    frame = _telco_text(telco_csv)
    churned = frame["Churn"] == "Yes"
    days = pd.Series(pd.date_range("2024-01-01", periods=len(frame), freq="h")).dt.strftime("%F")
    frame["cancelled_on"] = np.where(churned, days, "")
    frame["status"] = np.where(churned, "closed", "open")
    path = tmp_path / "leaky.csv"
    frame.to_csv(path, index=False)
    return path


def test_leakage_is_a_warning_by_default_naming_the_columns(
    leaky_telco: Path, outputs: dict[str, Any]
) -> None:
    _run(leaky_telco, outputs, max_null_fraction=0.9)
    report = Path(outputs["report"].path).read_text()
    assert "| warning | leakage | status |" in report
    assert "| warning | leakage | cancelled_on |" in report
    assert "column 'status': expected no single feature with AUC >= 0.95" in report
    assert "AUC 1.000 against 'Churn' on its own" in report
    assert "## Strongest single features (leakage check)" in report


def test_leakage_error_on_request_and_drop_columns_fixes_it(
    leaky_telco: Path, outputs: dict[str, Any], tmp_path: Path
) -> None:
    with pytest.raises(ValidationFailed, match=r"column 'status': expected no single feature"):
        _run(leaky_telco, outputs, max_null_fraction=0.9, leakage="error")
    _nothing_written(outputs)
    fixed = _fresh(outputs, tmp_path, "fixed")
    _run(leaky_telco, fixed, leakage="error", drop_columns=["cancelled_on", "status"])
    assert "leakage |" not in Path(fixed["report"].path).read_text()


def test_the_real_datasets_have_no_leak(telco_csv: Path, outputs: dict[str, Any]) -> None:
    _run(telco_csv, outputs, leakage="error")
    report = Path(outputs["report"].path).read_text()
    assert "| tenure | 0.740 |" in report  # the strongest real feature, far from a leak


# --- targets with more than two labels ----------------------------------------------------------


@pytest.fixture
def three_labels(telco_csv: Path, tmp_path: Path) -> Path:
    frame = _telco_text(telco_csv)
    frame.loc[frame.index % 10 == 0, "Churn"] = "Maybe"
    path = tmp_path / "three.csv"
    frame.to_csv(path, index=False)
    return path


def test_three_labels_are_an_error_listing_them(
    three_labels: Path, outputs: dict[str, Any]
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        _run(three_labels, outputs)
    message = str(caught.value)
    assert "column 'Churn': expected two labels, or negative_labels naming" in message
    assert "found 3 labels: 'No' (" in message and "'Maybe' (705 rows)" in message
    _nothing_written(outputs)
    with pytest.raises(ValidationFailed, match=r"label\(s\) \['Maybe'\] in neither"):
        _run(three_labels, outputs, negative_labels=["No"])


def test_negative_labels_map_the_rest_explicitly(
    three_labels: Path, outputs: dict[str, Any]
) -> None:
    _run(three_labels, outputs, negative_labels=["No", "Maybe", "Unknown"])
    schema = _schema(outputs)
    assert schema.class_labels == ["not Yes", "Yes"]
    report = Path(outputs["report"].path).read_text()
    assert (
        "| warning | negative_labels | Churn |" in report
        and "['Unknown'] not in the data" in report
    )
