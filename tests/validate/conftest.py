"""Fixtures of the validate tests: the real tables read once, and real KFP output artifacts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from kfp import dsl

from components._shared.tables import read_table
from components.validate.validation import ValidationResult, validate_frame

TELCO = {
    "target": "Churn",
    "positive_label": "Yes",
    "id_columns": ["customerID"],
    "time_column": "",
}
ADULT = {"target": "income", "positive_label": ">50K", "id_columns": [], "time_column": ""}
LIMITS = {"max_null_fraction": 0.1, "min_class_count": 10}


@pytest.fixture(scope="session")
def telco_frame(telco_csv: Path) -> pd.DataFrame:
    return read_table(str(telco_csv))


@pytest.fixture(scope="session")
def adult_frame(adult_csv: Path) -> pd.DataFrame:
    return read_table(str(adult_csv))


@pytest.fixture(scope="session")
def telco_result(telco_frame: pd.DataFrame) -> ValidationResult:
    return validate_frame(telco_frame, expected=None, **TELCO, **LIMITS)  # type: ignore[arg-type]


@pytest.fixture
def outputs(tmp_path: Path) -> dict[str, Any]:
    """The five output artifacts of the step, as KFP hands them to the component function."""
    out = tmp_path / "outputs"
    return {
        "dataset": dsl.Dataset(name="dataset", uri=str(out / "dataset")),
        "schema": dsl.Artifact(name="schema", uri=str(out / "schema")),
        "profile": dsl.Artifact(name="profile", uri=str(out / "profile")),
        "report": dsl.Markdown(name="report", uri=str(out / "report")),
        "metrics": dsl.Metrics(name="metrics", uri=str(out / "metrics")),
    }
