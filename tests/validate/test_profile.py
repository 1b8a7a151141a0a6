"""The profile (components/_shared/profile.py) on the typed Telco table, checked against numpy."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from components._shared.profile import (
    HISTOGRAM_BINS,
    OTHER_BUCKET,
    PROFILE_FORMAT_VERSION,
    column_profile,
    compute_profile,
)
from components.validate.validation import ValidationResult


@pytest.fixture(scope="module")
def profile(telco_result: ValidationResult) -> dict:
    assert telco_result.schema is not None
    source = {"uri": "telco.csv", "sha256": "ab" * 32, "rows": telco_result.rows}
    return compute_profile(
        telco_result.frame, telco_result.schema, source=source, encoded=telco_result.encoded
    )


def test_profile_is_json_with_version_source_and_target(profile: dict) -> None:
    assert json.loads(json.dumps(profile, allow_nan=False)) == profile
    assert profile["format_version"] == PROFILE_FORMAT_VERSION
    assert profile["rows"] == 7043
    assert profile["source"] == {"uri": "telco.csv", "sha256": "ab" * 32, "rows": 7043}
    assert profile["target"] == {
        "column": "Churn",
        "positive_label": "Yes",
        "class_counts": {"No": 5174, "Yes": 1869},
        "positive_rows": 1869,
        "positive_rate": 1869 / 7043,
        "missing": 0,
    }


def test_numeric_column_matches_numpy(profile: dict, telco_result: ValidationResult) -> None:
    entry = column_profile(profile, "TotalCharges")
    x = telco_result.frame["TotalCharges"].dropna().to_numpy()
    assert (entry["count"], entry["nulls"]) == (7032, 11)
    assert entry["min"] == x.min() and entry["max"] == x.max()
    assert entry["mean"] == pytest.approx(x.mean())
    assert entry["std"] == pytest.approx(x.std(ddof=1))
    assert len(entry["quantiles"]) == 101
    np.testing.assert_allclose(entry["quantiles"], np.quantile(x, np.linspace(0, 1, 101)))
    counts, edges = np.histogram(x, bins=HISTOGRAM_BINS)
    np.testing.assert_allclose(entry["histogram"]["edges"], edges)
    assert entry["histogram"]["counts"] == counts.tolist()


def test_integer_boolean_categorical_entries(profile: dict, telco_result: ValidationResult) -> None:
    tenure = column_profile(profile, "tenure")
    assert (tenure["kind"], tenure["min"], tenure["max"], tenure["nulls"]) == (
        "integer",
        0.0,
        72.0,
        0,
    )
    assert sum(tenure["histogram"]["counts"]) == 7043
    senior = column_profile(profile, "SeniorCitizen")
    assert (senior["true"], senior["false"], senior["nulls"]) == (1142, 5901, 0)
    payment = column_profile(profile, "PaymentMethod")
    expected = telco_result.frame["PaymentMethod"].value_counts().to_dict()
    assert {k: v for k, v in payment["value_counts"].items() if k != OTHER_BUCKET} == expected
    assert payment["value_counts"][OTHER_BUCKET] == 0
    assert next(iter(payment["value_counts"])) == "Electronic check"  # most frequent first
    ids = column_profile(profile, "customerID")
    assert ids == {"kind": "identifier", "role": "id", "count": 7043, "nulls": 0, "unique": 7043}
    with pytest.raises(KeyError, match="profile has no column 'nope'"):
        column_profile(profile, "nope")


def test_many_categories_use_other_bucket_and_nulls_are_counted() -> None:
    from components._shared.schema import ColumnSchema, Schema

    frame = pd.DataFrame(
        {
            "city": [f"c{i % 80}" for i in range(800)] + [None] * 10,
            "when": pd.to_datetime(["2024-01-01"] * 405 + ["2024-03-01"] * 404 + [None]),
            "y": ["a", "b"] * 405,
        }
    )
    schema = Schema(
        columns=[
            ColumnSchema("city", "categorical"),
            ColumnSchema("when", "datetime"),
            ColumnSchema("y", "categorical", role="target"),
        ],
        target="y",
        positive_label="b",
    )
    profile = compute_profile(frame, schema)
    city = profile["columns"]["city"]
    assert (city["unique"], city["nulls"], len(city["value_counts"])) == (80, 10, 51)
    assert city["value_counts"][OTHER_BUCKET] == 300
    assert profile["columns"]["when"] == {
        "kind": "datetime",
        "role": "feature",
        "count": 809,
        "nulls": 1,
        "min": "2024-01-01T00:00:00",
        "max": "2024-03-01T00:00:00",
    }
    assert profile["source"] is None
