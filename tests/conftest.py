"""Shared fixtures: the bundled real datasets, and the gcs emulator (tests/fixtures/gcs.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures.datasets import Prepared, prepare, telco

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


@pytest.fixture(scope="session")
def telco_prepared(telco_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> Prepared:
    """A 2,500-row stratified Telco sample with splits, featurizer, features, schema and profile."""
    frame, schema = telco(telco_csv, rows=2500)
    return prepare(tmp_path_factory.mktemp("telco"), frame, schema)


@pytest.fixture(scope="session")
def telco_prepared_full(telco_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> Prepared:
    """All of Telco (7,043 rows; test 1,409 rows) prepared the same way: a slice check on ~500
    test rows has too little power to tell a real slice loss from noise."""
    frame, schema = telco(telco_csv)
    return prepare(tmp_path_factory.mktemp("telco_full"), frame, schema)
