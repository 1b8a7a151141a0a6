"""Telco churn, split and featurized once per session for the train tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.train.datasets import Prepared, prepare, telco


@pytest.fixture(scope="session")
def telco_prepared(telco_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> Prepared:
    """A 2,500-row stratified Telco sample with splits, featurizer, features, schema and profile."""
    frame, schema = telco(telco_csv, rows=2500)
    return prepare(tmp_path_factory.mktemp("telco"), frame, schema)
