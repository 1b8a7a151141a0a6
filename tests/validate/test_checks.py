"""Every check of validate_frame on bad input: each error names column, expectation and finding."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from components._shared.errors import ContractMismatch, ValidationFailed
from components._shared.schema import Schema
from components.validate.validation import ValidationResult, validate_frame

from .conftest import LIMITS, TELCO


def _validate(
    frame: pd.DataFrame, expected: Schema | None = None, **overrides: object
) -> ValidationResult:
    params = {**TELCO, **LIMITS, **overrides}
    return validate_frame(frame, expected=expected, **params)  # type: ignore[arg-type]


def _errors(result: ValidationResult) -> list[str]:
    return [i.message for i in result.errors]


def test_missing_target_column(telco_frame: pd.DataFrame) -> None:
    result = _validate(telco_frame.drop(columns=["Churn"]))
    assert result.schema is None
    (message,) = _errors(result)
    assert message.startswith(
        "column 'Churn': expected the target column 'Churn', found columns, closest first: ["
    )
    # Every column is listed (none cut off behind "and N more"), the closest first.
    assert all(repr(c) in message for c in telco_frame.columns if c != "Churn")
    with pytest.raises(ValidationFailed, match="column 'Churn': expected the target column"):
        result.raise_for_errors()


def test_a_misspelt_column_gets_a_did_you_mean(telco_frame: pd.DataFrame) -> None:
    frame = telco_frame.rename(columns={"customerID": "ID"})
    (message,) = _errors(_validate(frame, id_columns=["id"]))
    assert "expected the id column 'id', found columns, closest first: ['ID', " in message
    assert message.endswith("(did you mean 'ID'?)")


def test_missing_id_and_time_columns(telco_frame: pd.DataFrame) -> None:
    result = _validate(telco_frame, id_columns=["customer_id"], time_column="signup")
    messages = _errors(result)
    assert any(m.startswith("column 'customer_id': expected the id column") for m in messages)
    assert any(m.startswith("column 'signup': expected the time column") for m in messages)


def test_target_with_one_class(telco_frame: pd.DataFrame) -> None:
    frame = telco_frame[telco_frame["Churn"] == "No"]
    messages = _errors(_validate(frame))
    assert "column 'Churn': expected positive_label 'Yes', found labels ['No']" in messages
    assert (
        "column 'Churn': expected at least two classes, found one class only: 'No' (5174 rows)"
        in messages
    )


def test_labels_with_nulls(telco_frame: pd.DataFrame) -> None:
    frame = telco_frame.copy()
    frame.loc[[2, 40, 41], "Churn"] = None
    frame.loc[7, "Churn"] = "  "
    (message,) = _errors(_validate(frame))
    assert message == (
        "column 'Churn': expected a label in every row, found 4 row(s) without a label "
        "(data rows 3, 8, 41, 42; row 1 is the first after the header)"
    )


def test_positive_label_absent_and_small_class(telco_frame: pd.DataFrame) -> None:
    messages = _errors(_validate(telco_frame, positive_label="yes"))
    assert messages == ["column 'Churn': expected positive_label 'yes', found labels ['No', 'Yes']"]
    few = pd.concat(
        [
            telco_frame[telco_frame["Churn"] == "No"],
            telco_frame[telco_frame["Churn"] == "Yes"].head(3),
        ]
    )
    messages = _errors(_validate(few))
    assert messages == [
        "column 'Churn': expected at least 10 rows of class 'Yes' (min_class_count), found 3 rows"
    ]


def test_all_null_column_and_null_fraction(telco_frame: pd.DataFrame) -> None:
    frame = telco_frame.copy()
    frame["empty"] = np.nan
    frame["gappy"] = np.where(np.arange(len(frame)) % 5 == 0, np.nan, 1.5 * np.arange(len(frame)))
    messages = _errors(_validate(frame))
    assert "column 'empty': expected at least one value, found all 7043 rows null" in messages
    assert (
        "column 'gappy': expected at most 10.00% nulls (max_null_fraction), "
        "found 1409 nulls (20.01% of 7043 rows)"
    ) in messages


def test_duplicates_and_constant_are_warnings(telco_frame: pd.DataFrame) -> None:
    frame = pd.concat([telco_frame, telco_frame.head(5)], ignore_index=True)
    frame["country"] = "US"
    result = _validate(frame, id_columns=[])
    assert result.errors == []
    checks = {i.check: i.message for i in result.warnings}
    assert (
        checks["duplicate_rows"]
        == "rows: expected distinct rows, found 5 row(s) (0.07%) repeating an earlier row exactly"
    )
    assert (
        checks["constant"]
        == "column 'country': expected at least two distinct values, found one value 'US' in every non-null row"
    )
    result = _validate(frame)
    assert (
        "column 'customerID': expected a unique id per row, found 5 row(s) repeating an earlier id"
        in [i.message for i in result.warnings]
    )


def test_infinite_values_are_errors() -> None:
    frame = pd.DataFrame({"x": [1.0, np.inf, 3.0] * 10, "y": ["a", "b", "b"] * 10})
    result = validate_frame(
        frame,
        target="y",
        positive_label="a",
        id_columns=[],
        time_column="",
        expected=None,
        max_null_fraction=0.1,
        min_class_count=1,
    )
    assert _errors(result) == ["column 'x': expected finite numbers, found 10 infinite value(s)"]


# --- contract ------------------------------------------------------------------------------------
def test_own_contract_passes(telco_frame: pd.DataFrame, telco_result: ValidationResult) -> None:
    result = _validate(telco_frame, telco_result.schema)
    assert result.errors == []
    assert result.schema == telco_result.schema
    assert result.coerced_cells == 11


def test_contract_missing_column(telco_frame: pd.DataFrame, telco_result: ValidationResult) -> None:
    result = _validate(telco_frame.drop(columns=["tenure"]), telco_result.schema)
    assert _errors(result) == [
        "column 'tenure': expected the contract column (integer, feature), found no such column in the data"
    ]
    with pytest.raises(ContractMismatch, match="column 'tenure'"):
        result.raise_for_errors()


def test_contract_new_category(telco_frame: pd.DataFrame, telco_result: ValidationResult) -> None:
    frame = telco_frame.copy()
    frame.loc[frame.index[:12], "Contract"] = "Three year"
    result = _validate(frame, telco_result.schema)
    assert _errors(result) == [
        "column 'Contract': expected only contract categories ['Month-to-month', 'One year', 'Two year'], "
        "found new value(s) ['Three year']"
    ]
    with pytest.raises(ContractMismatch):
        result.raise_for_errors()


def test_contract_wrong_type(telco_frame: pd.DataFrame, telco_result: ValidationResult) -> None:
    frame = telco_frame.copy()
    frame["tenure"] = frame["tenure"].map(lambda v: f"{v} months")
    frame["MonthlyCharges"] = frame["MonthlyCharges"] + 0.5  # still numeric: fine
    frame["SeniorCitizen"] = frame["SeniorCitizen"] * 2
    frame["PaperlessBilling"] = frame["PaperlessBilling"].replace({"Yes": "Maybe"})
    messages = _errors(_validate(frame, telco_result.schema))
    assert len(messages) == 3
    assert messages[0].startswith(
        "column 'SeniorCitizen': expected kind boolean (contract), found numbers other than 0/1"
    )
    assert messages[1].startswith(
        "column 'tenure': expected kind integer (contract), found categorical text, 100.0% of it "
        "not numbers (examples: ['1 months', '34 months'"
    )
    assert messages[2] == (
        "column 'PaperlessBilling': expected kind boolean (contract), found values that are not "
        "boolean tokens (examples: ['Maybe'])"
    )


def test_contract_fractional_integers_ranges_and_extra_column(
    telco_frame: pd.DataFrame, telco_result: ValidationResult
) -> None:
    frame = telco_frame.copy()
    frame["tenure"] = frame["tenure"] + 0.5
    frame["MonthlyCharges"] = frame["MonthlyCharges"] * 2
    frame["promo"] = "none"
    result = _validate(frame, telco_result.schema)
    assert _errors(result)[0].startswith(
        "column 'tenure': expected kind integer (contract), found numbers with fractions (examples: [1.5, 34.5"
    )
    warnings = {i.check: i.message for i in result.warnings}
    outside = int((frame["MonthlyCharges"] > 118.75).sum())
    assert warnings["range"].startswith(
        f"column 'MonthlyCharges': expected values in [18.25, 118.75] (contract), found {outside} value(s)"
    )
    assert warnings["extra_column"].startswith("column 'promo': expected contract columns only")


def test_contract_parameters_must_match(
    telco_frame: pd.DataFrame, telco_result: ValidationResult
) -> None:
    messages = _errors(_validate(telco_frame, telco_result.schema, positive_label="No"))
    assert (
        "rows: expected positive_label 'Yes' (contract), found positive_label 'No' (parameter)"
        in messages
    )
