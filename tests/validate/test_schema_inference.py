"""Schema inference and typing on the real Telco and Adult tables, and on small edge cases."""

from __future__ import annotations

import numpy as np
import pandas as pd

from components.validate.schema_inference import infer_column
from components.validate.validation import Controls, ValidationResult, validate_frame

from .conftest import ADULT, LIMITS, TELCO


def test_telco_schema_kinds_and_roles(telco_result: ValidationResult) -> None:
    schema = telco_result.schema
    assert schema is not None
    kinds = {c.name: c.kind for c in schema.columns}
    assert kinds["customerID"] == "identifier"
    assert schema.column("customerID").role == "id"
    assert kinds["SeniorCitizen"] == "boolean"
    assert schema.column("SeniorCitizen").true_values == ["1"]
    assert schema.column("SeniorCitizen").false_values == ["0"]
    assert kinds["Partner"] == "boolean"
    assert schema.column("Partner").true_values == ["Yes"]
    assert schema.column("Partner").false_values == ["No"]
    assert kinds["tenure"] == "integer"
    assert kinds["MonthlyCharges"] == "numeric"
    contract = schema.column("Contract")
    assert contract.kind == "categorical"
    assert contract.categories == ["Month-to-month", "One year", "Two year"]
    churn = schema.column("Churn")
    assert (churn.role, churn.categories) == ("target", ["No", "Yes"])
    assert schema.class_labels == ["No", "Yes"]
    assert schema.id_columns == ["customerID"]
    assert [c.name for c in schema.feature_columns] == [
        n for n in telco_result.frame.columns if n not in ("customerID", "Churn")
    ]


def test_telco_total_charges_blank_cells_are_counted(telco_result: ValidationResult) -> None:
    total = telco_result.schema.column("TotalCharges")  # type: ignore[union-attr]
    assert (total.kind, total.stored_as_text, total.nullable) == ("numeric", True, True)
    coercion = telco_result.columns["TotalCharges"].coercion
    assert (coercion.blank, coercion.unparseable, coercion.total) == (11, 0, 11)
    assert telco_result.coerced_cells == 11
    assert telco_result.stats["TotalCharges"].nulls == 11
    messages = [i.message for i in telco_result.warnings]
    assert (
        "column 'TotalCharges': expected numeric values in every cell, found 11 blank cell(s), coerced to null"
        in messages
    )
    assert telco_result.errors == []


def test_telco_typed_frame_dtypes(telco_result: ValidationResult) -> None:
    dtypes = telco_result.frame.dtypes
    assert dtypes["TotalCharges"] == np.float64
    assert isinstance(dtypes["tenure"], pd.Int64Dtype)
    assert isinstance(dtypes["SeniorCitizen"], pd.BooleanDtype)
    assert dtypes["Contract"] == np.dtype(object) and dtypes["Churn"] == np.dtype(object)
    assert telco_result.frame["SeniorCitizen"].sum() == 1142
    assert set(telco_result.frame["Churn"]) == {"No", "Yes"}


def test_telco_without_id_columns_infers_identifier_with_warning(telco_frame: pd.DataFrame) -> None:
    params = {**TELCO, "id_columns": []}
    result = validate_frame(telco_frame, expected=None, **params, **LIMITS)  # type: ignore[arg-type]
    assert result.schema is not None and result.schema.column("customerID").kind == "identifier"
    assert result.schema.column("customerID").role == "id"
    (warning,) = [i for i in result.warnings if i.check == "identifier"]
    assert warning.column == "customerID" and "id_columns" in warning.message


def test_adult_schema(adult_frame: pd.DataFrame) -> None:
    result = validate_frame(adult_frame, expected=None, **ADULT, **LIMITS)  # type: ignore[arg-type]
    assert result.errors == []
    schema = result.schema
    assert schema is not None
    assert schema.class_labels == ["<=50K", ">50K"]
    assert schema.column("age").kind == "integer"
    assert schema.column("workclass").kind == "categorical"
    assert schema.column("sex").categories == ["Female", "Male"]
    # '?' is a null token: the nulls are counted, not coerced.
    assert result.stats["workclass"].nulls == 1836
    assert result.coerced_cells == 0
    assert result.duplicate_rows == int(adult_frame.duplicated().sum()) == 24
    assert result.balance is not None and result.balance.counts == {"<=50K": 24720, ">50K": 7841}


def test_integer_target_labels_are_text_without_decimals() -> None:
    frame = pd.DataFrame({"x": np.arange(40.0), "y": [0, 1] * 20})
    result = validate_frame(
        frame,
        target="y",
        positive_label="1",
        id_columns=[],
        time_column="",
        expected=None,
        max_null_fraction=0.1,
        min_class_count=5,
    )
    assert result.errors == []
    assert set(result.frame["y"]) == {"0", "1"}
    assert result.schema is not None and result.schema.class_labels == ["0", "1"]


def test_numbers_as_text_with_junk_are_coerced_with_examples() -> None:
    raw = pd.Series([str(v) for v in range(300)] + ["oops", " ", "n/a-ish"], dtype=object)
    column = infer_column(raw, role="feature")
    assert column.kind == "integer" and column.stored_as_text
    assert (column.coercion.blank, column.coercion.unparseable) == (1, 2)
    assert column.coercion.examples == ["oops", "n/a-ish"]
    assert column.values.isna().sum() == 3


def test_mostly_text_stays_categorical() -> None:
    raw = pd.Series(["1", "2", "three", "four"] * 30, dtype=object)
    assert infer_column(raw, role="feature").kind == "categorical"


def test_dates_and_booleans_from_text() -> None:
    dates = pd.Series(pd.date_range("2024-01-01", periods=50, freq="D").strftime("%Y-%m-%d"))
    column = infer_column(dates, role="feature")
    assert column.kind == "datetime" and column.values.dtype == "datetime64[ns]"
    flags = infer_column(pd.Series(["true", "False", "TRUE", None] * 5), role="feature")
    assert flags.kind == "boolean"
    assert flags.true_values == ["TRUE", "true"] and flags.false_values == ["False"]
    assert flags.values.isna().sum() == 5


def test_time_column_is_datetime_with_role_time() -> None:
    frame = pd.DataFrame(
        {
            "day": pd.date_range("2024-01-01", periods=60, freq="D").strftime("%Y-%m-%d"),
            "x": np.arange(60) % 7,
            "y": ["a", "b", "c"] * 20,
        }
    )
    result = validate_frame(
        frame,
        target="y",
        positive_label="c",
        id_columns=[],
        time_column="day",
        expected=None,
        max_null_fraction=0.1,
        min_class_count=5,
        controls=Controls(negative_labels=("a", "b")),
    )
    assert result.schema is not None
    day = result.schema.column("day")
    assert (day.kind, day.role, day.minimum) == ("datetime", "time", "2024-01-01T00:00:00")
    assert result.schema.time_column == "day"
    assert result.schema.class_labels == ["not c", "c"]
    assert result.issues == []  # three labels, every one mapped by negative_labels
