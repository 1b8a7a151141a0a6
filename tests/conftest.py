"""Shared fixtures: the bundled real datasets, and the gcs emulator (tests/fixtures/gcs.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["tests.fixtures.gcs"]

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"


@pytest.fixture(scope="session")
def telco_csv() -> Path:
    """The bundled IBM Telco churn CSV (7,043 rows, target ``Churn``, positive ``Yes``)."""
    return DATA / "telco_churn" / "Telco-Customer-Churn.csv"


@pytest.fixture(scope="session")
def adult_csv() -> Path:
    """The bundled UCI Adult training CSV (header added; 32,561 rows; target ``income``, positive ``>50K``)."""
    return DATA / "adult" / "adult.csv"
